"""The checklist parser, on the seed and on hard cases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gonogo.errors import ConfigError
from gonogo.model.checklist import load_checklist, parse_checklist, parse_offset

SEED = Path(__file__).resolve().parents[2] / "docs" / "checklists.md"


@pytest.fixture(scope="module")
def seed():  # type: ignore[no-untyped-def]
    return load_checklist(SEED)


def test_seed_has_74_items_and_8_emergency_steps(seed) -> None:  # type: ignore[no-untyped-def]
    items = list(seed.all_items())
    assert sum(i.kind == "checkbox" for i in items) == 74
    assert [i.title for i in items if i.kind == "step"] == [
        "Immediate Response",
        "Assess Impact",
        "Execute Rollback",
        "Incident Communication",
        "Isolate Failed Service",
        "Route Traffic Around Failure",
        "Investigate and Fix",
        "Gradual Recovery",
    ]


def test_seed_stages_map_to_markers_and_follow_the_timeline(seed) -> None:  # type: ignore[no-untyped-def]
    assert [s.key for s in seed.stages] == [
        "predeploy",
        "deploy",
        "staging",
        "rollback",
        "postdeploy",
        "emergency",
    ]
    assert [s.key for s in seed.timeline()] == [
        "predeploy",
        "staging",
        "deploy",
        "postdeploy",
        "rollback",
        "emergency",
    ]
    assert [s.key for s in seed.timeline(["deploy", "predeploy"])][:2] == ["deploy", "predeploy"]
    counts = {s.key: sum(1 for _ in s.all_items()) for s in seed.stages}
    assert counts == {
        "predeploy": 18,
        "deploy": 26,
        "staging": 13,
        "rollback": 6,
        "postdeploy": 11,
        "emergency": 8,
    }


def test_seed_phase_offsets_and_short_names(seed) -> None:  # type: ignore[no-untyped-def]
    deploy = next(s for s in seed.stages if s.key == "deploy")
    assert [p.offset_minutes for p in deploy.phases] == [-30, -20, -15, -10, -5, 0, 5]
    assert deploy.phases[0].short_name == "Phase 1 (T-30)"
    post = next(s for s in seed.stages if s.key == "postdeploy")
    assert [p.short_name for p in post.phases] == [
        "Immediate Validation (T+10)",
        "Extended Validation (T+30)",
        "Business Validation (T+60)",
    ]


def test_seed_image_subitems_and_commands(seed) -> None:  # type: ignore[no-untyped-def]
    (build,) = seed.find("Build images for all services")
    assert [c.title for c in build.children] == [
        "mcp-research",
        "mcp-context",
        "mcp-agents",
        "sophia-dashboard",
        "sophia-business",
        "sophia-hubspot",
        "sophia-github",
        "sophia-lambda",
        "mcp-business",
    ]
    assert build.children[0].description == "`ghcr.io/[repo]/sophia-mcp-research:v1.1.0`"
    assert build.children[0].parent is build
    (redis,) = seed.find("Deploy Redis (cache/session store)")
    assert redis.commands == [
        "kubectl apply -f k8s-deploy/manifests/redis.yaml\n"
        "kubectl wait --for=condition=available --timeout=120s deployment/redis -n sophia"
    ]
    (comm,) = seed.find("Incident Communication")
    assert comm.notes == [
        "Notify incident response team",
        "Update status page",
        "Prepare stakeholder communication",
    ]


def test_duplicate_titles_are_found_in_both_places_and_narrowed(seed) -> None:  # type: ignore[no-untyped-def]
    assert len(seed.find("Performance testing")) == 2
    assert len(seed.find("Integration testing")) == 2
    (staging,) = seed.find("Performance testing", phase="Staging Testing Checklist")
    assert staging.stage.key == "staging"
    (pre,) = seed.find("Integration testing", stage="postdeploy")
    assert pre.phase is not None and pre.phase.offset_minutes == 30


@pytest.mark.parametrize(
    ("heading", "minutes"),
    [
        ("Phase 1: X (T-30 minutes)", -30),
        ("(T+5 minutes)", 5),
        ("T-0 minutes", 0),
        ("Business (T+1 hour)", 60),
        ("Planning and Preparation", None),
        ("Deploy (< 5 minutes)", None),
    ],
)
def test_offsets(heading: str, minutes: int | None) -> None:
    assert parse_offset(heading) == minutes


def test_hard_cases() -> None:
    text = """\
## Pre-deploy checks
- [ ] Item without bold - and its description
- [ ] Bare item
### Phase A (T-15 minutes)
- [ ] **Real item**
  ```bash
  echo "- [ ] not an item"
  ```
    - [ ] nested: child

## Notes
- [ ] **Orphan**
"""
    checklist = parse_checklist(text, Path("x.md"))
    assert [(s.marker, s.markers) for s in checklist.stages] == [
        ("pre_deploy_checks", ("pre_deploy_checks", "predeploy")),
        ("notes", ("notes",)),
    ]
    titles = [i.title for i in checklist.all_items()]
    assert titles == ["Item without bold", "Bare item", "Real item", "nested", "Orphan"]
    first = checklist.stages[0]
    assert first.phases[0].offset_minutes is None  # heading-less phase: the stage itself
    real = checklist.find("Real item")[0]
    assert real.commands == ['echo "- [ ] not an item"']
    assert real.children[0].description == "child"


def test_missing_checklist_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --checklist FILE"):
        load_checklist(tmp_path / "none.md")


@pytest.mark.parametrize(
    ("heading", "title", "short"),
    [
        ("### Phase 1: Validate (T-30 minutes) ###", "Phase 1: Validate (T-30 minutes)", None),
        ("### Immediate Validation (T+10 minutes)", None, "Immediate Validation (T+10)"),
        ("### Check (T - 5 min) again", None, "Check again (T-5)"),
        ("### Wrap up #", "Wrap up", "Wrap up"),
    ],
)
def test_headings_lose_closing_hashes_and_offsets_in_short_names(
    heading: str, title: str | None, short: str | None
) -> None:
    checklist = parse_checklist(f"## Pre-deploy\n{heading}\n- [ ] **x**\n")
    phase = next(checklist.phases())
    if title is not None:
        assert phase.title == title
    if short is not None:
        assert phase.short_name == short


@pytest.mark.parametrize(
    "line",
    [
        "### T" + " " * 1_000_000 + "x",
        "### (T" + " " * 1_000_000 + ")",
        "### " + " " * 500_000 + "#" * 1000 + " " * 500_000 + "x",
        "### T-" + "9" * 100_000,
        "### T" + " T" * 500_000,
        "- [ ] **" + "a" * 2_000_000,
    ],
    ids=["offset-spaces", "offset-parens", "closing-hashes", "offset-digits", "many-t", "bold"],
)
def test_megabyte_lines_parse_in_linear_time(line: str) -> None:
    start = time.monotonic()
    checklist = parse_checklist(f"## Pre-deploy\n{line}\n- [ ] **x**\n")
    _ = [p.short_name for p in checklist.phases()]
    assert time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"x\.md: has no checklist items; add '- \[ \] \*\*Title\*\*' lines"),
        (b"# Notes\nprose only\n", "has no checklist items"),
        (b"## Pre-deploy\n### Planning\n", "has no checklist items"),
        (b"## Pre-deploy\n- [ ] a\n- [ ] \xff\n", r"x\.md:3: not UTF-8 text \(byte 0xff\)"),
        (
            b"## Pre-deploy\n- [ ] **A**\n- [ ] **a**\n",
            r"x\.md:3: item 'a' repeats the item of line 2 in phase 'Pre-deploy'",
        ),
        ((b"## " + b"n" * 10_000 + b"\n- [ ] a\n") * 2, r"stages 'n{79}…' \(line 1\) and"),
    ],
    ids=["empty", "prose", "headings", "latin1", "repeated", "long-stage-title"],
)
def test_an_unusable_checklist_file_is_one_config_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "x.md"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_checklist(path)
    assert "\n" not in str(caught.value)


def test_a_directory_is_not_a_checklist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a checklist; pass --checklist FILE"):
        load_checklist(tmp_path)


def test_a_byte_order_mark_is_not_part_of_the_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_bytes(b"\xef\xbb\xbf## Pre-deploy\n- [ ] **A**\n")
    assert [s.key for s in load_checklist(path).stages] == ["predeploy"]
