"""Sign-offs for manual items and the rollback contract, proven with pytester."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.mini_project import DEPLOY_SUITE

MANUAL_SUITE = """\
import pytest

@pytest.mark.item("Change approval")
@pytest.mark.manual
def test_change_approval(target, signoff):
    if signoff is not None:
        assert signoff.ticket, "a production sign-off names its ticket"
"""


def signoffs(**overrides: str) -> str:
    now = datetime.now(UTC)
    entry = {
        "item": "Change approval",
        "who": "Dana Ops",
        "role": "change-management",
        "when": (now - timedelta(hours=1)).isoformat(),
        "release": "v2.0.0",
        "environment": "production",
        "ticket": "CHG-4711",
    }
    entry.update(overrides)
    lines = [f"{k}: {v}" for k, v in entry.items()]
    return "signoffs:\n  - " + "\n    ".join(lines) + "\n"


def test_manual_item_fails_without_signoff_where_approval_is_required(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_manual=MANUAL_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*no valid sign-off for 'Change approval' (release v2.0.0, production); production "
            "requires change-management approval: add an entry to a sign-off file (--signoffs FILE)*",
            "NO-GO — Planning failed: 1 check*",
        ]
    )


def test_manual_item_passes_with_valid_signoff_and_summary_names_who(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_manual=MANUAL_SUITE)
    project.makefile(".yaml", signoffs=signoffs())
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--signoffs", "signoffs.yaml"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*sign-offs*",
            "Change approval: Dana Ops (change-management) at *, CHG-4711",
            "GO — 1 checks passed, 1 signed off; scope: *",
        ]
    )


@pytest.mark.parametrize(
    ("override", "refusal"),
    [
        ({"release": "v1.9.0"}, "for release v1.9.0, not v2.0.0"),
        ({"environment": "staging"}, "for staging, not production"),
        ({"expires": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}, "expired at"),
        ({"when": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, "dated in the future"),
    ],
)
def test_signoff_for_another_release_env_or_time_is_refused_with_reason(
    project: pytest.Pytester, override: dict[str, str], refusal: str
) -> None:
    project.makepyfile(test_manual=MANUAL_SUITE)
    project.makefile(".yaml", signoffs=signoffs(**override))
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--signoffs", "signoffs.yaml"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"*refused: line 2: {refusal}*"])


def test_development_needs_no_signoff(project: pytest.Pytester) -> None:
    project.makepyfile(test_manual=MANUAL_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "development")
    assert result.ret == 0


def test_bad_signoff_file_exits_4_with_line(project: pytest.Pytester) -> None:
    project.makefile(".yaml", signoffs="signoffs:\n  - item: Change approval\n    who: Dana\n")
    result = project.runpytest("--signoffs", "signoffs.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*signoffs.yaml:2: sign-off is missing role, when, release, environment*"]
    )


ROLLBACK_CONFTEST = """\
import time
import pytest
from gonogo.model.rollback import RollbackStep

CALLS = []

@pytest.hookimpl(tryfirst=True)
def pytest_gonogo_rollback_plan(target, environment, failure, settings):
    return None  # defer to gonogo's default plan, built from the target

def pytest_gonogo_rollback(plan, target, environment, settings):
    CALLS.append([s.deployment for s in plan.steps])
    return [
        RollbackStep(s.deployment, 2, 1, f"rolled back, verified on {s.to_release}", 0.01)
        for s in plan.steps
    ]

def pytest_gonogo_gate_closed(target_id, phase, failed):
    print(f"GATE CLOSED {target_id} {phase.short_name} {failed}")
"""


@pytest.mark.parametrize(
    ("mode", "status"),
    [
        (
            "plan",
            "rollback: triggered (error rate for web 20.0% > 5.0%), planned, not executed: "
            "3 deployments would be rolled back (pass --rollback=auto --execute)",
        ),
        (
            "auto",
            "rollback: triggered (error rate for web 20.0% > 5.0%), rolled back: 3 deployments, "
            "verified on v1.0.0",
        ),
        ("off", "rollback: triggered (error rate for web 20.0% > 5.0%), off (--rollback=off)"),
    ],
)
def test_rollback_modes(project: pytest.Pytester, mode: str, status: str) -> None:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest(
        "-s", "--target", "target.yaml", "--env", "production", f"--rollback={mode}"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [f"NO-GO — Phase 2 (T-10) failed: 1 check; 1 checks blocked; {status}; scope: *"]
    )
    out = result.stdout.str()
    assert "GATE CLOSED shop Phase 2 (T-10) ['Deploy services [web]']" in out
    if mode == "off":
        assert "rollback plan for" not in out
    else:
        # reverse dependency order, back to the previous release
        result.stdout.fnmatch_lines(
            [
                "rollback plan for shop: v2.0.0 -> v1.0.0",
                "  1. deployment/web -n shop -> v1.0.0",
                "  2. deployment/api -n shop -> v1.0.0",
                "  3. deployment/db -n shop -> v1.0.0",
            ]
        )
    if mode == "auto":
        result.stdout.fnmatch_lines(["  deployment/web: revision 2 -> 1: rolled back*"])
    else:
        assert "revision 2 -> 1" not in out


def test_development_never_rolls_back_automatically(project: pytest.Pytester) -> None:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "development", "--rollback=auto")
    result.stdout.fnmatch_lines(["NO-GO — * rollback: not triggered; scope: *"])


def test_predeploy_failure_does_not_trigger_rollback(project: pytest.Pytester) -> None:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(
        test_pre=textwrap.dedent(
            """\
            import pytest

            @pytest.mark.item("Cluster healthy")
            def test_cluster(target):
                assert False
            """
        )
    )
    result = project.runpytest("--target", "target.yaml", "--env", "production", "--rollback=auto")
    result.stdout.fnmatch_lines(
        ["NO-GO — Readiness failed: 1 check; 0 checks blocked; rollback: not triggered; *"]
    )


def test_staging_rolls_back_on_any_functional_failure(project: pytest.Pytester) -> None:
    project.makeconftest(ROLLBACK_CONFTEST)
    project.makepyfile(
        test_deploy=DEPLOY_SUITE.replace(
            'evidence.measure("error_rate", 0.2, limit=0.05, service="web")\n', ""
        )
    )
    result = project.runpytest("--target", "target.yaml", "--env", "staging", "--rollback=auto")
    result.stdout.fnmatch_lines(
        [
            "NO-GO — * rollback: triggered (failed check in Phase 2 (T-10): Deploy services [[]web[]]), "
            "rolled back: 3 deployments, verified on v1.0.0*"
        ]
    )


def test_recorded_signoffs_load_back_valid_for_their_release_and_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gonogo.model.signoffs import find_signoff, load_signoffs, write_signoffs

    path = write_signoffs(
        tmp_path / "s.yaml",
        ["Change approval", "Team availability"],
        who="Dana Ops",
        role="change-management",
        release="v2.0.0",
        environment="production",
        ticket="CHG-1",
    )
    entries = load_signoffs(path)
    assert [e.item for e in entries] == ["Change approval", "Team availability"]
    found, refused = find_signoff(entries, "change approval", "v2.0.0", "production")
    assert found is not None and found.ticket == "CHG-1" and not refused
    assert find_signoff(entries, "Change approval", "v2.0.0", "staging")[0] is None


def test_recorded_signoffs_append_to_those_of_another_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gonogo.model.signoffs import find_signoff, load_signoffs, write_signoffs

    path = tmp_path / "s.yaml"
    for environment, role in (("production", "change-management"), ("staging", "technical-lead")):
        write_signoffs(
            path,
            ["Change approval"],
            who="Dana Ops",
            role=role,
            release="v2.0.0",
            environment=environment,
            ticket="CHG-1",
            append=True,
        )
    entries = load_signoffs(path)
    assert [(e.environment, e.role) for e in entries] == [
        ("production", "change-management"),
        ("staging", "technical-lead"),
    ]
    assert find_signoff(entries, "Change approval", "v2.0.0", "staging")[0] is not None
