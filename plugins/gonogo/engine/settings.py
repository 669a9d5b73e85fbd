"""gonogo's command-line options, registered in one place and turned into one
validated settings object at configure time. The rest of the code reads
``Settings``; nothing else calls ``config.getoption``."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gonogo.model.checklist import StageNaming, valid_marker_name

ENVIRONMENTS: tuple[str, ...] = ("production", "staging", "development")
ROLLBACK_MODES: tuple[str, ...] = ("plan", "auto", "off")
SETTINGS_KEY = pytest.StashKey["Settings"]()


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise pytest.UsageError(
            f"--env {value!r}: unknown environment; use one of: {', '.join(ENVIRONMENTS)}"
        )
    return value


def _rollback_mode(value: str) -> str:
    if value not in ROLLBACK_MODES:
        raise pytest.UsageError(
            f"--rollback={value!r}: use plan (record the plan, change nothing), "
            "auto (roll back when the criteria are met) or off"
        )
    return value


def _existing_file(option: str) -> Callable[[str], Path]:
    def parse(value: str) -> Path:
        path = Path(os.path.expanduser(value))
        if not path.is_file():
            raise pytest.UsageError(f"{option} {value}: no such file; check the path")
        return path

    parse.__name__ = option.lstrip("-").replace("-", "_")
    return parse


def _positive_int(option: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise pytest.UsageError(f"{option} {value!r}: give a whole number of 1 or more")
        return number

    parse.__name__ = option.lstrip("-").replace("-", "_")
    return parse


def _master_bind(value: str) -> tuple[str, int]:
    """HOST:PORT for the load master; a bare or bracketed IPv6 host is not
    supported (Locust's master binds host names and IPv4 addresses)."""
    host, sep, port = value.rpartition(":")
    number = int(port) if port.isdigit() else 0
    if not sep or not host or ":" in host or not 1 <= number <= 65535:
        raise pytest.UsageError(
            f"--load-master-bind {value!r}: give HOST:PORT with a port from 1 to 65535, "
            "e.g. 0.0.0.0:5557 (every address) or 127.0.0.1:5557 (this machine only)"
        )
    return host, number


def _distinct_targets(paths: list[Path]) -> tuple[Path, ...]:
    """Each target runs its own timeline against its cluster: one file given
    twice would run the release twice, side by side under -n, so it is refused
    rather than quietly merged (the user may have meant another file)."""
    seen: dict[Path, Path] = {}
    for path in paths:
        first = seen.setdefault(path.resolve(), path)
        if first is not path:
            twice = (
                f"--target {path} is given twice"
                if str(first) == str(path)
                else f"--target {first} and --target {path} name the same file"
            )
            raise pytest.UsageError(
                f"{twice}; each target runs its own timeline against its cluster, "
                "so give each file once"
            )
    return tuple(paths)


def _writable_dir(path: Path, option: str) -> Path:
    """Refuse, before anything runs, a reports folder that cannot be one: a
    file, a path under a file, or a folder that cannot be written. The folder
    itself is created only when a report is written."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        under = "" if existing == path else f" ({existing} is a file)"
        raise pytest.UsageError(
            f"{option} {path}: not a directory{under}; name a folder, which gonogo "
            "creates if it is missing"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise pytest.UsageError(
            f"{option} {path}: {existing} is not writable; name a folder you can write to"
        )
    return path


OPERATOR_SOURCES: tuple[str, ...] = ("GONOGO_OPERATOR", "GITHUB_ACTOR", "GITLAB_USER_LOGIN")
"""Where the release's operator is read from when --operator is not given, in
order: gonogo's own variable, then the CI's actor, then the OS user."""


def resolve_operator(option: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Who runs the release: --operator, else the first of OPERATOR_SOURCES
    that is set, else the OS user. None only when even the OS user cannot be
    told; a sign-off that needs four eyes then fails closed."""
    environ = os.environ if environ is None else environ
    for value in (option, *(environ.get(name) for name in OPERATOR_SOURCES)):
        if value and value.strip():
            return value.strip()
    try:
        user = getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name, no passwd entry, no pwd
        return None
    return user.strip() or None


def add_options(parser: pytest.Parser) -> None:
    """Every gonogo option, in one group, help in one voice."""
    group = parser.getgroup("gonogo", "gonogo: deployment checklist gate")
    group.addoption(
        "--target",
        action="append",
        default=[],
        metavar="FILE",
        type=_existing_file("--target"),
        help="target file describing the system to check (repeatable, each file once: each "
        "target runs its own timeline, on its own xdist worker). For a file outside the "
        "project write --target=FILE: pytest picks its rootdir before it knows this option.",
    )
    group.addoption(
        "--env",
        dest="gonogo_env",
        default=None,
        metavar="NAME",
        type=_environment,
        help="environment to check: production, staging or development. Tests marked "
        "env(...) for other environments are deselected.",
    )
    group.addoption(
        "--execute",
        action="store_true",
        default=False,
        help="let mutating checks change the cluster. Without it they run as a server-side "
        "dry run and report what they would change.",
    )
    group.addoption(
        "--rollback",
        dest="gonogo_rollback",
        default="plan",
        metavar="MODE",
        type=_rollback_mode,
        help="when the environment's rollback criteria are met: plan (default: record and "
        "print the plan, change nothing), auto (execute it), off.",
    )
    group.addoption(
        "--signoffs",
        default=None,
        metavar="FILE",
        type=_existing_file("--signoffs"),
        help="YAML file of recorded sign-offs for manual checklist items "
        "(item, who, role, when, release, environment, ticket, expires).",
    )
    group.addoption(
        "--operator",
        dest="gonogo_operator",
        default=None,
        metavar="NAME",
        help="who runs the release (default: $GONOGO_OPERATOR, else the CI actor "
        "$GITHUB_ACTOR or $GITLAB_USER_LOGIN, else the OS user). Where an environment "
        "requires approval, this person's own sign-off does not count (four eyes).",
    )
    group.addoption(
        "--no-gate",
        action="store_true",
        default=False,
        help="run every phase even after a failure (the verdict is still NO-GO).",
    )
    group.addoption(
        "--from-phase",
        default=None,
        metavar="NAME",
        help='resume the timeline at a phase, e.g. "Phase 4"; earlier checks are deselected.',
    )
    group.addoption(
        "--phase",
        dest="gonogo_phases",
        action="append",
        default=[],
        metavar="NAME",
        help='run only this phase, e.g. "Immediate Validation" (repeatable); other checks '
        "are deselected.",
    )
    group.addoption(
        "--kube-context",
        default=None,
        metavar="NAME",
        help="kube context to use instead of the target's or the kubeconfig's current one.",
    )
    group.addoption(
        "--checklist",
        dest="gonogo_checklist_file",
        default=None,
        metavar="FILE",
        help="checklist Markdown file (default: the gonogo_checklist ini value, "
        "docs/checklists.md under the rootdir).",
    )
    group.addoption(
        "--gonogo-checklist",
        action="store_true",
        default=False,
        help="print the checklist with the tests bound to each item, mark items that have "
        "no test, and run nothing.",
    )
    group.addoption(
        "--ignore-window",
        action="store_true",
        default=False,
        help="run outside the environment's deployment window; recorded as an override "
        "in the evidence.",
    )
    group.addoption(
        "--backup-secrets",
        action="store_true",
        default=False,
        help="write Secret values into the pre-deployment backup (default: a digest of each).",
    )
    group.addoption(
        "--service",
        dest="gonogo_service",
        default=None,
        metavar="NAME",
        help="the failed service that the emergency procedures act on.",
    )
    group.addoption(
        "--load-workers",
        default=0,
        metavar="N",
        type=_positive_int("--load-workers"),
        help="run load with a Locust master and N local worker processes.",
    )
    group.addoption(
        "--load-master-bind",
        default=None,
        metavar="HOST:PORT",
        type=_master_bind,
        help="run load with a Locust master bound to HOST:PORT that waits for "
        "--load-expect-workers workers started elsewhere (docs/load.md).",
    )
    group.addoption(
        "--load-expect-workers",
        default=0,
        metavar="N",
        type=_positive_int("--load-expect-workers"),
        help="with --load-master-bind: the number of Locust workers the master waits for "
        "before the load starts.",
    )
    group.addoption(
        "--reports-dir",
        default=None,
        metavar="DIR",
        help="where reports, backups and load results go (default: reports/ under the rootdir).",
    )
    parser.addini(
        "gonogo_checklist",
        default="docs/checklists.md",
        help="checklist Markdown file, relative to the rootdir.",
    )
    parser.addini(
        "gonogo_suites",
        type="paths",
        default=[],
        help="where the checklist suites live (e.g. suites). A run given --target "
        "and no paths collects these instead of testpaths.",
    )
    parser.addini(
        "gonogo_stage_order",
        type="linelist",
        default=[],
        help="order of the checklist's stages on the timeline, as stage markers "
        "(a heading's marker such as pre_flight, or predeploy, staging, deploy, "
        "postdeploy, rollback, emergency).",
    )
    parser.addini(
        "gonogo_stage_markers",
        type="linelist",
        default=[],
        help="'Heading = marker' lines: select that stage with -m marker instead of the "
        "heading's slug. Mapped to predeploy, staging, deploy, postdeploy, rollback or "
        "emergency, the stage takes that stage's meaning (e.g. 'Cut-over = deploy').",
    )
    parser.addini(
        "gonogo_remedial_stages",
        type="linelist",
        default=[],
        help="stages that exist for failures (by heading or marker): never blocked by a "
        "failed phase, last on the timeline. Stages named rollback or emergency always are.",
    )


@dataclass(frozen=True)
class Settings:
    """One run's choices, validated. Read by every part of the plugin."""

    targets: tuple[Path, ...] = ()
    """Target files, in the order given."""
    environment: str | None = None
    """The --env value; None when not given (env-marked tests are then all kept)."""
    execute: bool = False
    """True: mutating checks change the cluster; False: server-side dry run."""
    rollback: str = "plan"
    """plan | auto | off."""
    signoffs: Path | None = None
    operator: str | None = None
    """Who runs the release (see resolve_operator); None when it cannot be told."""
    gate: bool = True
    """False with --no-gate: every phase runs even after a failure."""
    from_phase: str | None = None
    phases: tuple[str, ...] = ()
    """--phase values: only these phases run."""
    kube_context: str | None = None
    checklist: Path = Path("docs/checklists.md")
    list_checklist: bool = False
    ignore_window: bool = False
    backup_secrets: bool = False
    service: str | None = None
    load_workers: int = 0
    """0: load runs in one Locust process; N: a master and N worker processes."""
    load_master_bind: tuple[str, int] | None = None
    """(host, port) the load master binds for workers started elsewhere; None: no remote workers."""
    load_expect_workers: int = 0
    """Remote workers the master waits for (with load_master_bind)."""
    reports_dir: Path = Path("reports")
    stage_order: tuple[str, ...] = field(default=())
    """gonogo_stage_order: stage markers; checked against the checklist once it is read."""
    stage_naming: StageNaming = field(default_factory=StageNaming)
    """gonogo_stage_markers and gonogo_remedial_stages."""

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        rootpath = config.rootpath
        checklist_opt = config.getoption("gonogo_checklist_file")
        checklist = (
            Path(checklist_opt) if checklist_opt else rootpath / config.getini("gonogo_checklist")
        )
        reports_opt = config.getoption("reports_dir")
        targets = _distinct_targets(config.getoption("target"))
        reports_dir = Path(os.path.expanduser(reports_opt)) if reports_opt else rootpath / "reports"
        if reports_opt or targets:
            _writable_dir(reports_dir, "--reports-dir")
        stage_order = tuple(config.getini("gonogo_stage_order"))
        master_bind, expect_workers = _remote_load_workers(config)
        return cls(
            targets=targets,
            environment=config.getoption("gonogo_env"),
            execute=config.getoption("execute"),
            rollback=config.getoption("gonogo_rollback"),
            signoffs=config.getoption("signoffs"),
            operator=resolve_operator(config.getoption("gonogo_operator")),
            gate=not config.getoption("no_gate"),
            from_phase=config.getoption("from_phase"),
            phases=tuple(config.getoption("gonogo_phases")),
            kube_context=config.getoption("kube_context"),
            checklist=checklist,
            list_checklist=config.getoption("gonogo_checklist"),
            ignore_window=config.getoption("ignore_window"),
            backup_secrets=config.getoption("backup_secrets"),
            service=config.getoption("gonogo_service"),
            load_workers=config.getoption("load_workers"),
            load_master_bind=master_bind,
            load_expect_workers=expect_workers,
            reports_dir=reports_dir,
            stage_order=stage_order,
            stage_naming=_stage_naming(config),
        )


def _remote_load_workers(config: pytest.Config) -> tuple[tuple[str, int] | None, int]:
    """--load-master-bind and --load-expect-workers go together, and not with
    --load-workers: a run's load has local workers or remote ones."""
    bind = config.getoption("load_master_bind")
    expect = config.getoption("load_expect_workers")
    if expect and config.getoption("load_workers"):
        raise pytest.UsageError(
            "--load-workers and --load-expect-workers both given; use --load-workers N for "
            "workers on this machine or --load-master-bind HOST:PORT --load-expect-workers N "
            "for workers started elsewhere"
        )
    if expect and bind is None:
        raise pytest.UsageError(
            "--load-expect-workers needs --load-master-bind HOST:PORT, the address the "
            "workers join (e.g. 0.0.0.0:5557)"
        )
    if bind is not None and not expect:
        raise pytest.UsageError(
            "--load-master-bind needs --load-expect-workers N, the number of workers the "
            "master waits for"
        )
    return bind, expect


def get_settings(config: pytest.Config) -> Settings:
    return config.stash[SETTINGS_KEY]


def _stage_naming(config: pytest.Config) -> StageNaming:
    """The ini options that rename stages and say which are remedial."""
    markers: dict[str, str] = {}
    for line in config.getini("gonogo_stage_markers"):
        heading, sep, marker = str(line).rpartition("=")
        heading, marker = heading.strip(), marker.strip()
        if not sep or not heading or not valid_marker_name(marker):
            raise pytest.UsageError(
                f"gonogo_stage_markers line {line!r} is not 'Heading = marker' with a marker "
                "of letters, digits and underscores; e.g. 'Cut-over = cutover'"
            )
        markers[heading] = marker
    remedial = frozenset(str(n).strip() for n in config.getini("gonogo_remedial_stages"))
    return StageNaming(markers=markers, remedial=remedial)
