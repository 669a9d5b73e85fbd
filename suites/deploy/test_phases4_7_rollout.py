"""Phases 4 to 7 (T-10 to T+5): each tier deployed in dependency order with
the release's images, its rollouts watched to the end, then health and
version checked. Without ``--execute`` the apply is a server-side dry run and
the planned changes are the evidence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from suites.deploy.plan import DeployOutcome

Deploy = Callable[[], DeployOutcome]


def _deployed(deploy_item: Deploy) -> None:
    __tracebackhide__ = True
    outcome = deploy_item()
    assert not outcome.problems, "; ".join(outcome.problems)


@pytest.mark.mutating
@pytest.mark.item("Deploy Redis (cache/session store)")
def test_deploy_redis(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy MCP services (core functionality)")
def test_deploy_mcp_core(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy dashboard and business logic")
def test_deploy_dashboard_and_business(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy integration services")
def test_deploy_integrations(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy MCP Business service")
def test_deploy_mcp_business(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy ingress and networking")
def test_deploy_ingress_and_networking(deploy_item: Deploy) -> None:
    _deployed(deploy_item)


@pytest.mark.mutating
@pytest.mark.item("Deploy monitoring stack")
def test_deploy_monitoring(deploy_item: Deploy, target: Any) -> None:
    _deployed(deploy_item)
