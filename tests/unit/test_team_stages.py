"""A team's checklist runs under its own stage names: every ``##`` heading
with items is a stage selected by its slug, ordered and gated with no
configuration; ini options rename stages and say which are remedial."""

from __future__ import annotations

import textwrap

import pytest

from tests.support.team_checklist import TEAM_CHECKLIST

SUITE = """\
import pytest

@pytest.mark.item("Smoke test")
def test_smoke():
    pass

@pytest.mark.item("Switch traffic")
def test_switch():
    pass

@pytest.mark.item("Undo the switch")
def test_undo():
    pass

@pytest.mark.item("Backups taken")
def test_backups():
    {backups}

@pytest.mark.item("Cluster is fine")
def test_cluster():
    pass
"""


@pytest.fixture
def team(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("COLUMNS", "240")
    pytester.makefile(".md", release=TEAM_CHECKLIST)
    pytester.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = release.md
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    return pytester


def ran(result: pytest.RunResult) -> list[str]:
    return [
        line.split("::")[1].split(" ")[0]
        for line in result.outlines
        if "::test_" in line and any(w in line for w in (" PASSED", " FAILED", " SKIPPED"))
    ]


def test_own_headings_are_stages_ordered_along_the_document(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    result = team.runpytest("-v", "-p", "no:randomly")
    assert result.ret == 0
    assert ran(result) == ["test_cluster", "test_backups", "test_switch", "test_smoke", "test_undo"]


def test_a_heading_slug_selects_its_stage(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    result = team.runpytest("-v", "-m", "cut_over")
    assert result.ret == 0
    assert ran(result) == ["test_switch", "test_smoke"]
    result.stdout.fnmatch_lines(["*3 deselected*"])


def test_a_failed_stage_blocks_the_next_but_not_a_remedial_one(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "assert False, 'no backup'"))
    team.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = release.md
            gonogo_remedial_stages = Back out
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    result = team.runpytest("-v")
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1
    lines = result.stdout.str()
    assert "test_switch SKIPPED" in lines and "test_smoke SKIPPED" in lines
    assert "test_undo PASSED" in lines


def test_without_the_remedial_option_a_failure_blocks_every_later_stage(
    team: pytest.Pytester,
) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "assert False, 'no backup'"))
    result = team.runpytest("-v")
    assert result.ret == 1
    assert "test_undo SKIPPED" in result.stdout.str()


def test_the_listing_shows_each_stage_marker(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    team.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = release.md
            gonogo_stage_markers =
                Back out = rollback
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    result = team.runpytest("--gonogo-checklist")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "Pre-Flight  [[]-m pre_flight[]]",
            "Cut-over (T+0)  [[]-m cut_over[]]",
            "Back out  [[]-m rollback, remedial: never blocked[]]",
        ]
    )


def test_a_mapped_marker_replaces_the_slug(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    team.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = release.md
            gonogo_stage_markers =
                Cut-over (T+0) = cutover
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    assert team.runpytest("-m", "cutover").parseoutcomes() == {"passed": 2, "deselected": 3}
    result = team.runpytest("-m", "cut_over")
    assert result.ret == 4
    assert "Unknown marker(s) in '-m' expression: cut_over" in result.stderr.str()


def test_stage_order_accepts_the_teams_markers(team: pytest.Pytester) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    team.makeini(
        textwrap.dedent(
            """\
            [pytest]
            gonogo_checklist = release.md
            gonogo_stage_order =
                cut_over
                pre_flight
            addopts = --strict-markers -p no:cacheprovider
            """
        )
    )
    result = team.runpytest("-v")
    assert ran(result)[:2] == ["test_switch", "test_smoke"]


@pytest.mark.parametrize(
    ("ini", "mentions"),
    [
        ("gonogo_stage_order = preflight", "gonogo_stage_order names preflight, no stage"),
        ("gonogo_stage_markers = Pre-Flight", "is not 'Heading = marker'"),
        ("gonogo_stage_markers = Pre-Flight = 2go", "is not 'Heading = marker'"),
        ("gonogo_stage_markers = Pre-Flight = manual", "means something else"),
    ],
)
def test_bad_stage_settings_are_one_line_usage_errors(
    team: pytest.Pytester, ini: str, mentions: str
) -> None:
    team.makepyfile(test_release=SUITE.replace("{backups}", "pass"))
    team.makeini(
        f"[pytest]\ngonogo_checklist = release.md\n{ini}\n"
        "addopts = --strict-markers -p no:cacheprovider\n"
    )
    result = team.runpytest()
    assert result.ret == 4
    assert mentions in result.stderr.str()
