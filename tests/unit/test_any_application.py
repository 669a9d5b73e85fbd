"""Nothing in the checks is bound to the Sophia system: deploy tiers, the
dashboard, external APIs and ConfigMaps come from the target, and a system
without one of them gets "not applicable", never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.integrations.http.client import probe
from gonogo.model.target import load_target

from suites.deploy.plan import SEED_ITEM_TIERS, item_services, item_tiers

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "targets" / "sandbox.yaml"
LEDGER = ROOT / "targets" / "ledger.yaml"

GRAPH = """\
name: shop
release: v2.0.0
namespaces:
  production: shop
services:
  - name: store
    image: shop-store
  - name: accounts
    image: shop-accounts
    depends_on: [store]
  - name: payments
    image: shop-payments
    depends_on: [store, accounts]
  - name: front
    image: shop-front
    depends_on: [accounts, payments]
environments:
  production:
    window: any
"""


def _target(tmp_path: Path, text: str = GRAPH):
    path = tmp_path / "target.yaml"
    path.write_text(text, encoding="utf-8")
    return load_target(path)


def test_probing_no_request_answers_nothing_instead_of_crashing() -> None:
    # asyncio.wait refuses an empty set: a system without external APIs crashed here
    assert probe([]) == []


def test_tiers_come_from_the_graph_when_the_target_names_none(tmp_path: Path) -> None:
    target = _target(tmp_path)
    tiers = [(tier, [s.name for s in services]) for tier, services in target.tiers()]
    assert tiers == [
        ("tier-1", ["store"]),
        ("tier-2", ["accounts"]),
        ("tier-3", ["payments"]),
        ("tier-4", ["front"]),
    ]


def test_tiers_are_the_targets_own_words_in_deployment_order(tmp_path: Path) -> None:
    text = GRAPH.replace("image: shop-store", "image: shop-store\n    tier: storage")
    for name, tier in (("accounts", "domain"), ("payments", "domain"), ("front", "edge")):
        text = text.replace(
            f"  - name: {name}\n    image: shop-{name}",
            f"  - name: {name}\n    image: shop-{name}\n    tier: {tier}",
        )
    target = _target(tmp_path, text)
    tiers = [(tier, [s.name for s in services]) for tier, services in target.tiers()]
    assert tiers == [
        ("storage", ["store"]),
        ("domain", ["accounts", "payments"]),
        ("edge", ["front"]),
    ]
    titles = ["Deploy the storage tier", "Deploy the domain tier", "Deploy the edge tier"]
    assert [s.name for s in item_services(target, titles[1], titles)] == ["accounts", "payments"]


def test_the_seed_checklist_deploys_every_service_of_another_system_once(tmp_path: Path) -> None:
    target = _target(tmp_path)
    titles = list(SEED_ITEM_TIERS)
    deployed = [s.name for title in titles for s in item_services(target, title, titles)]
    assert deployed == ["store", "accounts", "payments", "front"]
    assert item_tiers(target, titles[1], titles) == []


def test_the_seed_items_keep_sophias_tiers() -> None:
    target = load_target(SANDBOX)
    titles = list(SEED_ITEM_TIERS)
    got = {title: [s.name for s in item_services(target, title, titles)] for title in titles}
    assert got["Deploy Redis (cache/session store)"] == ["redis"]
    assert got["Deploy MCP services (core functionality)"] == [
        "mcp-research",
        "mcp-context",
        "mcp-agents",
    ]
    assert got["Deploy dashboard and business logic"] == ["sophia-dashboard", "sophia-business"]
    assert got["Deploy MCP Business service"] == ["mcp-business"]
    assert got["Deploy monitoring stack"] == []


def test_the_dashboard_is_the_service_the_target_marks(tmp_path: Path) -> None:
    assert _target(tmp_path).dashboard_service() is None
    marked = _target(
        tmp_path, GRAPH.replace("image: shop-front", "image: shop-front\n    dashboard: true")
    )
    front = marked.dashboard_service()
    assert front is not None and front.name == "front"
    assert not marked.is_absent("dashboard", "production")
    sophia = load_target(SANDBOX).dashboard_service()
    assert sophia is not None and sophia.name == "sophia-dashboard"


def test_optional_sections_are_absent_when_left_out_or_listed(tmp_path: Path) -> None:
    target = _target(tmp_path)
    for system in ("external_apis", "configmaps", "dashboard"):
        assert target.is_absent(system, "production"), system
    sandbox = load_target(SANDBOX)
    assert not sandbox.is_absent("external_apis", "production")
    assert not sandbox.is_absent("configmaps", "production")
    listed = _target(
        tmp_path,
        GRAPH.replace("    window: any", "    window: any\n    absent: [configmaps, dashboard]"),
    )
    assert listed.is_absent("configmaps", "production")


@pytest.mark.skipif(not LEDGER.exists(), reason="the second sample ships with targets/ledger.yaml")
def test_the_second_sample_shares_nothing_with_sophia(monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = load_target(LEDGER)
    sophia = load_target(SANDBOX)
    assert len(ledger.services) == 4
    assert not {s.name for s in ledger.services} & {s.name for s in sophia.services}
    assert not any("dashboard" in s.name for s in ledger.services)
    assert set(ledger.namespaces.values()).isdisjoint(sophia.namespaces.values())
    assert [t for t, _ in ledger.tiers()] == ["storage", "domain", "edge"]


@pytest.mark.skipif(not LEDGER.exists(), reason="the second sample ships with targets/ledger.yaml")
def test_the_ledger_checklist_deploys_each_service_once_in_graph_order() -> None:
    from gonogo.model.checklist import load_checklist

    from suites.deploy.plan import deploy_items

    ledger = load_target(LEDGER)
    items = deploy_items(load_checklist(ROOT / "examples" / "ledger" / "checklist.md"))
    titles = list(items)
    assert titles == ["Deploy the storage tier", "Deploy the domain tier", "Deploy the edge tier"]
    deployed = [s.name for title in titles for s in item_services(ledger, title, titles)]
    assert deployed == [s.name for s in ledger.services_in_dependency_order()]
    assert deployed == ["ledger-store", "ledger-accounts", "ledger-payments", "ledger-gateway"]


def test_the_seed_checklist_still_names_the_seed_deploy_items() -> None:
    from gonogo.model.checklist import load_checklist

    from suites.deploy.plan import deploy_items

    assert list(deploy_items(load_checklist(ROOT / "docs" / "checklists.md"))) == list(
        SEED_ITEM_TIERS
    )
