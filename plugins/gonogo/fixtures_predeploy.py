"""Fixtures of the pre-deployment and staging checks that need the run itself.

"Regression testing" compares this run with the previous one: it needs the
outcomes of the tests that already ran in this session, which only a hook
sees. A small class plugin, registered at configure time, keeps them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gonogo.settings import Settings, get_settings


class OutcomeRecorder:
    """node id -> passed / failed / skipped, a failure in any phase winning."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and report.outcome == "passed":
            return
        if self.outcomes.get(report.nodeid) != "failed":
            self.outcomes[report.nodeid] = report.outcome


_RECORDER = pytest.StashKey[OutcomeRecorder]()


def junit_path(settings: Settings, environment: str) -> Path:
    """Where a run's JUnit XML for ``environment`` is kept for the next run's
    regression check: ``<reports_dir>/junit-<environment>.xml``."""
    return settings.reports_dir / f"junit-{environment}.xml"


def pytest_configure(config: pytest.Config) -> None:
    recorder = OutcomeRecorder()
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "gonogo-outcome-recorder")


@pytest.fixture
def session_outcomes(request: pytest.FixtureRequest) -> dict[str, str]:
    """node id -> outcome of every test that ran before this one in this run."""
    return dict(request.config.stash[_RECORDER].outcomes)


@pytest.fixture
def previous_junit(request: pytest.FixtureRequest, environment: str) -> Path:
    """The previous run's JUnit XML for this environment (it may not exist yet)."""
    return junit_path(get_settings(request.config), environment)
