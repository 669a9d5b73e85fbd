"""Phases 4 to 7 (T-10 to T+5): each tier deployed in dependency order with
the release's images, its rollouts watched to the end, then health and
version checked. Without ``--execute`` the apply is a server-side dry run and
the planned changes are the evidence.

Every deploy item runs the same way (``deploy_item`` reads what to apply from
the bound item), so they are one test, one parameter per item; the item marker
on each parameter puts it in its own phase of the timeline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from suites.deploy.plan import DeployOutcome

DEPLOY_ITEMS = {
    "redis": "Deploy Redis (cache/session store)",
    "mcp-core": "Deploy MCP services (core functionality)",
    "dashboard-business": "Deploy dashboard and business logic",
    "integrations": "Deploy integration services",
    "mcp-business": "Deploy MCP Business service",
    "ingress-networking": "Deploy ingress and networking",
    "monitoring": "Deploy monitoring stack",
}


@pytest.mark.mutating
@pytest.mark.kube_access(
    "get,create,patch deployments,services,serviceaccounts,configmaps",
    "get,create,patch ingresses,horizontalpodautoscalers,prometheusrules",
    "list,watch deployments",
)
@pytest.mark.parametrize(
    "tier",
    [pytest.param(key, marks=pytest.mark.item(title)) for key, title in DEPLOY_ITEMS.items()],
)
def test_deploy(tier: str, deploy_item: Callable[[], DeployOutcome]) -> None:
    """The tier of the bound deploy item is applied with the release's images, its rollouts
    complete, and its services are healthy on the release."""
    outcome = deploy_item()
    assert not outcome.problems, "; ".join(outcome.problems)
