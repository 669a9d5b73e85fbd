"""Sign-offs recorded with ``gonogo signoff`` and the four-eyes rule, the way
an approver and a release operator use them: the approver records with the
command, the operator runs the gate's manual items against the sandbox, and
the operator's own approval does not count in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from gonogo_sandbox.config import SandboxConfig

from tests.support.gate_inputs import ROLES
from tests.support.suite_runner import (
    REPO,
    failure_message,
    outcomes,
    run_gonogo,
    run_suite,
)

TARGET = str(REPO / "targets" / "sandbox.yaml")
PLANNING = str(REPO / "suites" / "predeploy" / "test_planning.py")
APPROVER = "Dana Ops"


def record(signoffs: Path, item: str, who: str, cwd: Path) -> None:
    done = run_gonogo(
        "signoff",
        "--signoffs",
        str(signoffs),
        "--item",
        item,
        "--who",
        who,
        "--role",
        ROLES["production"],
        "--release",
        "v1.1.0",
        "--environment",
        "production",
        "--ticket",
        "CHG-2001",
        "--expires",
        "12h",
        "--checklist",
        str(REPO / "docs" / "checklists.md"),
        cwd=cwd,
    )
    assert done.returncode == 0, done.output
    assert item in done.stdout and who in done.stdout


@pytest.fixture(scope="module")
def signoffs(sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("signoffs")
    path = work / "signoffs.yaml"
    for item in ("Change approval", "Team availability"):
        record(path, item, APPROVER, work)
    return path


def gate(signoffs: Path, operator: str, cwd: Path) -> tuple[int, str]:
    return run_suite(
        PLANNING,
        "-k",
        "change_approval or team_availability",
        "--target",
        TARGET,
        "--env",
        "production",
        "--signoffs",
        str(signoffs),
        "--operator",
        operator,
        cwd=cwd,
    )


def test_the_approvers_own_release_is_no_go_in_production(signoffs: Path, tmp_path: Path) -> None:
    code, output = gate(signoffs, APPROVER, tmp_path)
    assert code == 1, output[-3000:]
    results = outcomes(output)
    approval = next(k for k in results if "change_approval" in k)
    assert results[approval] == "FAILED", results
    assert "the person who runs the release cannot approve it (four eyes)" in failure_message(
        output, "test_change_approval"
    )
    assert "NO-GO" in output


def test_another_operator_runs_it_and_both_names_are_shown(signoffs: Path, tmp_path: Path) -> None:
    code, output = gate(signoffs, "Sam Release", tmp_path)
    assert code == 0, output[-3000:]
    assert set(outcomes(output).values()) == {"PASSED"}
    assert "Sam Release" in output and APPROVER in output


def test_an_unknown_title_is_refused_and_nothing_is_written(
    sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    path = tmp_path / "signoffs.yaml"
    done = run_gonogo(
        "signoff",
        "--signoffs",
        str(path),
        "--item",
        "Change aproval",
        "--who",
        APPROVER,
        "--role",
        ROLES["production"],
        "--release",
        "v1.1.0",
        "--environment",
        "production",
        "--ticket",
        "CHG-2001",
        "--checklist",
        str(REPO / "docs" / "checklists.md"),
        cwd=tmp_path,
    )
    assert done.returncode == 4, done.output
    assert "Change approval" in done.output
    assert not path.exists()
