"""The pre-deployment checklist against the sandbox: GO when everything is in
order, and NO-GO at the right item, with a clear message, for each fault.

To keep the run short, one baseline run proves GO, one run with --no-gate
carries the faults that live outside the cluster's namespace (each at a
different item, so each failure is attributable), and one run in a fresh
namespace carries a missing Secret. The faults the sandbox itself can make
(a node NotReady, a Pending PVC, a plaintext password in a ConfigMap, an
expiring certificate) are rows of the fault matrix, test_fault_matrix.py."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services.fakes import state

from tests.support.gate_inputs import (
    delete_namespace,
    run_staging_proof,
    staging_overrides,
    target_copy,
    write_backup,
    write_signoffs,
)
from tests.support.suite_runner import REPO, outcomes, run_suite

SUITE = str(REPO / "suites" / "predeploy")


@pytest.fixture(scope="session")
def kube_client(sandbox_running: SandboxConfig) -> Iterator[KubeClient]:
    client = KubeClient(kubeconfig=sandbox_running.kubeconfig, context=sandbox_running.kube_context)
    yield client
    client.close()


@pytest.fixture(scope="session")
def predeploy_files(
    tmp_path_factory: pytest.TempPathFactory, kube_client: KubeClient
) -> Iterator[dict[str, Any]]:
    """A target copy writing into a temporary directory, with a fresh backup of
    the production namespace, a staging run of the release (its record is the
    proof "Performance testing" reads) and a complete sign-off file."""
    work = tmp_path_factory.mktemp("predeploy")
    staging = f"e2e-predeploy-staging-{secrets.token_hex(3)}"
    overrides = {
        "backups_dir": str(work / "backups"),
        "load_results_dir": str(work / "load"),
        **staging_overrides(work, staging),
    }
    target = target_copy(work / "target.yaml", overrides)
    write_backup(kube_client, "sophia", work / "backups")
    try:
        (work / "staging").mkdir()
        code, output = run_staging_proof(target, work / "staging")
        assert code == 0, output[-4000:]
        yield {
            "work": work,
            "target": target,
            "overrides": overrides,
            "signoffs": write_signoffs(work / "signoffs.yaml"),
        }
    finally:
        delete_namespace(staging)


@pytest.fixture(scope="session")
def baseline(predeploy_files: dict[str, Path]) -> tuple[int, str]:
    f = predeploy_files
    return run_suite(
        SUITE,
        "-m",
        "predeploy",
        "--target",
        str(f["target"]),
        "--env",
        "production",
        "--signoffs",
        str(f["signoffs"]),
        cwd=f["work"],
    )


def test_predeploy_is_go_on_a_healthy_sandbox(baseline: tuple[int, str]) -> None:
    code, output = baseline
    assert code == 0, "\n".join(
        line for line in output.splitlines() if line.startswith(("E ", "FAILED", "NO-GO"))
    )
    assert "GO" in output and "NO-GO" not in output
    results = outcomes(output)
    assert len(results) == 18, results
    assert set(results.values()) == {"PASSED"}, results


def test_every_item_is_bound(sandbox_running: SandboxConfig, tmp_path: Path) -> None:
    code, output = run_suite(
        str(REPO / "suites" / "predeploy"),
        str(REPO / "suites" / "staging"),
        "--gonogo-checklist",
        "--target",
        str(REPO / "targets" / "sandbox.yaml"),
        cwd=tmp_path,
    )
    assert code == 0, output[-3000:]
    section = output.split("## Pre-Deployment Checklist")[-1] if "##" in output else output
    for title in (
        "Release notes prepared",
        "Log aggregation",
        "Regression testing",
        "Deploy to staging namespace",
        "User acceptance testing",
    ):
        line = next(line for line in section.splitlines() if line.strip().endswith(title))
        assert "[x]" in line, line


def test_faults_outside_the_namespace_fail_their_items(
    predeploy_files: dict[str, Path],
    sandbox_running: SandboxConfig,
    tmp_path: Path,
) -> None:
    """Prometheus down, a failed check run, a pull request with a change
    request, a CRITICAL finding, a missing sign-off and a run outside the
    window: each fails exactly its item. (The expiring certificate is a row of
    the fault matrix, test_fault_matrix.py.)"""
    f = predeploy_files
    report = json.loads((REPO / "sandbox" / "fixtures" / "trivy-v1.1.0.json").read_text())
    report["Results"][0]["Vulnerabilities"].append(
        {
            "VulnerabilityID": "CVE-2099-0001",
            "PkgName": "openssl",
            "InstalledVersion": "3.0.0",
            "Severity": "CRITICAL",
            "Title": "planted by the e2e test",
        }
    )
    scan = tmp_path / "trivy.json"
    scan.write_text(json.dumps(report))
    hour = dt.datetime.now(dt.UTC).hour
    window = {"start": f"{(hour + 2) % 24:02d}:00", "end": f"{(hour + 3) % 24:02d}:00"}
    target = target_copy(
        tmp_path / "target.yaml",
        {
            **f["overrides"],
            "security_scan": {"report": str(scan)},
            "monitoring": {"prometheus": "http://127.0.0.1:9"},
            "environments": {
                **f["overrides"]["environments"],
                "production": {"window": window},
            },
        },
    )
    signoffs = write_signoffs(tmp_path / "signoffs.yaml", skip=("Team availability",))
    sha = state.release_sha(state.REPOSITORY, "v1.1.0")
    repo = state.load(sandbox_running)["github"]["repositories"][state.REPOSITORY]
    pull = repo["pulls"][str(state.RELEASE_PULL)]
    state.update(
        sandbox_running,
        github={
            "repositories": {
                state.REPOSITORY: {
                    "commits": {
                        sha: {
                            "check_runs": [
                                {
                                    "name": "unit-tests",
                                    "status": "completed",
                                    "conclusion": "failure",
                                }
                            ]
                        }
                    },
                    "pulls": {
                        str(state.RELEASE_PULL): {
                            "reviews": [
                                *pull["reviews"],
                                {
                                    "user": "security-lead",
                                    "state": "CHANGES_REQUESTED",
                                    "body": "not yet",
                                },
                            ]
                        }
                    },
                }
            }
        },
    )
    try:
        code, output = run_suite(
            SUITE,
            "-m",
            "predeploy",
            "--target",
            str(target),
            "--env",
            "production",
            "--signoffs",
            str(signoffs),
            "--no-gate",
            cwd=tmp_path,
        )
    finally:
        state.reset(sandbox_running)
    results = outcomes(output)
    expected_failures = {
        "test_monitoring_systems": "prometheus healthy (http://127.0.0.1:9/-/healthy)",
        "test_pipeline_passing": "check runs failed on v1.1.0: unit-tests (failure)",
        "test_code_review_completed": "outstanding change requests from security-lead",
        "test_security_scan_passed": "CVE-2099-0001 CRITICAL",
        "test_team_availability": "no valid sign-off for 'Team availability'",
        "test_maintenance_window": "is outside the deployment window",
    }
    assert code == 1, output[-4000:]
    assert "NO-GO" in output
    for test, message in expected_failures.items():
        assert results.get(test) == "FAILED", (test, results)
        assert message in output, (test, message)
    passed = {t for t, o in results.items() if o == "PASSED"}
    assert passed == set(results) - set(expected_failures), results


@pytest.fixture
def faulty_namespace(fresh_namespace: str, kubectl: Any, tmp_path: Path) -> str:
    """A namespace with a Deployment that needs a Secret nobody created."""
    manifest = tmp_path / "faults.yaml"
    manifest.write_text(f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: {fresh_namespace}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
      containers:
        - name: app
          image: 127.0.0.1:15000/sophia-mcp-research:v1.0.0
          env:
            - name: API_KEY
              valueFrom: {{secretKeyRef: {{name: app-credentials, key: api-key}}}}
""")
    kubectl("apply", "-f", str(manifest))
    return fresh_namespace


def test_missing_secret_fails_secret_management(faulty_namespace: str, tmp_path: Path) -> None:
    """A Secret a workload needs and nobody created fails Secret management,
    naming the Secret and the workload. (The Pending PVC and the plaintext
    password in a ConfigMap are rows of the fault matrix, test_fault_matrix.py.)"""
    target = target_copy(tmp_path / "target.yaml", {"namespaces": {"production": faulty_namespace}})
    code, output = run_suite(
        SUITE,
        "-m",
        "predeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "--no-gate",
        "-k",
        "secret_management",
        cwd=tmp_path,
    )
    assert code == 1, output[-4000:]
    assert outcomes(output) == {"test_secret_management": "FAILED"}
    assert "app-credentials (used by deployment/app)" in output
