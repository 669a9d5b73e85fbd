"""The HTML report: what an approver sees, proven on pytester runs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROLLBACK_CONFTEST = """\
import pytest
from gonogo.model.rollback import RollbackStep

@pytest.hookimpl(tryfirst=True)
def pytest_gonogo_rollback_plan(target, environment, failure, settings):
    return None  # the plan from the target alone, whatever cluster KUBECONFIG names

def pytest_gonogo_rollback(plan, target, environment, settings):
    return [RollbackStep(s.deployment, 3, 2, "rolled back", 0.25) for s in plan.steps]
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
    evidence.table("nodes", [{"name": "node-1", "ready": True}, {"name": "node-2", "ready": True}])

@pytest.mark.item("Performance testing", phase="Readiness")
def test_perf(target, evidence):
    samples = [{"t": i, "rps": 20.0, "error_rate": 0.001 * i, "p50_ms": 40 + i, "p95_ms": 90 + 3 * i}
               for i in range(12)]
    evidence.attach("baseline load", json.dumps({"samples": samples, "limits": {"error_rate": 0.05}}),
                    mime="application/vnd.gonogo.timeseries+json")
    evidence.measure("error_rate", 0.011, limit=0.05)

@pytest.mark.item("System health check")
def test_health(target, evidence):
    evidence.note("probe", "GET http://127.0.0.1:9/health answered 200")

@pytest.mark.item("Deploy services")
@pytest.mark.mutating
@pytest.mark.parametrize("service", ["db", "api", "web"])
def test_deploy(target, service, evidence):
    evidence.measure("error_rate", 0.20 if service == "web" and FAIL else 0.0, limit=0.05, service=service)
    assert not (service == "web" and FAIL), "error rate 20.0 % > 5 % for web; see the load chart"

@pytest.mark.item("Service health checks")
def test_post(target):
    pass

@pytest.mark.item("Performance testing", phase="Staging Testing")
@pytest.mark.env("staging")
def test_staging_perf(target):
    pass
"""


def signoffs() -> str:
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return (
        "signoffs:\n  - item: Change approval\n    who: Dana Ops\n    role: change-management\n"
        f"    when: {when}\n    release: v2.0.0\n    environment: production\n"
        "    ticket: CHG-4711\n"
    )


class _Collect(HTMLParser):
    """Elements with an id or data-state, and every URL the page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.states: dict[str, str] = {}
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-state") and a.get("id"):
            self.states[str(a["id"])] = str(a["data-state"])
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.loads.append(str(a["src"]))
        if tag == "link" and a.get("href"):
            self.loads.append(str(a["href"]))


def run(project: pytest.Pytester, fail: bool, *args: str) -> tuple[pytest.RunResult, str]:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(test_suite=f"FAIL = {fail}\n" + SUITE)
    project.makefile(".yaml", signoffs=signoffs())
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--signoffs", "signoffs.yaml", *args
    )
    page = (project.path / "reports" / "gonogo.html").read_text(encoding="utf-8")
    return result, page


def item_states(page: str) -> dict[str, str]:
    parser = _Collect()
    parser.feed(page)
    return parser.states


def test_go_run_writes_a_self_contained_report_with_the_verdict(project: pytest.Pytester) -> None:
    result, page = run(project, False)
    assert result.ret == 0
    assert 'data-verdict="GO"' in page
    assert "v1.0.0 → v2.0.0" in page
    assert "gonogo — shop v2.0.0 (production)" in page
    records = str(project.path / "reports" / "records")
    assert f"<dt>Run records</dt><dd>directory {records}: this run&#x27;s record" in page
    parser = _Collect()
    parser.feed(page)
    external = [u for u in parser.loads if not u.startswith("data:")]
    assert external == [], f"the report loads {external}"
    assert "<style" in page and "gonogo-banner" in page
    assert not (project.path / "reports" / "assets").exists()


def test_every_item_appears_in_checklist_order_with_its_state(project: pytest.Pytester) -> None:
    _, page = run(project, False, "--rollback=auto")
    states = item_states(page)
    # MINI_CHECKLIST item indices: 0 Change approval, 1 Backup verification, 2 Cluster healthy,
    # 3 Performance testing (pre-deploy), 4 System health check, 5 Deploy services,
    # 6 Performance testing (staging), 7 Rollback..., 8 Service health checks, 9 Immediate Response
    assert states == {
        "item-0": "signed_off",
        "item-1": "not_run",
        "item-2": "passed",
        "item-3": "passed",
        "item-6": "not_applicable",
        "item-4": "passed",
        "item-5": "dry_run",
        "item-8": "passed",
        "item-7": "not_run",
        "item-9": "not_run",
    }
    order = [m.group(1) for m in re.finditer(r'<li id="(item-\d+)"', page)]
    # timeline order: pre-deploy, staging, T-30, T-10, T+10, then the remedial stages
    assert order == [f"item-{n}" for n in (0, 1, 2, 3, 6, 4, 5, 8, 7, 9)]


def test_no_go_report_shows_gate_blocked_items_rollback_steps_and_signoffs(
    project: pytest.Pytester,
) -> None:
    result, page = run(project, True, "--rollback=auto", "--execute")
    assert result.ret == 1
    assert 'data-verdict="NO-GO"' in page
    states = item_states(page)
    assert states["item-5"] == "failed"
    assert states["item-8"] == "blocked"
    gate = page[page.index('id="gonogo-gates"') : page.index('id="gonogo-timeline"')]
    assert "Gate closed: Phase 2 (T-10)" in gate
    assert "Service health checks" in gate  # what it blocked
    assert "deployment/web</td><td>3</td><td>2</td><td>rolled back</td><td>0.2 s" in gate
    assert gate.index("deployment/web") < gate.index("deployment/api") < gate.index("deployment/db")
    failed_item = page[page.index('id="item-5"') : page.index('id="item-8"')]
    assert '<details class="evidence" open>' in failed_item
    assert "error rate 20.0 % &gt; 5 % for web" in failed_item
    assert "20.00%" in failed_item and "over limit" in failed_item
    signoffs = page[page.index('id="gonogo-signoffs"') :]
    assert "Dana Ops" in signoffs and "change-management" in signoffs and "CHG-4711" in signoffs


def test_timeline_and_load_chart_are_inline_svg(project: pytest.Pytester) -> None:
    _, page = run(project, False)
    timeline = page[page.index('id="gonogo-timeline"') : page.index('id="gonogo-checklist"')]
    assert '<svg class="gonogo-timeline"' in timeline
    for phase in ("Readiness", "Phase 1 (T-30)", "Phase 2 (T-10)"):
        assert phase in timeline
    assert "T-30</text>" in timeline and "T-10</text>" in timeline
    load = page[page.index('id="gonogo-load"') :]
    assert '<svg class="gonogo-chart"' in load and "<polyline" in load
    assert "Performance testing: baseline load" in load


def test_results_table_gets_item_and_phase_columns_and_evidence_extras(
    project: pytest.Pytester,
) -> None:
    _, page = run(project, False)
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    import html as html_lib

    data = json.loads(html_lib.unescape(blob.group(1)))
    rows = {nodeid: tests[0] for nodeid, tests in data["tests"].items()}
    cluster = rows["test_suite.py::test_cluster[shop]"]
    assert '<td class="col-item">Cluster healthy</td>' in cluster["resultsTableRow"]
    assert any("node-2" in e["content"] for e in cluster["extras"] if e["format_type"] == "html")
    assert "Checklist item</th>" in page


def test_user_paths_are_respected_and_nothing_is_written_without_a_target(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = project.runpytest()
    assert result.ret == 0
    assert not (project.path / "reports").exists()
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(test_suite="FAIL = False\n" + SUITE)
    project.makefile(".yaml", signoffs=signoffs())
    result = project.runpytest(
        "--target",
        "target.yaml",
        "--env",
        "production",
        "--signoffs",
        "signoffs.yaml",
        "--html",
        "out/mine.html",
        "--junitxml",
        "out/mine.xml",
        "--reports-dir",
        "elsewhere",
    )
    assert result.ret == 0
    assert (project.path / "out" / "mine.html").is_file()
    assert (project.path / "out" / "mine.xml").is_file()
    assert (project.path / "elsewhere" / "checklist.md").is_file()
    assert not Path(project.path / "elsewhere" / "gonogo.html").exists()


def test_reports_are_written_by_the_xdist_controller_only(project: pytest.Pytester) -> None:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(test_suite="FAIL = True\n" + SUITE)
    project.makefile(".yaml", signoffs=signoffs())
    result = project.runpytest_subprocess(
        "-n",
        "2",
        "--target",
        "target.yaml",
        "--env",
        "production",
        "--signoffs",
        "signoffs.yaml",
        "--rollback=auto",
        "--execute",
    )
    assert result.ret == 1
    page = (project.path / "reports" / "gonogo.html").read_text(encoding="utf-8")
    states = item_states(page)
    assert states["item-5"] == "failed" and states["item-6"] == "not_applicable"
    assert "rolled back" in page
    assert sorted(p.name for p in (project.path / "reports").iterdir()) == [
        "checklist.md",
        "gonogo.html",
        "junit-production.xml",
        "records",
    ]
    assert len(list((project.path / "reports" / "records").iterdir())) == 1
