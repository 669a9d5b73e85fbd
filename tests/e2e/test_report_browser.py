"""The HTML report as an approver opens it: headless Chromium (Debian's), no network.

Two runs are generated with pytester: a GO run and a NO-GO run whose failed
deploy check triggers an automatic rollback (a test plugin answers
``pytest_gonogo_rollback`` with recorded steps). Each report is opened from
disk; the page must show the verdict, every item, a failed item's evidence,
the rollback steps and the sign-offs, make no network request and log no
console error. Screenshots are kept under the test's tmp dir, and copied to
``reports/screenshots/`` when ``GONOGO_KEEP_SCREENSHOTS`` is set."""

from __future__ import annotations

import os
import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]

ROLLBACK_PLUGIN = """\
from gonogo.rollback import RollbackStep

def pytest_gonogo_rollback(plan, target, environment, settings):
    return [RollbackStep(s.deployment, 4, 3, "rolled back", 1.5) for s in plan.steps]
"""

SUITE = """\
import json
import pytest

@pytest.mark.item("Change approval")
@pytest.mark.manual
def test_change_approval(target, signoff):
    pass

@pytest.mark.item("Cluster healthy")
def test_cluster(target, evidence):
    evidence.table("nodes", [{"name": f"node-{n}", "ready": True} for n in range(3)])

@pytest.mark.item("Performance testing", phase="Readiness")
def test_perf(target, evidence):
    samples = [{"t": t, "rps": 40.0, "error_rate": 0.002 * t, "p50_ms": 35 + t, "p95_ms": 80 + 4 * t}
               for t in range(0, 30, 2)]
    evidence.attach("baseline load", json.dumps({"samples": samples, "limits": {"error_rate": 0.05}}),
                    mime="application/vnd.gonogo.timeseries+json")

@pytest.mark.item("System health check")
def test_health(target, evidence):
    evidence.measure("unavailable_deployments", 0, limit=0)

@pytest.mark.item("Deploy services")
@pytest.mark.mutating
@pytest.mark.parametrize("service", ["db", "api", "web"])
def test_deploy(target, service, evidence):
    rate = 0.204 if (FAIL and service == "web") else 0.0
    evidence.measure("error_rate", rate, limit=0.05, service=service)
    assert rate <= 0.05, f"error rate {rate:.1%} > 5.0% for {service} over 1,204 requests; see the load chart"

@pytest.mark.item("Service health checks")
def test_post(target):
    pass

@pytest.mark.item("Rollback to previous version")
def test_rollback_item(target):
    pass
"""

CHECKLIST_ITEMS = [
    "Change approval",
    "Backup verification",
    "Cluster healthy",
    "Performance testing",
    "System health check",
    "Deploy services",
    "Rollback to previous version",
    "Service health checks",
    "Immediate Response",
]


def _signoffs() -> str:
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return textwrap.dedent(
        f"""\
        signoffs:
          - item: Change approval
            who: Dana Ops
            role: change-management
            when: {when}
            release: v2.0.0
            environment: production
            ticket: CHG-4711
        """
    )


def _generate(project: pytest.Pytester, name: str, fail: bool) -> Path:
    project.makeconftest(ROLLBACK_PLUGIN)
    project.makepyfile(test_suite=f"FAIL = {fail}\n" + SUITE)
    project.makefile(".yaml", signoffs=_signoffs())
    html = project.path / "out" / f"{name}.html"
    result = project.runpytest(
        "--target",
        "target.yaml",
        "--env",
        "production",
        "--signoffs",
        "signoffs.yaml",
        "--execute",
        "--rollback=auto",
        "--html",
        str(html),
        "--self-contained-html",
    )
    assert result.ret == (1 if fail else 0), "\n".join(result.outlines[-20:])
    return html


def _open(html: Path, shot: Path) -> tuple[Any, Any, list[str], list[str]]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    manager = sync_api.sync_playwright().start()
    browser = manager.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html.as_uri(), wait_until="load", timeout=30_000)
    page.wait_for_selector("#gonogo-banner", timeout=10_000)
    page.screenshot(path=str(shot), full_page=True)
    return manager, browser, errors, [u for u in requests if u != html.as_uri()]


def _keep(shots: list[Path]) -> None:
    if os.environ.get("GONOGO_KEEP_SCREENSHOTS"):
        dest = ROOT / "reports" / "screenshots"
        dest.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copy2(shot, dest / shot.name)


def test_go_report_renders_offline_with_verdict_items_and_signoffs(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    html = _generate(project, "go", fail=False)
    shot = tmp_path / "report-go.png"
    manager, browser, errors, requests = _open(html, shot)
    try:
        page = browser.contexts[0].pages[0]
        assert page.locator(".gonogo-banner .verdict").inner_text() == "GO"
        assert page.locator(".gonogo-banner").is_visible()
        titles = page.locator("#gonogo-checklist li.item > .title").all_inner_texts()
        for title in CHECKLIST_ITEMS:
            assert any(title in t for t in titles), title
        states = page.locator("#gonogo-checklist li.item").evaluate_all(
            "els => els.map(e => e.dataset.state)"
        )
        assert states.count("not_run") == 3 and "failed" not in states
        assert page.locator("#item-5").get_attribute("data-state") == "passed"  # executed
        signoffs = page.locator("#gonogo-signoffs table")
        assert signoffs.is_visible()
        assert "Dana Ops" in signoffs.inner_text() and "CHG-4711" in signoffs.inner_text()
        assert page.locator("#gonogo-load svg.gonogo-chart").is_visible()
        assert page.locator("#gonogo-timeline svg").is_visible()
        assert errors == [], errors
        assert requests == [], requests
    finally:
        browser.close()
        manager.stop()
    _keep([shot])


def test_no_go_report_shows_failed_evidence_and_rollback_steps(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    html = _generate(project, "nogo", fail=True)
    shot = tmp_path / "report-nogo.png"
    manager, browser, errors, requests = _open(html, shot)
    try:
        page = browser.contexts[0].pages[0]
        assert page.locator(".gonogo-banner .verdict").inner_text() == "NO-GO"
        lines = page.locator(".gonogo-banner .verdict-lines").inner_text()
        assert "NO-GO — Phase 2 (T-10) failed: 1 check" in lines
        failed = page.locator("#item-5")
        assert failed.get_attribute("data-state") == "failed"
        evidence = failed.locator("details.evidence")
        assert evidence.get_attribute("open") is not None, "a failure's evidence is open"
        text = evidence.inner_text()
        assert "error rate 20.4% > 5.0% for web" in text
        assert "20.40%" in text and "over limit" in text
        assert page.locator("#item-8").get_attribute("data-state") == "blocked"
        gate = page.locator("#gonogo-gates")
        assert "Gate closed: Phase 2 (T-10)" in gate.inner_text()
        steps = page.locator("table.rollback-steps tbody tr")
        assert steps.count() == 3
        rows = steps.all_inner_texts()
        assert [r.split("\t")[1] for r in rows] == [
            "deployment/web",
            "deployment/api",
            "deployment/db",
        ]
        assert all("rolled back" in r and "1.5 s" in r for r in rows)
        assert page.locator("table.rollback-steps").is_visible()
        assert "Dana Ops" in page.locator("#gonogo-signoffs").inner_text()
        # the evidence of a passed item is one click away
        cluster = page.locator("#item-2 details.evidence")
        assert not cluster.locator("table").is_visible()
        cluster.locator("summary").click()
        assert cluster.locator("table").is_visible()
        assert "node-2" in cluster.inner_text()
        assert errors == [], errors
        assert requests == [], requests
    finally:
        browser.close()
        manager.stop()
    _keep([shot])
