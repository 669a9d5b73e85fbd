"""The run's inputs, loaded once at configure time and kept in the config's
stash: the targets, the checklist and the sign-offs. Every other part of
gonogo reads them through this module, never through the entry point."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gonogo.engine.markers import register_stage_markers
from gonogo.engine.settings import Settings, get_settings
from gonogo.model.checklist import Checklist, load_checklist
from gonogo.model.signoffs import SignOff, load_signoffs
from gonogo.model.target import Target, load_target
from gonogo.redact import redactor

CHECKLIST_KEY = pytest.StashKey[Checklist | None]()
TARGETS_KEY = pytest.StashKey[dict[str, Target]]()
SIGNOFFS_KEY = pytest.StashKey[list[SignOff]]()


def load_inputs(config: pytest.Config, settings: Settings) -> None:
    """Targets, sign-offs and checklist into the stash; a ConfigError for the
    first that cannot be used."""
    config.stash[TARGETS_KEY] = _load_targets(settings)
    config.stash[SIGNOFFS_KEY] = load_signoffs(settings.signoffs) if settings.signoffs else []
    config.stash[CHECKLIST_KEY] = _checklist_at_configure(config, settings)


def targets_of(config: pytest.Config) -> dict[str, Target]:
    """The run's targets by id (empty without --target)."""
    return config.stash[TARGETS_KEY]


def signoffs_of(config: pytest.Config) -> list[SignOff]:
    """The sign-offs of --signoffs (empty without it)."""
    return config.stash[SIGNOFFS_KEY]


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_xdist_controller(config: pytest.Config) -> bool:
    return not is_worker(config) and getattr(config.option, "dist", "no") != "no"


def _load_targets(settings: Settings) -> dict[str, Target]:
    targets: dict[str, Target] = {}
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
    return _load_checklist(config, settings)


def _load_checklist(config: pytest.Config, settings: Settings) -> Checklist:
    """The checklist read with the team's stage naming, its stage markers
    registered (so ``--strict-markers`` knows them) and gonogo_stage_order
    checked against them."""
    checklist = load_checklist(settings.checklist, settings.stage_naming)
    register_stage_markers(config, checklist)
    known = {m for stage in checklist.stages for m in stage.markers}
    unknown = [name for name in settings.stage_order if name not in known]
    if unknown:
        raise pytest.UsageError(
            f"gonogo_stage_order names {', '.join(unknown)}, no stage of the checklist; "
            f"its stage markers: {', '.join(sorted(known))}"
        )
    return checklist


def run_suites_for_targets(config: pytest.Config, settings: Settings) -> None:
    """``pytest -m predeploy --target T`` with no paths means the checklist
    suites, not the project's own tests: where ``testpaths`` would have been
    collected, collect the ``gonogo_suites`` ini paths instead."""
    suites = [str(p) for p in config.getini("gonogo_suites") if Path(p).exists()]
    if settings.targets and suites and config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        config.args = suites


def checklist_of(config: pytest.Config) -> Checklist:
    """The checklist loaded at configure time; a ConfigError naming the file
    and the fix when the run has none."""
    checklist = config.stash.get(CHECKLIST_KEY, None)
    if checklist is None:
        checklist = _load_checklist(config, get_settings(config))
        config.stash[CHECKLIST_KEY] = checklist
    return checklist


def reports_dir(config: pytest.Config) -> Path:
    return get_settings(config).reports_dir
