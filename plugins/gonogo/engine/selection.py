"""Which checks run, and in what order: bindings resolved while collecting,
targets parametrized, --env, --phase and --from-phase applied, the selection
put on the checklist's timeline, and each target's scope recorded."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from gonogo.engine.markers import (
    BINDING_KEY,
    BINDING_PROPERTY,
    Binding,
    BindingError,
    environments_of,
    resolve,
    service_of,
    target_of,
)
from gonogo.engine.ordering import timeline_order
from gonogo.engine.run import TARGETS_KEY, checklist_of
from gonogo.engine.runlog import runlog_of
from gonogo.engine.settings import Settings, get_settings
from gonogo.engine.verdict import SCOPE_EVENT
from gonogo.errors import ConfigError
from gonogo.model.checklist import Checklist, Phase

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
        node.stash[BINDING_KEY] = Binding(checked, _target_id(node), service_of(node))
    if errors:
        report.outcome = "failed"
        report.longrepr = "\n".join(dict.fromkeys(errors))
        report.result = []
    return report


def _target_id(node: pytest.Item) -> str:
    """The target a check is about: its ``target`` parameter; in a run of one
    target, that one for a check that takes none (a sign-off check, say), so
    the target's verdict counts it."""
    own = target_of(node)
    if own:
        return own
    targets = node.config.stash[TARGETS_KEY]
    return next(iter(targets)) if len(targets) == 1 else ""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    _refuse_checks_without_target(config)
    settings = get_settings(config)
    bound = [i for i in items if BINDING_KEY in i.stash]
    for item in bound:
        binding = item.stash[BINDING_KEY]
        for marker in binding.stage_markers:
            item.add_marker(marker)
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


def phase_named(checklist: Checklist, option: str, name: str) -> Phase:
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
    wanted = {id(phase_named(checklist, "--phase", name)) for name in names}
    return [i for i in bound if id(i.stash[BINDING_KEY].item.phase) not in wanted]


def _before_phase(
    config: pytest.Config, settings: Settings, bound: list[pytest.Item]
) -> list[pytest.Item]:
    checklist = checklist_of(config)
    assert settings.from_phase is not None
    timeline = checklist.timeline(list(settings.stage_order) or None)
    rank = {id(s): n for n, s in enumerate(timeline)}
    start = phase_named(checklist, "--from-phase", settings.from_phase)
    start_key = (rank[id(start.stage)], start.index)
    early = []
    for item in bound:
        phase = item.stash[BINDING_KEY].item.phase
        assert phase is not None
        if not phase.stage.remedial and (rank[id(phase.stage)], phase.index) < start_key:
            early.append(item)
    return early
