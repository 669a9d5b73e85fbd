"""Bad checklists, tried as a user would: ``pytest -m predeploy --target
targets/sandbox.yaml --env production --checklist=FILE``.

The checklist is loaded once, before anything runs: each way it can be
unusable is one line naming the file (and line) and the fix, exit 4, no
traceback, no canary and no report, never a collection error per test
module. Files built to be slow to parse (megabyte lines) are timed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.clean_failure import CHECKLIST, ROOT, SANDBOX_TARGET, assert_clean_failure, run

TARGET = str(SANDBOX_TARGET.relative_to(ROOT))
MEGABYTE = 1_000_000


@dataclass(frozen=True)
class Case:
    id: str
    write: Callable[[Path], None]
    """Writes the checklist at the given path (or makes it something else)."""
    mentions: tuple[str, ...]
    """``{file}`` is the checklist's path."""
    max_seconds: float | None = None


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def raw(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


def real_checklist_with(edit: Callable[[str], str]) -> Callable[[Path], None]:
    return lambda path: path.write_text(edit(CHECKLIST.read_text(encoding="utf-8")))


NO_ITEMS = ("{file}: has no checklist items", "add '- [ ] **Title**' lines under a stage heading")

CASES = [
    Case("empty", text(""), NO_ITEMS),
    Case("whitespace-only", text("\n   \n\t\n"), NO_ITEMS),
    Case(
        "prose-only",
        text("# Release checklist\n\nWe check everything before we deploy.\nReally.\n"),
        NO_ITEMS,
    ),
    Case(
        "headings-only",
        text("# Checklist\n## Pre-Deployment Checklist\n### Planning\n## Production Deployment\n"),
        NO_ITEMS,
    ),
    Case(
        "items-before-any-stage",
        text("# Checklist\n- [ ] **Change approval**\n- [ ] **Backups**\n"),
        NO_ITEMS,
    ),
    Case(
        "table-of-contents-only",
        text("# Checklist\n## Contents\n1. Pre-deployment\n2. Deployment\n"),
        NO_ITEMS,
    ),
    Case(
        "plain-bullets-only",
        text("## Pre-Deployment Checklist\n### Planning\n- change approval\n- backups\n"),
        NO_ITEMS,
    ),
    Case(
        "not-utf8-latin1",
        raw("## Pre-Deployment Checklist\n### Planning\n- [ ] **Änderung**\n".encode("latin-1")),
        ("{file}:3: not UTF-8 text (byte 0xc4)", "save the checklist as UTF-8"),
    ),
    Case(
        "utf16",
        raw("## Pre-Deployment Checklist\n- [ ] **Change approval**\n".encode("utf-16")),
        ("{file}:1: not UTF-8 text", "save the checklist as UTF-8"),
    ),
    Case(
        "binary",
        raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        ("{file}:1: not UTF-8 text (byte 0x89)", "UTF-8"),
    ),
    Case(
        "two-stages-one-marker",
        text("## Things to do\n- [ ] **Change approval**\n## Things: to do!\n- [ ] **Other**\n"),
        (
            "{file}:3: stages 'Things to do' (line 1) and 'Things: to do!' share the marker "
            "'things_to_do'",
            "gonogo_stage_markers",
        ),
    ),
    Case(
        "stage-named-like-a-gonogo-marker",
        real_checklist_with(lambda t: t.replace("## Pre-Deployment Checklist", "## Manual", 1)),
        ("stage 'Manual' would be selected with -m manual", "gonogo_stage_markers"),
    ),
    Case(
        "duplicate-title-in-a-phase",
        text(
            "## Pre-Deployment Checklist\n### Planning\n- [ ] **Change approval**\n"
            "- [ ] **Backups**\n- [ ] **change  approval** - again\n"
        ),
        ("{file}:5: item 'change  approval' repeats the item of line 3", "its own title"),
    ),
    Case(
        "duplicate-sub-item-in-a-phase",
        text(
            "## Pre-Deployment Checklist\n### Planning\n- [ ] **Backups**\n  - [ ] **Verify**\n"
            "- [ ] **Restore**\n  - [ ] **Verify**\n"
        ),
        ("{file}:6: item 'Verify' repeats the item of line 4", "its own title"),
    ),
    Case(
        "missing",
        lambda path: None,
        ("{file}: checklist file not found", "pass --checklist FILE"),
    ),
    Case(
        "directory",
        lambda path: path.mkdir(),
        ("{file}: is a directory, not a checklist", "pass --checklist FILE"),
    ),
    Case(
        "huge-prose-line",
        text("# Checklist\n" + "word " * (2 * MEGABYTE) + "\n"),
        NO_ITEMS,
        max_seconds=30,
    ),
    Case(
        "huge-heading-of-spaces",
        text("## Pre-Deployment Checklist\n### T" + " " * MEGABYTE + "x\n"),
        NO_ITEMS,
        max_seconds=30,
    ),
    Case(
        "huge-stage-title",
        text(("## " + "a" * MEGABYTE + "\n### Planning\n- [ ] **Change approval**\n") * 2),
        ("{file}:4: stages 'aaaa", "…' share the marker 'aaaa"),
        max_seconds=30,
    ),
    Case(
        "huge-offset-number",
        text("## Pre-Deployment Checklist\n### Phase 1 (T-" + "9" * 100_000 + " minutes)\n"),
        NO_ITEMS,
        max_seconds=30,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_an_unusable_checklist_is_one_line_exit_4_before_anything_runs(
    case: Case, tmp_path: Path
) -> None:
    checklist = tmp_path / "input-checklist.md"
    case.write(checklist)
    outcome = run(
        [
            "pytest",
            "-m",
            "predeploy",
            "--target",
            TARGET,
            "--env",
            "production",
            f"--checklist={checklist}",
        ],
        tmp_path,
        timeout=90,
    )
    mentions = tuple(m.replace("{file}", str(checklist)) for m in case.mentions)
    assert_clean_failure(outcome, exit_code=4, mentions=mentions, max_seconds=case.max_seconds)
    errors = [line for line in outcome.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, f"not one error line:\n{outcome.output[-3000:]}"
    assert len(errors[0]) < 600, f"the error line is {len(errors[0])} characters long"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != checklist]
    assert not written, f"a refused checklist wrote {written}"


def test_the_ini_files_checklist_missing_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    outcome = run(
        ["pytest", "-m", "predeploy", "--target", TARGET, "-o", "gonogo_checklist=docs/none.md"],
        tmp_path,
    )
    assert_clean_failure(
        outcome,
        exit_code=4,
        mentions=(f"{ROOT}/docs/none.md: checklist file not found", "gonogo_checklist"),
    )


def test_a_checklist_saved_with_a_byte_order_mark_still_reads(tmp_path: Path) -> None:
    """Editors on some systems save UTF-8 with a BOM; its first heading must
    not be lost to it."""
    checklist = tmp_path / "input-checklist.md"
    checklist.write_bytes(b"\xef\xbb\xbf" + CHECKLIST.read_bytes())
    outcome = run(
        [
            "pytest",
            "-m",
            "predeploy",
            "--target",
            TARGET,
            "--env",
            "production",
            f"--checklist={checklist}",
            "--collect-only",
            "-q",
        ],
        tmp_path,
    )
    assert outcome.exit_code == 0, outcome.output[-3000:]
    assert "tests collected" in outcome.stdout
    assert "error" not in outcome.stdout.lower()
