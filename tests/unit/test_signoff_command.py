"""``gonogo signoff``: a sign-off recorded from the command line, checked
against the checklist, appended to the file the gate reads."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from gonogo.cli import main
from gonogo.engine.settings import OPERATOR_SOURCES
from gonogo.model.signoffs import DEFAULT_VALIDITY, load_signoffs

from tests.unit.test_signoffs_and_rollback import MANUAL_SUITE


def signoff(path: Path, checklist: Path, *extra: str, item: str = "Change approval") -> list[str]:
    return [
        "signoff",
        "--signoffs",
        str(path),
        "--checklist",
        str(checklist),
        "--item",
        item,
        "--who",
        "Dana Ops",
        "--role",
        "change-management",
        "--release",
        "v2.0.0",
        "--environment",
        "production",
        *extra,
    ]


@pytest.fixture
def checklist(project: pytest.Pytester) -> Path:
    return project.path / "checklist.md"


def test_records_a_new_file_privately_and_prints_the_entry(
    project: pytest.Pytester, checklist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project.path / "records" / "signoffs.yaml"
    assert main(signoff(path, checklist, "--ticket", "CHG-4711", "--item", "change  APPROVAL")) == 0
    (entry,) = load_signoffs(path)
    assert (entry.item, entry.who, entry.ticket, entry.link) == (
        "Change approval",
        "Dana Ops",
        "CHG-4711",
        None,
    )
    assert entry.expires - entry.when == DEFAULT_VALIDITY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert "item: Change approval" in out and "ticket: CHG-4711" in out


def test_appends_and_keeps_entries_and_comments(project: pytest.Pytester, checklist: Path) -> None:
    path = project.path / "signoffs.yaml"
    path.write_text(
        "# approvals for the v2 release\n"
        "signoffs:\n"
        "  - item: Backup verification   # checked by hand\n"
        "    who: Sam\n    role: change-management\n    when: 2026-11-27T01:40:00Z\n"
        "    release: v2.0.0\n    environment: production\n    ticket: CHG-1\n"
    )
    assert main(signoff(path, checklist, "--link", "https://chg/2", "--expires", "12h")) == 0
    text = path.read_text()
    assert text.startswith("# approvals for the v2 release\n")
    assert "# checked by hand" in text
    first, second = load_signoffs(path)
    assert (first.item, first.who) == ("Backup verification", "Sam")
    assert (second.item, second.link, second.ticket) == ("Change approval", "https://chg/2", None)
    assert (second.expires - second.when).total_seconds() == 12 * 3600


def test_unknown_title_is_refused_naming_the_nearest(
    project: pytest.Pytester, checklist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project.path / "signoffs.yaml"
    assert main(signoff(path, checklist, "--ticket", "C-1", item="Change aproval")) == 4
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--item 'Change aproval': no such item in the checklist; did you mean " in err
    assert "'Change approval'" in err
    assert not path.exists()


@pytest.mark.parametrize(
    ("extra", "given"),
    [((), "neither"), (("--ticket", "C-1", "--link", "https://chg/1"), "both")],
)
def test_exactly_one_of_ticket_and_link(
    project: pytest.Pytester,
    checklist: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    given: str,
) -> None:
    path = project.path / "signoffs.yaml"
    assert main(signoff(path, checklist, *extra)) == 4
    err = capsys.readouterr().err.strip()
    assert err == (
        f"gonogo: {given} of --ticket and --link given; pass exactly one, naming the "
        "approval record"
    )
    assert not path.exists()


def test_expiry_before_when_is_refused(
    project: pytest.Pytester, checklist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = project.path / "signoffs.yaml"
    args = ("--ticket", "C-1", "--when", "2026-11-27T01:40:00Z", "--expires", "2026-11-26T00:00Z")
    assert main(signoff(path, checklist, *args)) == 4
    assert "is not after --when" in capsys.readouterr().err


def test_the_run_reads_the_recorded_signoff(
    project: pytest.Pytester, checklist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in OPERATOR_SOURCES:
        monkeypatch.delenv(name, raising=False)
    path = project.path / "signoffs.yaml"
    assert main(signoff(path, checklist, "--ticket", "CHG-4711")) == 0
    project.makepyfile(test_manual=MANUAL_SUITE)
    args = ("--target", "target.yaml", "--env", "production", "--signoffs", str(path))
    result = project.runpytest(*args, "--operator", "Sam Release")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["Change approval: Dana Ops (change-management) at *, CHG-4711"])
