"""Fixtures of the pre-deployment and staging checks that need the run itself.

"Regression testing" compares this run with the previous release's run in the
same environment (from the record store): it needs the outcomes of the tests
that already ran in this session, which only a hook sees. A small class
plugin, registered at configure time, keeps them."""

from __future__ import annotations

import pytest


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


def pytest_configure(config: pytest.Config) -> None:
    recorder = OutcomeRecorder()
    config.stash[_RECORDER] = recorder
    config.pluginmanager.register(recorder, "gonogo-outcome-recorder")


@pytest.fixture
def session_outcomes(request: pytest.FixtureRequest) -> dict[str, str]:
    """node id -> outcome of every test that ran before this one in this run."""
    return dict(request.config.stash[_RECORDER].outcomes)
