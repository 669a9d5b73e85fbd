"""gonogo's answers to its rollback hooks: the Kubernetes one, and the plan
from the target alone when nothing better answers.

``pytest_gonogo_rollback_plan`` answers first (``tryfirst``) with revisions
read from the cluster: each Deployment now running the release, in reverse
dependency order, with the newest revision that ran the previous release.
When the cluster cannot be asked (no kube context, API server down, or
silent earlier in the run) it answers None and gonogo's target-only plan is
recorded instead.

``pytest_gonogo_rollback`` executes a plan: each step undone like ``kubectl
rollout undo --to-revision``, waited for, health-checked. Without
``--execute`` every patch is a server-side dry run, matching the deploy it
would undo. The Kubernetes client is imported only when a hook runs, so runs
that never roll back never load it.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from gonogo.engine.settings import Settings
from gonogo.errors import ConfigError, ProbeError
from gonogo.model.rollback import Failure, RollbackPlan, RollbackStep, plan_from_target


def _progress(line: str) -> None:
    sys.stderr.write("\r" + line[:160].ljust(160))
    sys.stderr.flush()


def _kube_target(target: Any, environment: str | None) -> bool:
    return (
        environment is not None
        and getattr(target, "previous_release", None) is not None
        and hasattr(target, "namespace_for")
    )


@pytest.hookimpl(tryfirst=True)
def pytest_gonogo_rollback_plan(
    target: Any, environment: str | None, failure: Failure, settings: Settings
) -> RollbackPlan | None:
    if not _kube_target(target, environment):
        return None
    assert environment is not None
    from gonogo.integrations.kubernetes.client import client_for
    from gonogo.integrations.kubernetes.rollback import build_plan

    try:
        kube = client_for(target, settings.kube_context)
    except ConfigError:
        return None
    try:
        return build_plan(kube, target, environment, failure.target_id)
    except ProbeError:
        return None
    finally:
        kube.close()


@pytest.hookimpl
def pytest_gonogo_rollback(
    plan: RollbackPlan, target: Any, environment: str | None, settings: Settings
) -> list[RollbackStep] | None:
    if not _kube_target(target, environment):
        return None
    assert environment is not None
    from gonogo.integrations.kubernetes.client import client_for, forget_unreachable
    from gonogo.integrations.kubernetes.rollback import RollbackExecutor

    try:
        kube = client_for(target, settings.kube_context)
    except ConfigError as e:
        return [
            RollbackStep(s.deployment, s.from_revision, s.to_revision, f"not run: {e}", 0.0)
            for s in plan.steps
        ]
    # Undoing a release is worth one more timeout against a server that was
    # silent earlier in the run: it may be back.
    forget_unreachable(kube.host)
    try:
        executor = RollbackExecutor(
            kube, target, environment, dry_run=not settings.execute, progress=_progress
        )
        return executor.run(plan)
    finally:
        kube.close()


# pytest only looks at attributes named pytest_*; specname lets this module
# answer the same hook twice: first from the cluster, last from the target.
@pytest.hookimpl(trylast=True, specname="pytest_gonogo_rollback_plan")
def pytest_gonogo_rollback_plan_from_target(
    target: Any, environment: str | None, failure: Failure, settings: Settings
) -> RollbackPlan:
    return plan_from_target(target, environment, failure)
