"""The verdict says exactly what happened, and fails closed.

Each test runs the plugin on a small project (pytester) the way an operator
would and reads what the operator reads: the verdict line, the exit code, and
the reports the run wrote (checklist.md, the HTML report, JUnit XML).
"""

from __future__ import annotations

import os
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.support.mini_project import DEPLOY_SUITE, MINI_TARGET

THREE_CHECKS = """\
import pytest

@pytest.mark.item("Change approval")
def test_approval(target):
    pass

@pytest.mark.item("Backup verification")
def test_backup(target):
    {backup_body}

@pytest.mark.item("Cluster healthy")
def test_cluster(target):
    pass
"""


def three_checks(backup_body: str = "pass") -> str:
    return THREE_CHECKS.replace("{backup_body}", textwrap.indent(backup_body, "    ").strip())


def verdict_line(result: pytest.RunResult) -> str:
    lines = result.outlines
    at = max(i for i, line in enumerate(lines) if "gonogo verdict" in line)
    return lines[at + 1]


SELF_SIGNAL = """\
import os, signal
os.kill(os.getpid(), signal.{name})
import time
time.sleep(30)
"""


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_a_signal_during_a_check_is_no_go_interrupted_and_every_report_says_so(
    project: pytest.Pytester, name: str
) -> None:
    """Ctrl-C (SIGINT) or a CI cancel (SIGTERM) in the middle of a check: the
    check did not pass, the run is NO-GO, and the reports are still written."""
    project.makepyfile(test_pre=three_checks(SELF_SIGNAL.format(name=name)))
    result = project.runpytest_subprocess(
        "--target", "target.yaml", "--env", "production", timeout=120
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    line = verdict_line(result)
    assert line.startswith("NO-GO — interrupted during Backup verification"), line
    reports = project.path / "reports"
    markdown = (reports / "checklist.md").read_text()
    assert "NO-GO — interrupted during Backup verification" in markdown
    assert "[x] **Backup verification**" not in markdown
    html = (reports / "gonogo.html").read_text()
    assert "interrupted during Backup verification" in html
    assert 'data-verdict="NO-GO"' in html
    suite = ET.parse(reports / "junit-production.xml").getroot()
    props = [
        p.get("value", "")
        for p in suite.iter("property")
        if p.get("name") == "gonogo.engine.verdict"
    ]
    assert any(v.startswith("NO-GO — interrupted during Backup verification") for v in props)
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    backup = cases.get("Backup verification")
    # junitxml may drop the test it was interrupted in; if it kept it, not as passed
    assert backup is None or backup.find("error") is not None, ET.tostring(backup).decode()


HUNG_CALL = """\
import os, signal, socket, threading, time
from concurrent.futures import ThreadPoolExecutor

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)  # accepts the connection, never answers

def call():
    s = socket.create_connection(server.getsockname(), timeout=600)
    return s.recv(1)

threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
pool = ThreadPoolExecutor(max_workers=1)
pool.submit(call).result()
"""


def test_sigterm_stops_a_run_whose_network_call_hangs(project: pytest.Pytester) -> None:
    """A call stuck for ten minutes in a worker thread does not hold the run:
    SIGTERM ends it with a verdict (the subprocess timeout is the failure)."""
    project.makepyfile(test_pre=three_checks(HUNG_CALL))
    result = project.runpytest_subprocess(
        "--target", "target.yaml", "--env", "production", timeout=60
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert verdict_line(result).startswith("NO-GO — interrupted during Backup verification")


def test_a_check_whose_setup_passed_but_whose_call_never_reported_did_not_pass(
    project: pytest.Pytester,
) -> None:
    """A check is passed only by its passed call report; an interruption
    raised inside the call leaves only a passed setup behind."""
    project.makepyfile(test_pre=three_checks("raise KeyboardInterrupt"))
    result = project.runpytest_subprocess(
        "--target", "target.yaml", "--env", "production", timeout=120
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    line = verdict_line(result)
    assert line.startswith("NO-GO — interrupted during Backup verification;"), line
    assert "1 checks passed before it" in line


def test_a_run_where_every_check_was_skipped_checked_nothing(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_pre=textwrap.dedent(
            """\
            import pytest

            @pytest.mark.item("Cluster healthy")
            def test_cluster(target):
                pytest.skip("not applicable: no cluster")

            @pytest.mark.item("Backup verification")
            def test_backup(target):
                pytest.skip("not applicable: no backups")
            """
        )
    )
    result = project.runpytest("--target", "target.yaml", "--env", "production")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_line(result).startswith("NO-GO — nothing was checked: 2 checks skipped")


def test_a_selection_that_leaves_out_checks_of_its_stage_is_a_partial_go(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(test_pre=three_checks())
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "-k", "approval or backup"
    )
    assert result.ret == pytest.ExitCode.OK
    line = verdict_line(result)
    assert line.startswith("GO (partial) — 2 checks passed"), line
    assert "scope: predeploy (1 phase), 2 of 3 checks ran; partial: 1 left out" in line
    html = (project.path / "reports" / "gonogo.html").read_text()
    assert 'data-verdict="GO (partial)"' in html
    markdown = (project.path / "reports" / "checklist.md").read_text()
    assert "**gonogo verdict: GO (partial)**" in markdown
    full = project.runpytest("--target", "target.yaml", "--env", "production")
    assert verdict_line(full).startswith("GO — 3 checks passed; scope: predeploy (2 phases)")


def test_phase_selection_is_partial_and_never_counts_an_item_twice(
    project: pytest.Pytester,
) -> None:
    """An item outside both --env and --phase is deselected once: the
    "selected" count of pytest's header never goes negative."""
    project.makepyfile(
        test_pre=three_checks()
        + textwrap.dedent(
            """\

            @pytest.mark.item("Performance testing", phase="Readiness")
            @pytest.mark.env("staging")
            def test_perf_staging_only(target):
                pass
            """
        )
    )
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--phase", "Planning"
    )
    result.stdout.fnmatch_lines(["collected 4 items / 2 deselected / 2 selected"])
    assert verdict_line(result).startswith("GO (partial) — 2 checks passed")


ROLLBACK_RESULTS = """\
import pytest
from gonogo.model.rollback import RollbackStep

RESULTS = {results}

@pytest.hookimpl(tryfirst=True)
def pytest_gonogo_rollback_plan(target, environment, failure, settings):
    return None  # gonogo's plan from the target

def pytest_gonogo_rollback(plan, target, environment, settings):
    return [
        RollbackStep(s.deployment, 2, 1, RESULTS.get(s.deployment, RESULTS["*"]), 0.0)
        for s in plan.steps
    ]
"""
"""A rollback implementation whose steps end with the given results (per
deployment, "*" for the others)."""


def test_a_dry_run_rollback_says_would_and_nothing_changed(project: pytest.Pytester) -> None:
    """--rollback=auto without --execute: the rollback ran as a dry run, so no
    report may say it rolled anything back."""
    dry = {"*": "would roll back to revision 1 (dry run)"}
    project.makeconftest(ROLLBACK_RESULTS.format(results=dry))
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production", "--rollback=auto")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    line = verdict_line(result)
    assert (
        "dry run: 3 deployments would be rolled back to v1.0.0; nothing changed (pass --execute)"
        in line
    ), line
    assert "executed" not in line and "rolled back:" not in line
    html = (project.path / "reports" / "gonogo.html").read_text()
    assert "Plan that was executed" not in html
    assert "dry run: nothing changed" in html
    markdown = (project.path / "reports" / "checklist.md").read_text()
    assert "would be rolled back" in markdown and "rolled back:" not in markdown


def test_an_executed_rollback_is_done_only_when_verified(project: pytest.Pytester) -> None:
    """Steps that changed the cluster but could not see the previous release
    running are not called verified."""
    results = {
        "*": "rolled back, verified on v1.0.0",
        "web": "rolled back, healthy; version not verified (no version URL)",
    }
    project.makeconftest(ROLLBACK_RESULTS.format(results=results))
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest(
        "--target", "target.yaml", "--env", "production", "--rollback=auto", "--execute"
    )
    line = verdict_line(result)
    assert "rolled back: 3 deployments, 2 verified on v1.0.0, 1 not verified" in line, line


def test_sigterm_to_an_xdist_controller_stops_its_workers_with_a_true_verdict(
    project: pytest.Pytester,
) -> None:
    """A CI cancel signals the controller: its workers stop inside their
    running check, the verdict names that check, and no worker is left."""
    psutil = pytest.importorskip("psutil")
    project.makepyfile(
        test_pre=three_checks(
            "import os, signal, time\nos.kill(os.getppid(), signal.SIGTERM)\ntime.sleep(600)"
        )
    )
    result = project.runpytest_subprocess(
        "-n", "2", "--target", "target.yaml", "--env", "production", timeout=120
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    line = verdict_line(result)
    assert line.startswith("NO-GO — interrupted during Backup verification;"), line
    assert "1 checks passed before it" in line
    ours = [
        p
        for p in psutil.process_iter(["cwd"])
        if p.info["cwd"] == str(project.path) and p.pid != os.getpid()  # pytester's chdir
    ]
    # killed workers may still be on their way out; none may go on running
    _, alive = psutil.wait_procs(ours, timeout=5)
    assert not alive, f"processes of the run still running: {[p.cmdline() for p in alive]}"


def test_an_internal_error_is_no_go_with_its_verdict_line_printed(
    project: pytest.Pytester,
) -> None:
    """A plugin crashing while the run goes on is an interruption, not a GO,
    and the verdict line is printed although pytest prints no summary then."""
    project.makeconftest(
        textwrap.dedent(
            """\
            def pytest_runtest_logreport(report):
                if report.when == "call" and "backup" in report.nodeid:
                    raise RuntimeError("a reporting plugin crashed")
            """
        )
    )
    project.makepyfile(test_pre=three_checks())
    result = project.runpytest_subprocess(
        "--target", "target.yaml", "--env", "production", timeout=120
    )
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    line = verdict_line(result)
    assert line.startswith("NO-GO — interrupted "), line
    markdown = (project.path / "reports" / "checklist.md").read_text()
    assert "**gonogo verdict: NO-GO**" in markdown


def test_a_target_without_a_previous_release_plans_no_rollback_to_none(
    project: pytest.Pytester,
) -> None:
    project.makefile(".yaml", target=MINI_TARGET.replace("previous_release: v1.0.0\n", ""))
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production", "--rollback=auto")
    line = verdict_line(result)
    assert "nothing to roll back to: the target names no previous_release" in line, line
    assert "-> None" not in result.stdout.str()


def test_a_failure_before_anything_was_deployed_has_nothing_to_roll_back(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        textwrap.dedent(
            """\
            import pytest
            from gonogo.model.rollback import RollbackPlan

            @pytest.hookimpl(tryfirst=True)
            def pytest_gonogo_rollback_plan(target, environment, failure, settings):
                # what the cluster says when no Deployment runs the release yet
                return RollbackPlan(failure.target_id, target.release, target.previous_release, [])

            def pytest_gonogo_rollback(plan, target, environment, settings):
                return []
            """
        )
    )
    project.makepyfile(test_deploy=DEPLOY_SUITE)
    result = project.runpytest("--target", "target.yaml", "--env", "production", "--rollback=auto")
    line = verdict_line(result)
    assert "nothing to roll back: no deployment runs v2.0.0" in line, line
