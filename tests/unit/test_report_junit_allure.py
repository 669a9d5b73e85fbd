"""JUnit XML named after checklist items; Allure results with the checklist's structure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

SUITE = """\
import pytest

@pytest.mark.item("Cluster healthy")
def test_cluster(target, evidence):
    evidence.table("nodes", [{"name": "node-1", "ready": True}])
    evidence.measure("free_cpu_cores", 3.5, limit=2.0, ok=True)

@pytest.mark.item("System health check")
def test_health(target, evidence):
    evidence.note("probe", "GET /health -> 503")
    assert False, "error rate 20.0 % > 5 % over 1,204 requests to web"

@pytest.mark.item("Deploy services")
@pytest.mark.parametrize("service", ["db", "api"])
def test_deploy(target, service):
    pass
"""


def test_junit_test_cases_are_named_after_checklist_items(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    assert result.ret == 1
    root = ET.parse(project.path / "reports" / "junit-production.xml").getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert list(cases) == [
        "Cluster healthy",
        "System health check",
        "Deploy services [db]",
        "Deploy services [api]",
    ]
    health = cases["System health check"]
    assert (
        health.get("classname")
        == "shop.Production Deployment Checklist.Phase 1: Validate (T-30 minutes)"
    )
    failure = health.find("failure")
    assert failure is not None
    assert "error rate 20.0 % > 5 % over 1,204 requests to web" in (failure.get("message") or "")
    props = {p.get("name"): p.get("value") for p in health.iter("property")}
    assert props["gonogo.test"] == "test_suite::test_health[shop]"
    assert cases["Deploy services [db]"].find("skipped") is not None


def test_allure_suites_are_stage_phase_item_and_evidence_is_attached(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_suite=SUITE)
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--alluredir", "allure"
    )
    assert result.ret == 1
    results = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in (project.path / "allure").glob("*-result.json")
    ]
    by_name = {r["name"]: r for r in results}
    assert set(by_name) == {
        "Cluster healthy",
        "System health check",
        "Deploy services [db]",
        "Deploy services [api]",
    }
    labels = {lab["name"]: lab["value"] for lab in by_name["System health check"]["labels"]}
    assert labels["parentSuite"] == "Production Deployment Checklist"
    assert labels["suite"] == "Phase 1: Validate (T-30 minutes)"
    assert labels["subSuite"] == "System health check"
    assert labels["gonogo_stage"] == "deploy"
    blocked = {lab["name"]: lab["value"] for lab in by_name["Deploy services [db]"]["labels"]}
    assert blocked["suite"] == "Phase 2: Deploy (T-10 minutes)"
    steps = by_name["Cluster healthy"]["steps"]
    assert [s["name"] for s in steps] == ["table: nodes", "measure: free_cpu_cores"]
    source = steps[0]["attachments"][0]["source"]
    rows = json.loads((project.path / "allure" / source).read_text(encoding="utf-8"))
    assert rows == [{"name": "node-1", "ready": True}]
    assert "error rate 20.0 %" in by_name["System health check"]["statusDetails"]["message"]
