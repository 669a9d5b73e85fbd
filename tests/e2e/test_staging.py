"""The staging checklist against the sandbox, with --execute, in a namespace
of its own: the release is deployed there, tested, and the run is GO."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest
import redis
from gonogo.integrations.records.directory import DirectoryStore
from gonogo.model.records import ItemRecord, RunRecord
from gonogo_sandbox.config import SandboxConfig

from tests.support.gate_inputs import target_copy, write_signoffs
from tests.support.suite_runner import REPO, outcomes, run_suite

PASSED_BEFORE = [
    "Staging environment clean",
    "Resource allocation",
    "Deploy to staging namespace",
    "Configure staging-specific settings",
    "Functional testing",
]
"""Checks that passed when the previous release went through staging."""


def _previous_release_staged(reports: Path) -> Path:
    """The staging run record of v1.0.0 that Regression testing compares with,
    kept where the target copy's store is (its reports folder)."""
    items = [
        ItemRecord(title=title, stage="staging", phase="", nodeid=f"earlier::{n}", outcome="passed")
        for n, title in enumerate(PASSED_BEFORE)
    ]
    record = RunRecord(
        id="earlier-staging-v1.0.0",
        target="sophia-sandbox",
        release="v1.0.0",
        previous_release=None,
        environment="staging",
        stages=["staging"],
        phases=[],
        items=items,
        verdict="GO",
        go=True,
        started="2026-12-01T10:00:00+00:00",
        finished="2026-12-01T10:05:00+00:00",
        gonogo_version="0",
        checklist={},
        execute=True,
    )
    return Path(DirectoryStore(reports / "records").put(record))


def test_staging_is_go_with_execute(
    fresh_namespace: str, sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    manifests = tmp_path / "manifests"
    shutil.copytree(REPO / "sandbox" / "manifests", manifests)
    staging_cm = manifests / "configmap-staging.yaml"
    staging_cm.write_text(
        staging_cm.read_text().replace("namespace: sophia-staging", f"namespace: {fresh_namespace}")
    )
    prefix = f"e2e-{secrets.token_hex(3)}"
    target = target_copy(
        tmp_path / "target.yaml",
        {
            "namespaces": {"staging": fresh_namespace},
            "manifests_dir": str(manifests),
            "load_results_dir": str(tmp_path / "load"),
            "redis": {
                "test_prefixes": [f"{prefix}-test:", f"{prefix}-fixture:"],
                "seed_data": {f"{prefix}-fixture:customer:1001": '{"name": "Example"}'},
            },
            "environments": {
                "staging": {"base_url": f"http://127.0.0.1:18080/_ns/{fresh_namespace}"}
            },
        },
    )
    leftover = f"{prefix}-test:from-last-run"
    store = redis.Redis.from_url(sandbox_running.url("redis", "redis"), socket_timeout=2)
    try:
        store.set(leftover, "x")
        _previous_release_staged(tmp_path / "reports")
        code, output = run_suite(
            str(REPO / "suites" / "staging"),
            "-m",
            "staging",
            "--target",
            str(target),
            "--env",
            "staging",
            "--execute",
            "--signoffs",
            str(write_signoffs(tmp_path / "signoffs.yaml")),
            cwd=tmp_path,
        )
        assert code == 0, "\n".join(
            line for line in output.splitlines() if line.startswith(("E ", "FAILED", "NO-GO"))
        )
        results = outcomes(output)
        assert len(results) == 13 and set(results.values()) == {"PASSED"}, results
        assert store.get(leftover) is None, "the leftover test key was not cleaned"
        assert list((tmp_path / "load").glob("load-v1.1.0-staging-smoke-*.json"))
    finally:
        store.delete(leftover, f"{prefix}-fixture:customer:1001")
        store.close()


@pytest.mark.parametrize("missing", ["User acceptance testing"])
def test_staging_without_acceptance_sign_off_is_no_go(
    missing: str, sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    code, output = run_suite(
        str(REPO / "suites" / "staging"),
        "-m",
        "staging",
        "--target",
        str(REPO / "targets" / "sandbox.yaml"),
        "--env",
        "staging",
        "--no-gate",
        "-k",
        "user_acceptance",
        "--signoffs",
        str(write_signoffs(tmp_path / "signoffs.yaml", skip=(missing,))),
        cwd=tmp_path,
    )
    assert code == 1
    assert outcomes(output) == {"test_user_acceptance": "FAILED"}
    assert f"no valid sign-off for '{missing}'" in output
    assert "technical-lead approval" in output
