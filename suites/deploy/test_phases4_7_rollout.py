"""Phases 4 to 7 (T-10 to T+5): each tier deployed in dependency order with
the release's images, its rollouts watched to the end, then health and
version checked. Without ``--execute`` the apply is a server-side dry run and
the planned changes are the evidence.

Every deploy item runs the same way (``deploy_item`` reads what to apply from
the bound item), so they are one test, one parameter per "Deploy ..." item of
the checklist (see ``suites/deploy/plan.py``: which tiers of the target each
one rolls out); the item marker on each parameter puts it in its own phase of
the timeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from suites.deploy.plan import DeployOutcome


@pytest.mark.mutating
@pytest.mark.kube_access(
    "get,create,patch deployments,services,serviceaccounts,configmaps",
    "get,create,patch ingresses,horizontalpodautoscalers,prometheusrules",
    "list,watch deployments",
)
def test_deploy(tier: str, deploy_item: Callable[[], DeployOutcome]) -> None:
    """The tiers of the bound deploy item are applied with the release's images, their rollouts
    complete, and their services are healthy on the release."""
    outcome = deploy_item()
    assert not outcome.problems, "; ".join(outcome.problems)


test_deploy.deploy_items = True  # type: ignore[attr-defined]
