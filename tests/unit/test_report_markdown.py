"""reports/checklist.md: the checklist with boxes filled, parsing as the same checklist."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo.engine.runlog import RunLog
from gonogo.engine.verdict import CheckResult, Verdict
from gonogo.model.checklist import Checklist, load_checklist, parse_checklist
from gonogo.report import markdown
from gonogo.report.model import DESELECTED_EVENT, build_view

SEED = Path(__file__).resolve().parents[2] / "docs" / "checklists.md"

SUITE = """\
import pytest

@pytest.mark.item("Cluster healthy")
def test_cluster(target):
    pass

@pytest.mark.item("System health check")
def test_health(target):
    assert False, "2 of 9 pods not Ready (limit 0); see kubectl get pods"

@pytest.mark.item("Deploy services")
@pytest.mark.parametrize("service", ["db", "api"])
def test_deploy(target, service):
    pass

@pytest.mark.item("Service health checks")
@pytest.mark.env("staging")
def test_post(target):
    pass
"""


def shape(checklist: Checklist) -> list[tuple[str, str, str, str, str | None, int]]:
    return [
        (
            i.stage.title,
            i.phase.title if i.phase else "",
            i.title,
            i.kind,
            i.parent.title if i.parent else None,
            len(i.commands),
        )
        for i in checklist.all_items()
    ]


def test_run_fills_boxes_and_round_trips(project: pytest.Pytester) -> None:
    project.makepyfile(test_suite=SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["gonogo: wrote *reports/checklist.md"])
    text = (project.path / "reports" / "checklist.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith(
        "> **gonogo verdict: NO-GO** — environment production, shop v1.0.0 → v2.0.0"
    )
    assert "- [x] **Cluster healthy**" in lines
    assert "- [!] **System health check**" in lines
    assert "- [ ] **Deploy services**" in lines  # blocked: not run
    assert "- [-] **Service health checks**" in lines
    assert "- [ ] **Backup verification** - Backups tested" in lines
    failed = lines.index("- [!] **System health check**")
    assert lines[failed + 1].startswith(
        "  > **failed** — 1 test; AssertionError: 2 of 9 pods not Ready"
    )
    assert "gonogo.html#item-4" in lines[failed + 1]
    blocked = lines.index("- [ ] **Deploy services**")
    assert lines[blocked + 1] == (
        "  > **blocked by a gate** — 2 tests; blocked by Phase 1 (T-30): System health check"
        " · [evidence](gonogo.html#item-5)"
    )
    assert lines[blocked + 2] == "  ```bash", "the item's code block stays under it"
    original = load_checklist(project.path / "checklist.md")
    assert shape(parse_checklist(text)) == shape(original)


def _seed_view(checklist: Checklist) -> tuple[Verdict, dict[int, str]]:
    """A verdict touching every kind of item of the seed: passed, failed,
    blocked, signed off, a sub-item, an emergency step, and a deselected one."""
    items = list(checklist.all_items())
    picks = {0: "passed", 3: "failed", 10: "blocked", 20: "passed", len(items) - 1: "passed"}
    sub = next(i for i in items if i.parent is not None)
    picks[sub.index] = "passed"
    results = [
        CheckResult(
            nodeid=f"t::{n}",
            binding={"index": n, "title": items[n].title, "target": "sophia"},
            outcome=outcome,
            message="blocked by Phase 1 (T-30): x" if outcome == "blocked" else "",
        )
        for n, outcome in picks.items()
    ]
    runlog = RunLog()
    runlog.add(DESELECTED_EVENT, target="sophia", index=5, nodeid="t::5", why="env")
    return Verdict(targets=[], results=results, runlog=runlog), picks


def test_seed_checklist_round_trips_with_every_item() -> None:
    checklist = load_checklist(SEED)
    verdict, _ = _seed_view(checklist)
    view = build_view(
        verdict,
        checklist,
        stage_order=None,
        targets={},
        environment="production",
        kube_context=None,
    )
    text = markdown.render(view, SEED.read_text(encoding="utf-8"), "gonogo.html")
    again = parse_checklist(text)
    assert shape(again) == shape(checklist)
    assert sum(1 for i in again.all_items() if i.kind == "checkbox") == 74
    boxes = {v.item.index: v.box for v in view.items()}
    assert boxes[0] == "x" and boxes[3] == "!" and boxes[10] == " " and boxes[5] == "-"
    lines = text.splitlines()
    for index, box in ((0, "x"), (3, "!"), (5, "-")):
        item = list(checklist.all_items())[index]
        filled = [ln for ln in lines if f"**{item.title}**" in ln and "[" in ln]
        assert any(f"[{box}]" in ln for ln in filled), (item.title, filled)
    parent = next(i for i in checklist.all_items() if i.children)
    parent_view = next(v for v in view.items() if v.item is parent)
    assert parent_view.state == "passed" and "in sub-items" in parent_view.summary()


def test_written_atomically_next_to_the_html(tmp_path: Path) -> None:
    checklist = load_checklist(SEED)
    verdict, _ = _seed_view(checklist)
    view = build_view(
        verdict, checklist, stage_order=None, targets={}, environment=None, kube_context=None
    )
    out = markdown.write(
        view, SEED, tmp_path / "r" / "checklist.md", tmp_path / "r" / "gonogo.html"
    )
    assert out.read_text(encoding="utf-8").count("](gonogo.html#item-") == 6
    assert [p.name for p in out.parent.iterdir()] == ["checklist.md"]


def test_checklist_commit_names_the_last_commit_or_unknown(tmp_path: Path) -> None:
    from gonogo.report.model import checklist_commit

    commit = checklist_commit(SEED)
    assert commit == "unknown" or (len(commit) >= 7 and int(commit, 16) >= 0)
    outside = tmp_path / "checklist.md"
    outside.write_text("# none\n", encoding="utf-8")
    assert checklist_commit(outside) == "unknown"
    assert checklist_commit(None) == "unknown"
