"""Four eyes: where an environment requires approval, the person who runs the
release cannot also be the one who approved it."""

from __future__ import annotations

import getpass

import pytest
from gonogo.engine.settings import OPERATOR_SOURCES, resolve_operator

from tests.support.mini_project import MINI_TARGET
from tests.unit.test_signoffs_and_rollback import MANUAL_SUITE, signoffs

RUN = ("--target", "target.yaml", "--signoffs", "signoffs.yaml")


@pytest.fixture
def manual(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The mini project with one manual item signed off by Dana Ops, and no
    operator in the environment (a CI runner's would otherwise leak in)."""
    for name in OPERATOR_SOURCES:
        monkeypatch.delenv(name, raising=False)
    project.makepyfile(test_manual=MANUAL_SUITE)
    project.makefile(".yaml", signoffs=signoffs())
    return project


def test_operator_who_signed_off_fails_the_item_in_production(manual: pytest.Pytester) -> None:
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "  dana OPS ")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*'Change approval': the person who runs the release cannot approve it (four eyes): "
            "Dana Ops signed off (line 2) and dana OPS runs the release; another approver "
            "records it with gonogo signoff*",
            "NO-GO*",
        ]
    )


def test_operator_from_environment_counts_too(
    manual: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_OPERATOR", "Dana Ops")
    result = manual.runpytest(*RUN, "--env", "production")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*cannot approve it (four eyes)*"])


def test_another_approver_passes_and_the_summary_names_both(manual: pytest.Pytester) -> None:
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "Sam Release")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*sign-offs*",
            "release run by Sam Release",
            "Change approval: Dana Ops (change-management) at *, CHG-4711",
            "GO*",
        ]
    )


def test_self_approval_allowed_by_the_environment_passes(manual: pytest.Pytester) -> None:
    manual.makefile(
        ".yaml",
        target=MINI_TARGET.replace(
            "approval: {required: true, role: change-management}",
            "approval: {required: true, role: change-management, self_approval: true}",
        ),
    )
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "Dana Ops")
    assert result.ret == 0


def test_environment_without_required_approval_is_unaffected(manual: pytest.Pytester) -> None:
    manual.makefile(".yaml", signoffs=signoffs(environment="development"))
    result = manual.runpytest(*RUN, "--env", "development", "--operator", "Dana Ops")
    assert result.ret == 0


def test_unknown_operator_fails_closed(
    manual: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_user() -> str:
        raise OSError("no login name")

    monkeypatch.setattr(getpass, "getuser", no_user)
    result = manual.runpytest(*RUN, "--env", "production")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*four eyes cannot be checked: pass --operator NAME*", "NO-GO*"])


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (
            "opt",
            {"GONOGO_OPERATOR": "g", "GITHUB_ACTOR": "gh", "GITLAB_USER_LOGIN": "gl"},
            "opt",
        ),
        (None, {"GONOGO_OPERATOR": "g", "GITHUB_ACTOR": "gh", "GITLAB_USER_LOGIN": "gl"}, "g"),
        (None, {"GITHUB_ACTOR": "gh", "GITLAB_USER_LOGIN": "gl"}, "gh"),
        (None, {"GITLAB_USER_LOGIN": "gl"}, "gl"),
        (None, {"GONOGO_OPERATOR": "  "}, "os-user"),
        (None, {}, "os-user"),
    ],
)
def test_operator_resolution_order(
    monkeypatch: pytest.MonkeyPatch, option: str | None, environ: dict[str, str], expected: str
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "os-user")
    assert resolve_operator(option, environ) == expected


def test_operator_is_none_when_no_user_can_be_told(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise KeyError("uid 1234")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert resolve_operator(None, {}) is None


def test_html_report_shows_who_ran_the_release_beside_the_approver(
    manual: pytest.Pytester,
) -> None:
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "Sam Release")
    assert result.ret == 0
    page = (manual.path / "reports" / "gonogo.html").read_text(encoding="utf-8")
    signoffs = page[page.index('id="gonogo-signoffs"') :]
    assert "<th>Release run by</th>" in signoffs
    assert "<td>Dana Ops</td>" in signoffs and "<td>Sam Release</td>" in signoffs


UNTARGETED = MANUAL_SUITE.replace(
    "def test_change_approval(target, signoff):", "def test_change_approval(signoff):"
)


def test_a_signoff_check_without_a_target_argument_is_about_the_runs_one_target(
    manual: pytest.Pytester,
) -> None:
    manual.makepyfile(test_manual=UNTARGETED)
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "Sam Release")
    assert result.ret == 0, result.stdout.str()
    result = manual.runpytest(*RUN, "--env", "production", "--operator", "Dana Ops")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*cannot approve it (four eyes)*"])


def test_a_signoff_check_without_a_target_argument_is_refused_with_two_targets(
    manual: pytest.Pytester,
) -> None:
    manual.makepyfile(test_manual=UNTARGETED)
    manual.makefile(".yaml", other=MINI_TARGET.replace("name: shop", "name: shop-eu"))
    result = manual.runpytest(
        *RUN, "--target", "other.yaml", "--env", "production", "--operator", "Sam Release"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*this run checks 2: add target to the check's arguments*"])
