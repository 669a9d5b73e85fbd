"""With ``-m``, a module or folder whose checks all belong to stages the
expression cannot select is never imported; anything the source does not
show for sure is imported as before."""

from __future__ import annotations

import textwrap

import pytest

from tests.support.team_checklist import TEAM_CHECKLIST

LOUD = "import pathlib\npathlib.Path('imported-{name}').touch()\n"

PRE_FLIGHT = """\
import pytest

@pytest.mark.item("Cluster is fine")
def test_cluster():
    pass

@pytest.mark.item("Backups taken", stage="Pre-Flight")
@pytest.mark.parametrize("n", [1, 2])
def test_backups(n):
    pass
"""

CUT_OVER = """\
import pytest

@pytest.mark.item("Switch traffic")
def test_switch():
    pass

@pytest.mark.item("Smoke test")
@pytest.mark.mutating
def test_smoke():
    pass
"""


@pytest.fixture
def team(pytester: pytest.Pytester) -> pytest.Pytester:
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
    for folder, body in (("pre_flight", PRE_FLIGHT), ("cut_over", CUT_OVER)):
        d = pytester.mkdir(folder)
        (d / "conftest.py").write_text(LOUD.format(name=f"{folder}-conftest"))
        (d / f"test_{folder}.py").write_text(LOUD.format(name=folder) + body)
    return pytester


def imported(team: pytest.Pytester) -> set[str]:
    return {p.name.removeprefix("imported-") for p in team.path.glob("imported-*")}


def test_a_stage_selection_never_imports_the_other_stages(team: pytest.Pytester) -> None:
    result = team.runpytest("-m", "pre_flight")
    assert result.parseoutcomes() == {"passed": 3}
    assert imported(team) == {"pre_flight", "pre_flight-conftest"}


def test_a_negated_selection_prunes_what_it_excludes(team: pytest.Pytester) -> None:
    result = team.runpytest("-m", "not cut_over")
    assert result.parseoutcomes() == {"passed": 3}
    assert "cut_over" not in imported(team)


def test_a_marker_the_source_may_not_show_keeps_the_module(team: pytest.Pytester) -> None:
    result = team.runpytest("-m", "pre_flight or mutating")
    assert result.parseoutcomes() == {"passed": 4, "deselected": 1}
    assert imported(team) == {"pre_flight", "pre_flight-conftest", "cut_over", "cut_over-conftest"}


def test_an_unreadable_binding_keeps_the_module(team: pytest.Pytester) -> None:
    (team.path / "cut_over" / "test_more.py").write_text(
        "import pytest\nTITLE = 'Smoke ' + 'test'\n\n"
        "@pytest.mark.item(TITLE)\ndef test_again():\n    pass\n"
    )
    (team.path / "cut_over" / "test_plain.py").write_text(
        LOUD.format(name="plain") + "def test_unbound():\n    pass\n"
    )
    result = team.runpytest("-m", "pre_flight")
    assert result.parseoutcomes() == {"passed": 3, "deselected": 2}
    # the folder stays (two modules need importing), its prunable module goes
    assert imported(team) == {"pre_flight", "pre_flight-conftest", "cut_over-conftest", "plain"}


def test_constants_and_parametrized_items_with_a_stage_are_read(team: pytest.Pytester) -> None:
    (team.path / "cut_over" / "test_more.py").write_text(
        "import pytest\nTITLE = 'Smoke test'\nSTAGE = 'Cut-over (T+0)'\n\n"
        "@pytest.mark.item(TITLE)\ndef test_again():\n    pass\n\n"
        "@pytest.mark.parametrize('t', [pytest.param(t, marks=pytest.mark.item(t, stage=STAGE))"
        " for t in ('Switch traffic', 'Smoke test')])\ndef test_each(t):\n    pass\n"
    )
    result = team.runpytest("-m", "pre_flight")
    assert result.parseoutcomes() == {"passed": 3}
    assert imported(team) == {"pre_flight", "pre_flight-conftest"}


def test_a_stage_marker_written_by_hand_is_honoured(team: pytest.Pytester) -> None:
    (team.path / "cut_over" / "test_more.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.pre_flight\n@pytest.mark.item('Smoke test')\ndef test_odd():\n    pass\n"
    )
    result = team.runpytest("-m", "pre_flight")
    assert result.parseoutcomes() == {"passed": 4}
    assert imported(team) == {"pre_flight", "pre_flight-conftest", "cut_over-conftest"}


def test_without_m_everything_is_collected(team: pytest.Pytester) -> None:
    result = team.runpytest()
    assert result.parseoutcomes() == {"passed": 5}
    assert len(imported(team)) == 4
