"""gonogo's own hooks, in one place, registered through ``pytest_addhooks``.

Other plugins (the Kubernetes rollback, notifiers, a status page) implement
these in a ``conftest.py`` or their own plugin. The core calls them; it never
knows which integration answers. The names carry pytest's ``pytest_`` prefix
because pytest collects hook implementations only under that prefix (as
pytest-html's ``pytest_html_*`` and xdist's ``pytest_xdist_*`` do).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gonogo.engine.settings import Settings
    from gonogo.engine.verdict import Verdict
    from gonogo.model.checklist import Phase
    from gonogo.model.rollback import Failure, RollbackPlan, RollbackStep


@pytest.hookspec(firstresult=True)
def pytest_gonogo_rollback_plan(
    target: Any, environment: str | None, failure: Failure, settings: Settings
) -> RollbackPlan | None:
    """Build the rollback plan for ``target`` after ``failure``.

    The plan lists the Deployments this release touched, in reverse
    dependency order, each with the revision it returns to. The first
    non-None answer wins; gonogo's default answers from the target file alone
    (every service, returning to ``previous_release``, revisions unknown), so
    an integration that can read the cluster should answer first
    (``tryfirst=True``) and fill in the revisions."""


@pytest.hookspec(firstresult=True)
def pytest_gonogo_rollback(
    plan: RollbackPlan, target: Any, environment: str | None, settings: Settings
) -> list[RollbackStep] | None:
    """Execute ``plan`` and return one step per Deployment, in the order run.

    Called only with ``--rollback=auto`` when the environment's rollback
    criteria are met. Must be safe to run twice. Return None when this
    implementation does not handle the plan's target."""


@pytest.hookspec
def pytest_gonogo_phase_finished(
    target_id: str, phase: Phase, passed: int, failed: list[str], skipped: int
) -> None:
    """A phase of ``target_id``'s timeline has run to its end. ``failed``
    holds the titles of the checklist items that failed in it."""


@pytest.hookspec
def pytest_gonogo_gate_closed(target_id: str, phase: Phase, failed: list[str]) -> None:
    """``phase`` failed: every later, non-remedial test of ``target_id`` will
    be skipped as blocked. Notifiers announce the stop here."""


@pytest.hookspec
def pytest_gonogo_verdict(verdict: Verdict, config: pytest.Config) -> None:
    """The run's verdict, once, on the controller, after every test ran.
    Report writers and notifiers (stakeholders, status page) implement this."""
