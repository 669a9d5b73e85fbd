"""The HTML report as an approver opens it: headless Chromium (Debian's), no network.

Both reports come from real runs against the sandbox:

* a GO run: the pre-deployment gate on the demo system, with recorded
  sign-offs, a fresh backup and a staging run of the release (its record
  proves "Performance testing");
* a NO-GO run: the deploy stage, executed with ``--rollback=auto``, of a
  release whose dashboard can never become available, in a namespace of its
  own; the failed phase closes the gate and the Kubernetes rollback returns
  every changed Deployment to v1.0.0.

Each report is opened from disk; the page must show the verdict, every item
the run tested (read back from the run's JUnit XML) in its state, a failed
item's evidence, the rollback steps and the sign-offs, make no network
request and log no console error. Screenshots are kept under the test's tmp
dir, and copied to ``reports/screenshots/`` when ``GONOGO_KEEP_SCREENSHOTS``
is set."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from gonogo.engine.markers import BINDING_PROPERTY
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo_sandbox.config import SandboxConfig

from tests.support.demo_system import demo_system, never_available, release_with
from tests.support.gate_inputs import (
    delete_namespace,
    run_staging_proof,
    staging_overrides,
    target_copy,
    write_backup,
    write_signoffs,
)
from tests.support.suite_runner import REPO, run_suite

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
BROKEN = "sophia-dashboard"


@dataclass(frozen=True)
class Run:
    """One real run: its exit code, terminal output, HTML report and the
    checklist items it tested (index -> title), from its JUnit XML."""

    code: int
    output: str
    html: Path
    items: dict[int, str]


def _run(*args: str, cwd: Path) -> Run:
    code, output = run_suite(*args, cwd=cwd)
    reports = cwd / "reports"
    items: dict[int, str] = {}
    for junit in reports.glob("junit-*.xml"):
        for prop in ET.parse(junit).getroot().iter("property"):
            if prop.get("name") == BINDING_PROPERTY:
                binding = json.loads(prop.get("value") or "{}")
                items[int(binding["index"])] = binding["title"]
    return Run(code, output, reports / "gonogo.html", items)


@pytest.fixture(scope="module")
def go_run(sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("report-go")
    staging = f"e2e-report-staging-{secrets.token_hex(3)}"
    target = target_copy(
        work / "target.yaml",
        {
            "backups_dir": str(work / "backups"),
            "load_results_dir": str(work / "load"),
            **staging_overrides(work, staging),
        },
    )
    kube = KubeClient(kubeconfig=sandbox_running.kubeconfig, context=sandbox_running.kube_context)
    try:
        write_backup(kube, "sophia", work / "backups")
    finally:
        kube.close()
    try:
        (work / "staging").mkdir()
        code, output = run_staging_proof(target, work / "staging")
        assert code == 0, output[-4000:]
    finally:
        delete_namespace(staging)
    signoffs = write_signoffs(work / "signoffs.yaml")
    run = _run(
        str(REPO / "suites"),
        "-m",
        "predeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "--signoffs",
        str(signoffs),
        cwd=work,
    )
    assert run.code == 0, run.output[-4000:]
    return run


@pytest.fixture(scope="module")
def no_go_run(sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("report-nogo")
    broken = release_with(work, BROKEN, never_available)
    with demo_system(work, "report", overrides={"manifests_dir": str(broken)}) as demo:
        run = _run(
            str(REPO / "suites"),
            "-m",
            "deploy",
            "--target",
            str(demo.target_file),
            "--env",
            "production",
            "--execute",
            "--rollback=auto",
            cwd=work,
        )
    assert run.code == 1, run.output[-4000:]
    return run


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
        dest = REPO / "reports" / "screenshots"
        dest.mkdir(parents=True, exist_ok=True)
        for shot in shots:
            shutil.copy2(shot, dest / shot.name)


def _states(page: Any) -> dict[str, str]:
    return dict(
        page.locator("#gonogo-checklist li.item").evaluate_all(
            "els => els.map(e => [e.id, e.dataset.state])"
        )
    )


def _assert_every_item_of_the_run_shown(page: Any, run: Run) -> None:
    states = _states(page)
    titles = page.locator("#gonogo-checklist li.item > .title").all_inner_texts()
    assert run.items, "the run's JUnit XML names no checklist item"
    for index, title in run.items.items():
        assert any(title in t for t in titles), title
        assert states.get(f"item-{index}") not in (None, "not_run"), (title, states)


def test_go_report_renders_offline_with_verdict_items_and_signoffs(
    go_run: Run, tmp_path: Path
) -> None:
    shot = tmp_path / "report-go.png"
    manager, browser, errors, requests = _open(go_run.html, shot)
    try:
        page = browser.contexts[0].pages[0]
        assert page.locator(".gonogo-banner .verdict").inner_text() == "GO"
        banner = page.locator(".gonogo-banner").inner_text()
        assert "sophia" in banner and "v1.1.0" in banner and "production" in banner
        _assert_every_item_of_the_run_shown(page, go_run)
        states = _states(page)
        assert "failed" not in states.values() and "blocked" not in states.values()
        assert "signed_off" in states.values()
        signoffs = page.locator("#gonogo-signoffs table")
        assert signoffs.is_visible()
        text = signoffs.inner_text()
        assert "Change approval" in text and "Dana Ops" in text and "CHG-4711" in text
        assert page.locator("#gonogo-timeline svg").is_visible()
        assert errors == [], errors
        assert requests == [], requests
    finally:
        browser.close()
        manager.stop()
    _keep([shot])


def test_no_go_report_shows_failed_evidence_and_rollback_steps(
    no_go_run: Run, tmp_path: Path
) -> None:
    shot = tmp_path / "report-nogo.png"
    manager, browser, errors, requests = _open(no_go_run.html, shot)
    try:
        page = browser.contexts[0].pages[0]
        assert page.locator(".gonogo-banner .verdict").inner_text() == "NO-GO"
        lines = page.locator(".gonogo-banner .verdict-lines").inner_text()
        assert "NO-GO — Phase 5 (T-5) failed" in lines, lines
        _assert_every_item_of_the_run_shown(page, no_go_run)
        failed = page.locator('#gonogo-checklist li.item[data-state="failed"]').first
        evidence = failed.locator("details.evidence").first
        assert evidence.get_attribute("open") is not None, "a failure's evidence is open"
        assert "ProgressDeadlineExceeded" in evidence.inner_text()
        assert "blocked" in _states(page).values()
        assert "Gate closed: Phase 5 (T-5)" in page.locator("#gonogo-gates").inner_text()
        steps = page.locator("table.rollback-steps tbody tr")
        rows = steps.all_inner_texts()
        assert len(rows) >= 2, rows
        assert rows[0].split("\t")[1] == "deployment/sophia-business", rows
        assert all("rolled back" in r or "already at target" in r for r in rows), rows
        assert page.locator("table.rollback-steps").is_visible()
        # the evidence of a passed item is one click away
        passed = page.locator('#gonogo-checklist li.item[data-state="passed"]').first
        details = passed.locator("details.evidence").first
        assert details.get_attribute("open") is None
        details.locator("summary").click()
        assert details.get_attribute("open") is not None
        assert errors == [], errors
        assert requests == [], requests
    finally:
        browser.close()
        manager.stop()
    _keep([shot])
