"""The deploy phases and the rollback checklist against a fresh copy of the
demo system: a dry run changes nothing, an executed deploy reaches v1.1.0 and
is GO, the rollback checklist returns everything to v1.0.0 and is harmless
when run again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.demo_system import RELEASE_SERVICES, DemoSystem, demo_system, versions
from tests.support.suite_runner import run_release


@pytest.fixture
def demo(sandbox_running: object, tmp_path: Path):
    with demo_system(tmp_path, "deploy") as system:
        yield system


def test_dry_run_changes_nothing_and_reports_the_plan(demo: DemoSystem, tmp_path: Path) -> None:
    before = versions(demo)
    result = run_release(demo.target_file, tmp_path / "reports", "-m", "deploy")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "GO — 26 checks passed" in result.stdout
    assert versions(demo) == before
    report = (tmp_path / "reports" / "gonogo.html").read_text()
    planned = "would be changed</td><td>spec.template.spec.containers[0].image: "
    assert planned + "127.0.0.1:15000/sophia-mcp-research:v1.0.0 -&gt; " in report


def test_execute_deploys_then_rollback_returns_and_is_harmless(
    demo: DemoSystem, tmp_path: Path
) -> None:
    deployed = run_release(demo.target_file, tmp_path / "reports", "-m", "deploy", "--execute")
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    assert "GO — 26 checks passed" in deployed.stdout
    after = versions(demo)
    assert {s: after[s][0] for s in RELEASE_SERVICES} == dict.fromkeys(RELEASE_SERVICES, "v1.1.0")
    backups = list((tmp_path / "reports" / "backups").glob("pre-deployment-*.yaml"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600
    text = backups[0].read_text()
    assert "sandbox-fake-redis-password" not in text and "sha256:" in text

    for attempt in (1, 2):
        rolled = run_release(demo.target_file, tmp_path / "reports", "-m", "rollback", "--execute")
        assert rolled.returncode == 0, f"attempt {attempt}: {rolled.stdout[-3000:]}"
        now = versions(demo)
        assert {s: now[s][0] for s in RELEASE_SERVICES} == dict.fromkeys(RELEASE_SERVICES, "v1.0.0")
