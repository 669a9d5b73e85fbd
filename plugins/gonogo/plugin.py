"""The gonogo pytest plugin: binds tests to checklist items, orders them along
the release timeline, gates phases, plans or runs rollbacks, checks sign-offs,
and ends the run with a GO / NO-GO verdict (exit 0 / 1).

Loaded through the ``pytest11`` entry point. Stateful parts are class plugins
registered at configure time in the process that needs them: the gatekeeper
where tests run, the verdict collector where reports arrive."""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gonogo import hookspecs
from gonogo.checklist import Checklist, Phase, format_offset, load_checklist
from gonogo.errors import ConfigError
from gonogo.evidence import EVIDENCE_KEY, USER_PROPERTY, evidence_for
from gonogo.gating import Gatekeeper
from gonogo.interrupts import install as install_interrupt_guard
from gonogo.interrupts import interrupt_signal
from gonogo.markers import (
    BINDING_KEY,
    BINDING_PROPERTY,
    Binding,
    BindingError,
    environments_of,
    register_markers,
    resolve,
    service_of,
    target_of,
)
from gonogo.ordering import timeline_order
from gonogo.redact import redactor
from gonogo.rollback import Failure, RollbackPlan, plan_from_target
from gonogo.runlog import WORKEROUTPUT_KEY, runlog_of
from gonogo.settings import SETTINGS_KEY, Settings, add_options, get_settings
from gonogo.signoffs import SignOff, find_signoff, load_signoffs
from gonogo.verdict import SCOPE_EVENT, SIGNOFF_PROPERTY, VerdictCollector

pytest_plugins = [
    "gonogo.fixtures",
    "gonogo.probe_fixtures",
    "gonogo.k8s_rollback",
    "gonogo.notifications",
    "gonogo.fixtures_deploy",
    "gonogo.fixtures_load",
    "gonogo.fixtures_predeploy",
    "gonogo.records.plugin",
    "gonogo.rbac.plugin",
]

CHECKLIST_KEY = pytest.StashKey[Checklist | None]()
TARGETS_KEY = pytest.StashKey[dict[str, Any]]()
SIGNOFFS_KEY = pytest.StashKey[list[SignOff]]()
COLLECTOR_KEY = pytest.StashKey[VerdictCollector]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not _is_worker(config) and getattr(config.option, "dist", "no") != "no"


def _load_targets(settings: Settings) -> dict[str, Any]:
    from gonogo.target import load_target

    targets: dict[str, Any] = {}
    for path in settings.targets:
        target = load_target(path, require_files=True)
        target_id = target.name
        n = 2
        while target_id in targets:
            target_id, n = f"{target.name}-{n}", n + 1
        targets[target_id] = target
        for name in target.secret_env_names():
            redactor.add_secret(os.environ.get(name))
    return targets


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """The earliest moment gonogo can see how pytest read the command line."""
    from gonogo.rootdir import refuse_misread_paths

    refuse_misread_paths(early_config, args)


SCHEDULED_DIST: tuple[str, ...] = ("load", "loadgroup", "loadscope")
"""--dist modes under which gonogo's own scheduler keeps each target on one worker."""


def _refuse_foreign_scheduling(config: pytest.Config) -> None:
    dist = getattr(config.option, "dist", "no")
    if dist == "each":
        raise pytest.UsageError(
            "--dist each would run every target's timeline on every worker, against the "
            "same cluster (each rollout once per worker); use -n N alone "
            "(gonogo keeps each target on one worker)"
        )
    if dist not in ("no", *SCHEDULED_DIST):
        raise pytest.UsageError(
            f"--dist {dist} would split a target's timeline across workers; "
            "use -n N alone (gonogo keeps each target on one worker)"
        )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate everything a run depends on before any report plugin is set
    up: a usage or configuration error ends here, with one line and exit 4,
    and writes no report."""
    register_markers(config)
    _refuse_foreign_scheduling(config)
    settings = Settings.from_config(config)
    _run_suites_for_targets(config, settings)
    config.stash[SETTINGS_KEY] = settings
    try:
        config.stash[TARGETS_KEY] = _load_targets(settings)
        config.stash[SIGNOFFS_KEY] = load_signoffs(settings.signoffs) if settings.signoffs else []
        config.stash[CHECKLIST_KEY] = _checklist_at_configure(config, settings)
    except ConfigError as e:
        raise pytest.UsageError(str(e)) from None
    checklist = config.stash[CHECKLIST_KEY]
    if checklist is not None:
        for name in settings.phases:
            _phase_named(checklist, "--phase", name)
        if settings.from_phase is not None:
            _phase_named(checklist, "--from-phase", settings.from_phase)
    if not _is_xdist_controller(config):
        config.pluginmanager.register(
            Gatekeeper(config, settings, runlog_of(config), config.stash[TARGETS_KEY]),
            "gonogo-gatekeeper",
        )
    if settings.targets and not settings.list_checklist:
        install_interrupt_guard(config)
    if not _is_worker(config):
        collector = VerdictCollector()
        config.stash[COLLECTOR_KEY] = collector
        config.pluginmanager.register(collector, "gonogo-verdict")
    from gonogo.report import configure as configure_reports

    configure_reports(config)


def _checklist_at_configure(config: pytest.Config, settings: Settings) -> Checklist | None:
    """The checklist, loaded once, here, whenever the run names one or needs one
    (a target, --checklist, --phase, --from-phase, --gonogo-checklist) or the
    default file exists. A project that binds nothing and has no checklist
    gets None; binding an item then is the same one-line error."""
    needed = (
        settings.targets
        or settings.list_checklist
        or settings.phases
        or settings.from_phase
        or config.getoption("gonogo_checklist_file")
    )
    if not needed and not settings.checklist.exists():
        return None
    return load_checklist(settings.checklist)


def _run_suites_for_targets(config: pytest.Config, settings: Settings) -> None:
    """``pytest -m predeploy --target T`` with no paths means the checklist
    suites, not the project's own tests: where ``testpaths`` would have been
    collected, collect the ``gonogo_suites`` ini paths instead."""
    suites = [str(p) for p in config.getini("gonogo_suites") if Path(p).exists()]
    if settings.targets and suites and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        config.args = suites


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """One worker per target timeline (see gonogo.scheduling)."""
    if config.option.dist not in SCHEDULED_DIST:
        return None
    from gonogo.scheduling import TimelineScheduling

    targets: dict[str, Any] = config.stash[TARGETS_KEY]
    return TimelineScheduling(config, log, target_ids=list(targets))


def checklist_of(config: pytest.Config) -> Checklist:
    """The checklist loaded at configure time; a ConfigError naming the file
    and the fix when the run has none."""
    checklist = config.stash.get(CHECKLIST_KEY, None)
    if checklist is None:
        checklist = load_checklist(get_settings(config).checklist)
        config.stash[CHECKLIST_KEY] = checklist
    return checklist


NEEDS_TARGET_KEY = pytest.StashKey[list[str]]()
"""Checks that ask for a target in a run given none; refused once, after collection."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" not in metafunc.fixturenames:
        return
    config = metafunc.config
    targets = config.stash[TARGETS_KEY]
    if not targets:
        config.stash.setdefault(NEEDS_TARGET_KEY, []).append(metafunc.definition.nodeid)
        return
    ids = list(targets)
    metafunc.parametrize("target", ids, indirect=True, ids=ids, scope="session")


def _refuse_checks_without_target(config: pytest.Config) -> None:
    """One line for the run, not a collection error per module."""
    needing = config.stash.get(NEEDS_TARGET_KEY, [])
    if needing:
        more = f" (and {len(needing) - 1} more checks)" if len(needing) > 1 else ""
        raise pytest.UsageError(
            f"{needing[0]} checks a target{more}: pass --target FILE "
            "(e.g. --target targets/sandbox.yaml)"
        )


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Resolve item(...) bindings while collecting, so a wrong title is a
    collection error of the test's module that lists the candidates."""
    report = yield
    if not report.passed:
        return report
    errors: list[str] = []
    for node in report.result or []:
        if not isinstance(node, pytest.Item):
            continue
        mark = node.get_closest_marker("item")
        if mark is None:
            continue
        try:
            checklist = checklist_of(node.config)
        except ConfigError as e:
            # The checklist itself is unusable: one line for the run, not one per module.
            raise pytest.UsageError(str(e)) from None
        try:
            checked = resolve(checklist, mark)
        except BindingError as e:
            errors.append(f"{node.nodeid}: {e}")
            continue
        node.stash[BINDING_KEY] = Binding(checked, target_of(node), service_of(node))
    if errors:
        report.outcome = "failed"
        report.longrepr = "\n".join(dict.fromkeys(errors))
        report.result = []
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    _refuse_checks_without_target(config)
    settings = get_settings(config)
    bound = [i for i in items if BINDING_KEY in i.stash]
    for item in bound:
        binding = item.stash[BINDING_KEY]
        item.add_marker(binding.stage_key)
        item.user_properties.append((BINDING_PROPERTY, binding.to_property()))
    deselected: list[pytest.Item] = []
    if settings.environment:
        for item in items:
            envs = environments_of(item)
            if envs is not None and settings.environment not in envs:
                deselected.append(item)
    off_env = {id(i) for i in deselected}
    config.stash[CANDIDATES_KEY] = [i for i in bound if id(i) not in off_env]
    if settings.from_phase and bound:
        deselected.extend(_before_phase(config, settings, bound))
    if settings.phases and bound:
        deselected.extend(_outside_phases(config, settings.phases, bound))
    if deselected:
        # An item outside --env and outside --phase is still one item: deselect it once.
        unique = list({id(i): i for i in deselected}.values())
        gone = {id(i) for i in unique}
        config.hook.pytest_deselected(items=unique)
        items[:] = [i for i in items if id(i) not in gone]
    if bound:
        targets = config.stash[TARGETS_KEY]
        items[:] = timeline_order(
            items,
            checklist_of(config),
            stage_order=settings.stage_order,
            target_order=list(targets),
            dependency_rank={
                tid: {s.name: n for n, s in enumerate(t.services_in_dependency_order())}
                for tid, t in targets.items()
            },
        )


CANDIDATES_KEY = pytest.StashKey[list[pytest.Item]]()
"""Bound checks that apply to the run's environment, before -k, -m, --deselect,
--phase and --from-phase narrowed them: what a full run of a stage would check."""


def pytest_collection_finish(session: pytest.Session) -> None:
    """Record each target's scope: the stages and phases the final selection
    covers, and how many checks of those stages the selection left out."""
    config = session.config
    candidates = config.stash.get(CANDIDATES_KEY, [])
    selected = [i for i in session.items if BINDING_KEY in i.stash]
    chosen = {id(i) for i in selected}
    runlog = runlog_of(config)
    for target_id in config.stash[TARGETS_KEY]:
        mine = [
            i.stash[BINDING_KEY] for i in selected if i.stash[BINDING_KEY].target_id == target_id
        ]
        stages = list(dict.fromkeys(b.stage_key for b in mine))
        phases = list(
            dict.fromkeys(b.item.phase.short_name for b in mine if b.item.phase is not None)
        )
        left_out = sum(
            1
            for i in candidates
            if id(i) not in chosen
            and i.stash[BINDING_KEY].target_id == target_id
            and i.stash[BINDING_KEY].stage_key in stages
        )
        runlog.add(
            SCOPE_EVENT,
            target=target_id,
            stages=stages,
            phases=phases,
            selected=len(mine),
            left_out=left_out,
        )


def _phase_named(checklist: Checklist, option: str, name: str) -> Phase:
    found = checklist.find_phase(name)
    if len(found) != 1:
        names = ", ".join(repr(p.short_name) for p in (found or list(checklist.phases())))
        what = "matches several phases" if found else "names no phase"
        raise pytest.UsageError(f"{option} {name!r} {what}; phases: {names}")
    return found[0]


def _outside_phases(
    config: pytest.Config, names: tuple[str, ...], bound: list[pytest.Item]
) -> list[pytest.Item]:
    checklist = checklist_of(config)
    wanted = {id(_phase_named(checklist, "--phase", name)) for name in names}
    return [i for i in bound if id(i.stash[BINDING_KEY].item.phase) not in wanted]


def _before_phase(
    config: pytest.Config, settings: Settings, bound: list[pytest.Item]
) -> list[pytest.Item]:
    checklist = checklist_of(config)
    assert settings.from_phase is not None
    timeline = checklist.timeline(list(settings.stage_order) or None)
    rank = {id(s): n for n, s in enumerate(timeline)}
    start = _phase_named(checklist, "--from-phase", settings.from_phase)
    start_key = (rank[id(start.stage)], start.index)
    early = []
    for item in bound:
        phase = item.stash[BINDING_KEY].item.phase
        assert phase is not None
        if not phase.stage.remedial and (rank[id(phase.stage)], phase.index) < start_key:
            early.append(item)
    return early


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> bool | None:
    """With --gonogo-checklist: print the checklist and what tests it has; run nothing."""
    if not get_settings(session.config).list_checklist:
        return None
    _print_checklist(session)
    return True


def _print_checklist(session: pytest.Session) -> None:
    config = session.config
    checklist = checklist_of(config)
    tests: dict[int, list[str]] = {}
    for item in session.items:
        binding = item.stash.get(BINDING_KEY, None)
        if binding is not None:
            tests.setdefault(id(binding.item), []).append(item.nodeid)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    write = tr.write_line if tr is not None else print
    settings = get_settings(config)
    write(f"checklist {checklist.source} (timeline order)")
    total = without = 0
    for stage in checklist.timeline(list(settings.stage_order) or None):
        write("")
        write(f"{stage.title}  [-m {stage.key}]")
        for phase in stage.phases:
            offset = (
                f"  {format_offset(phase.offset_minutes)}"
                if phase.offset_minutes is not None
                else ""
            )
            write(f"  {phase.title}{offset}")
            for entry in phase.all_items():
                total += 1
                bound = tests.get(id(entry), [])
                without += not bound
                indent = "      " if entry.parent else "    "
                mark = "[x]" if bound else "[ ]"
                prefix = "step " if entry.kind == "step" else ""
                write(f"{indent}{mark} {prefix}{entry.title}" + ("" if bound else "  -- no test"))
                for nodeid in bound:
                    write(f"{indent}      {nodeid}")
    checkboxes = sum(1 for i in checklist.all_items() if i.kind == "checkbox")
    steps = total - checkboxes
    write("")
    write(
        f"{checkboxes} checklist items, {steps} emergency steps; "
        f"{total - without} with tests, {without} without"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Look up a manual item's sign-off before its fixtures run, so the
    ``signoff`` fixture can hand it to the test."""
    if item.get_closest_marker("manual") is not None and BINDING_KEY in item.stash:
        item.stash[SIGNOFF_KEY] = _lookup_signoff(item)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A manual item's test body runs only once its sign-off is settled."""
    check = item.stash.get(SIGNOFF_KEY, None)
    if check is not None:
        _settle_signoff(item, check)
    return (yield)


@dataclass
class SignoffCheck:
    """The outcome of looking up a manual item's sign-off."""

    title: str
    entry: SignOff | None
    failure: str | None
    """Why the item fails; None when it may pass."""
    note: str


SIGNOFF_KEY = pytest.StashKey[SignoffCheck]()


def _lookup_signoff(item: pytest.Item) -> SignoffCheck:
    config = item.config
    settings = get_settings(config)
    binding = item.stash[BINDING_KEY]
    title = binding.item.title
    target = config.stash[TARGETS_KEY].get(binding.target_id)
    if target is None or settings.environment is None:
        return SignoffCheck(
            title,
            None,
            (
                f"{title!r} needs a human sign-off, checked against a release and an "
                "environment: pass --target FILE and --env NAME"
            ),
            "",
        )
    env = settings.environment
    approval = target.environment(env).approval
    entry, refused = find_signoff(config.stash[SIGNOFFS_KEY], title, target.release, env)
    if entry is not None:
        return SignoffCheck(
            title,
            entry,
            None,
            (f"{title}: signed off by {entry.summary()}, valid until {entry.expires.isoformat()}"),
        )
    if not approval.required:
        return SignoffCheck(
            title, None, None, f"{title}: no sign-off recorded; {env} needs none ({approval.role})"
        )
    source = settings.signoffs or "a sign-off file (--signoffs FILE)"
    why = f" (refused: {'; '.join(refused)})" if refused else ""
    return SignoffCheck(
        title,
        None,
        (
            f"no valid sign-off for {title!r} (release {target.release}, {env}){why}; "
            f"{env} requires {approval.role} approval: add an entry to {source} with item, who, "
            "role, when, release, environment and ticket"
        ),
        "",
    )


def _settle_signoff(item: pytest.Item, check: SignoffCheck) -> None:
    __tracebackhide__ = True
    if check.failure is not None:
        pytest.fail(check.failure, pytrace=False)
    if check.entry is not None:
        item.user_properties.append((SIGNOFF_PROPERTY, json.dumps(check.entry.to_dict())))
    evidence_for(item).note("sign-off", check.note)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call" and EVIDENCE_KEY in item.stash:
        report.user_properties.append((USER_PROPERTY, item.stash[EVIDENCE_KEY].to_json()))
    mutating = item.get_closest_marker("mutating") is not None
    dry_run = mutating and not get_settings(item.config).execute
    if dry_run and ("gonogo.dry_run", True) not in report.user_properties:
        report.user_properties.append(("gonogo.dry_run", True))
    return report


@pytest.hookimpl(trylast=True)
def pytest_gonogo_rollback_plan(
    target: Any, environment: str | None, failure: Failure, settings: Settings
) -> RollbackPlan:
    return plan_from_target(target, environment, failure)


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = get_settings(config)
    targets = config.stash[TARGETS_KEY]
    if not targets and not settings.list_checklist:
        return []
    mode = "execute" if settings.execute else "dry run (pass --execute to change the cluster)"
    names = ", ".join(f"{tid} ({t.release})" for tid, t in targets.items()) or "none"
    return [
        f"gonogo: checklist {settings.checklist}; targets: {names}; "
        f"env: {settings.environment or 'all'}; {mode}; rollback: {settings.rollback}"
        + ("" if settings.gate else "; gates off (--no-gate)")
    ]


def pytest_testnodedown(node: Any, error: Any) -> None:
    payload = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
    if payload:
        runlog_of(node.config).extend_from_json(payload)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _is_worker(config):
        config.workeroutput[WORKEROUTPUT_KEY] = runlog_of(config).to_json()  # type: ignore[attr-defined]
        return
    collector = config.stash.get(COLLECTOR_KEY, None)
    if collector is None or get_settings(config).list_checklist or config.option.collectonly:
        return
    if exitstatus == pytest.ExitCode.USAGE_ERROR:
        # The run never started: no verdict, so no record and no checklist.md.
        return
    targets: dict[str, Any] = config.stash[TARGETS_KEY]
    interrupted = _interruption(session, exitstatus)
    if interrupted is not None and session.exitstatus != pytest.ExitCode.INTERNAL_ERROR:
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    verdict = collector.verdict(runlog_of(config), list(targets.keys()), interrupted=interrupted)
    if verdict is None:
        return
    config.stash[VERDICT_KEY] = verdict
    config.hook.pytest_gonogo_verdict(verdict=verdict, config=config)
    if not verdict.go and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        # pytest prints no terminal summary after an internal error: the verdict
        # line must not go missing with it.
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            pytest_terminal_summary(tr, config)


VERDICT_KEY = pytest.StashKey[Any]()


def _interruption(session: pytest.Session, exitstatus: int) -> str | None:
    """Why the run stopped before its end, or None when it ran to its end."""
    signal_name = interrupt_signal(session.config)
    if signal_name is not None:
        return f"{signal_name} received"
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        return "internal error"
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    verdict = config.stash.get(VERDICT_KEY, None)
    if verdict is None:
        return
    tr = terminalreporter
    signed = [r for r in verdict.results if r.signoff]
    if signed:
        tr.write_sep("-", "sign-offs")
        for r in signed:
            s = r.signoff
            ref = s.get("ticket") or s.get("link") or "no ticket"
            tr.write_line(f"{r.binding['title']}: {s['who']} ({s['role']}) at {s['when']}, {ref}")
    for event in verdict.runlog.of_type("rollback"):
        tr.write_sep("-", f"rollback ({event['target']})")
        tr.write_line(f"trigger: {event['trigger']['reason']}")
        if event.get("plan_text"):
            tr.write_line(event["plan_text"])
        for step in event.get("steps", []):
            tr.write_line(
                f"  deployment/{step['deployment']}: revision {step['from_revision']} -> "
                f"{step['to_revision']}: {step['result']} ({step['duration']:.1f} s)"
            )
        if event.get("error"):
            tr.write_line(f"rollback: {event['error']}")
    tr.write_sep("=", "gonogo verdict")
    for line in verdict.lines():
        tr.write_line(line, bold=True, green=line.startswith("GO"), red=line.startswith("NO-GO"))


def reports_dir(config: pytest.Config) -> Path:
    return get_settings(config).reports_dir
