"""The gonogo pytest plugin: binds tests to checklist items, orders them along
the release timeline, gates phases, plans or runs rollbacks, checks sign-offs,
and ends the run with a GO / NO-GO verdict (exit 0 / 1).

Loaded through the ``pytest11`` entry point. Stateful parts are class plugins
registered at configure time in the process that needs them: the gatekeeper
where tests run, the verdict collector where reports arrive."""

from __future__ import annotations

import pytest

from gonogo.engine import hookspecs
from gonogo.engine.gating import Gatekeeper
from gonogo.engine.interrupts import install as install_interrupt_guard
from gonogo.engine.markers import register_markers
from gonogo.engine.outcome import COLLECTOR_KEY
from gonogo.engine.run import (
    CHECKLIST_KEY,
    TARGETS_KEY,
    is_worker,
    is_xdist_controller,
    load_inputs,
    run_suites_for_targets,
)
from gonogo.engine.runlog import runlog_of
from gonogo.engine.scheduling import refuse_foreign_scheduling
from gonogo.engine.selection import phase_named
from gonogo.engine.settings import SETTINGS_KEY, Settings, add_options
from gonogo.engine.verdict import VerdictCollector
from gonogo.errors import ConfigError

pytest_plugins = [
    "gonogo.engine.selection",
    "gonogo.engine.pruning",
    "gonogo.engine.listing",
    "gonogo.engine.approvals",
    "gonogo.engine.outcome",
    "gonogo.engine.scheduling",
    "gonogo.fixtures.run",
    "gonogo.fixtures.clients",
    "gonogo.engine.rollback",
    "gonogo.engine.notifications",
    "gonogo.fixtures.deploy",
    "gonogo.fixtures.load",
    "gonogo.fixtures.outcomes",
    "gonogo.engine.records",
    "gonogo.engine.rbac.plugin",
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """The earliest moment gonogo can see how pytest read the command line."""
    from gonogo.engine.rootdir import refuse_misread_paths

    refuse_misread_paths(early_config, args)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Validate everything a run depends on before any report plugin is set
    up: a usage or configuration error ends here, with one line and exit 4,
    and writes no report."""
    register_markers(config)
    refuse_foreign_scheduling(config)
    settings = Settings.from_config(config)
    run_suites_for_targets(config, settings)
    config.stash[SETTINGS_KEY] = settings
    try:
        load_inputs(config, settings)
    except ConfigError as e:
        raise pytest.UsageError(str(e)) from None
    checklist = config.stash[CHECKLIST_KEY]
    if checklist is not None:
        for name in settings.phases:
            phase_named(checklist, "--phase", name)
        if settings.from_phase is not None:
            phase_named(checklist, "--from-phase", settings.from_phase)
    if not is_xdist_controller(config):
        config.pluginmanager.register(
            Gatekeeper(config, settings, runlog_of(config), config.stash[TARGETS_KEY]),
            "gonogo-gatekeeper",
        )
    if settings.targets and not settings.list_checklist:
        install_interrupt_guard(config)
    if not is_worker(config):
        collector = VerdictCollector()
        config.stash[COLLECTOR_KEY] = collector
        config.pluginmanager.register(collector, "gonogo-verdict")
    from gonogo.report import configure as configure_reports

    configure_reports(config)
