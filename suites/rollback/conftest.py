"""Fixtures of the rollback checklist: the plan, read from the cluster."""

from __future__ import annotations

import pytest
from gonogo.checks import KubeClient, RollbackPlan, Settings, Target


@pytest.fixture
def rollback_plan(
    target: Target, environment: str, kube: KubeClient, gonogo_settings: Settings
) -> RollbackPlan:
    """Every Deployment now running the release, in reverse dependency order,
    with the revision that ran the previous release (only ``--service`` when given)."""
    from gonogo.checks import build_plan

    if target.previous_release is None:
        pytest.fail(f"{target.source} names no previous_release to roll back to", pytrace=False)
    plan = build_plan(kube, target, environment, target.name)
    if gonogo_settings.service:
        service = target.service(gonogo_settings.service)
        plan.steps = [s for s in plan.steps if s.service == service.name]
    return plan
