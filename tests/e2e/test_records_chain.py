"""The evidence chain from staging to production, against the sandbox.

* The production gate's "Performance testing" fails with no staging record of
  the release, passes once a real staging run (deploy and measure, executed)
  left one, and fails again when only production records of the same release
  are left: a production result never proves a pre-deployment item.
* Staging's and post-deployment's load, run on services that do not run the
  release under check, are kept under the release that answered and fail the item.
* The gate and the release in two jobs with separate reports folders: "Data
  consistency" reads the gate's fingerprints from the shared record store
  (a directory, or ConfigMaps in the cluster), and finds nothing without it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.records.directory import DirectoryStore
from gonogo_sandbox.config import SandboxConfig

from tests.support.gate_inputs import (
    delete_namespace,
    run_staging_proof,
    staging_overrides,
    target_copy,
    write_backup,
)
from tests.support.suite_runner import REPO, outcomes, run_suite

TARGET = "sophia-sandbox"
RELEASE = "v1.1.0"


def _job(root: Path, name: str) -> Path:
    """A directory of its own per CI job: its reports folder is its own."""
    path = root / name
    path.mkdir()
    return path


def _gate_performance(target: Path, cwd: Path) -> tuple[int, str]:
    return run_suite(
        str(REPO / "suites" / "predeploy"),
        "-m",
        "predeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "-k",
        "performance_testing",
        cwd=cwd,
    )


def test_production_gate_reads_the_staging_record_of_the_release(
    sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    staging = f"e2e-chain-staging-{secrets.token_hex(3)}"
    target = target_copy(tmp_path / "target.yaml", staging_overrides(tmp_path, staging))
    store = DirectoryStore(tmp_path / "records")

    code, output = _gate_performance(target, _job(tmp_path, "gate-before"))
    assert code == 1, output[-4000:]
    assert outcomes(output) == {"test_performance_testing": "FAILED"}
    assert f"no data: no staging run record of {TARGET} {RELEASE}" in output
    assert f"pytest -m staging --target {target} --env staging --execute" in output

    try:
        code, output = run_staging_proof(target, _job(tmp_path, "staging"))
    finally:
        delete_namespace(staging)
    assert code == 0, output[-4000:]
    (record,) = store.find(TARGET, RELEASE, "staging", stage="staging")
    measured = record.item("Performance testing", "staging")
    assert measured is not None and measured.passed and measured.measures
    assert record.execute

    code, output = _gate_performance(target, _job(tmp_path, "gate-after"))
    assert code == 0, output[-4000:]
    assert outcomes(output) == {"test_performance_testing": "PASSED"}

    # The gate's own record: production, same release, "Performance testing" passed.
    production = store.find(TARGET, RELEASE, "production", stage="predeploy")
    assert production
    gated = production[0].item("Performance testing", "predeploy")
    assert gated is not None and gated.passed
    assert {m["name"] for m in gated.measures} >= {"error_rate", "mean_ms"}
    # Only production records of the release left: they prove nothing.
    for path in (tmp_path / "records").glob("run-*.json"):
        if store.read(path).environment == "staging":
            path.unlink()
    assert store.find(TARGET, RELEASE, "production")

    code, output = _gate_performance(target, _job(tmp_path, "gate-production-only"))
    assert code == 1, output[-4000:]
    assert f"no data: no staging run record of {TARGET} {RELEASE}" in output


def test_staging_load_on_another_release_is_kept_under_it_and_fails(
    sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    """Staging pointed at services that run the demo release, while the target
    says the release is v9.9.9: the figures belong to what answered."""
    demo = sandbox_running.url("demo")
    running = httpx.get(f"{demo}/mcp-research/version", timeout=5).json()["version"]
    target = target_copy(
        tmp_path / "target.yaml",
        {
            "release": "v9.9.9",
            "load_results_dir": str(tmp_path / "load"),
            "environments": {"staging": {"base_url": demo}},
        },
    )
    code, output = run_suite(
        str(REPO / "suites" / "staging"),
        "-m",
        "staging",
        "--target",
        str(target),
        "--env",
        "staging",
        "-k",
        "performance_testing",
        cwd=_job(tmp_path, "staging"),
    )
    assert code == 1, output[-4000:]
    assert outcomes(output) == {"test_performance_testing": "FAILED"}
    assert f"staging runs {running}, not v9.9.9, the release under check" in output
    assert list((tmp_path / "load").glob(f"load-{running}-staging-smoke-*.json"))
    assert not list((tmp_path / "load").glob("load-v9.9.9-*.json"))


def test_post_deploy_load_on_another_release_is_kept_under_it_and_fails(
    sandbox_running: SandboxConfig, tmp_path: Path
) -> None:
    """The post-deployment load item, run while production still runs another
    release than the one the target names (a deploy that did not happen)."""
    demo = sandbox_running.url("demo")
    running = httpx.get(f"{demo}/mcp-research/version", timeout=5).json()["version"]
    target = target_copy(
        tmp_path / "target.yaml",
        {"release": "v9.9.9", "load_results_dir": str(tmp_path / "load")},
    )
    code, output = run_suite(
        str(REPO / "suites" / "postdeploy"),
        "-m",
        "postdeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "-k",
        "load_baseline",
        cwd=_job(tmp_path, "release"),
    )
    assert code == 1, output[-4000:]
    assert outcomes(output).get("test_load_baseline") in ("FAILED", "ERROR"), output[-4000:]
    assert f"the services on production run {running}, not v9.9.9" in output
    assert list((tmp_path / "load").glob(f"load-{running}-production-baseline-*.json"))
    assert not list((tmp_path / "load").glob("load-v9.9.9-*.json"))


@pytest.fixture(params=["directory", "kubernetes"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The records section both jobs name: a shared directory, or a namespace
    of the sandbox cluster that the first write creates."""
    if request.param == "directory":
        yield {"store": "directory", "path": str(tmp_path / "shared-records")}
        return
    namespace = f"e2e-records-{secrets.token_hex(3)}"
    try:
        yield {"store": "kubernetes", "namespace": namespace}
    finally:
        delete_namespace(namespace)


def test_gate_and_release_in_separate_jobs_share_proof_through_the_store(
    sandbox_running: SandboxConfig, tmp_path: Path, shared_store: dict[str, str]
) -> None:
    kube = KubeClient(kubeconfig=sandbox_running.kubeconfig, context=sandbox_running.kube_context)
    try:
        write_backup(kube, "sophia", tmp_path / "backups")
    finally:
        kube.close()
    common = {"backups_dir": str(tmp_path / "backups")}
    target = target_copy(tmp_path / "target.yaml", {**common, "records": shared_store})

    gate = _job(tmp_path, "job-gate")
    code, output = run_suite(
        str(REPO / "suites" / "predeploy"),
        "-m",
        "predeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "-k",
        "backup_verification",
        cwd=gate,
    )
    assert code == 0, output[-4000:]

    release = _job(tmp_path, "job-release")
    code, output = run_suite(
        str(REPO / "suites" / "postdeploy"),
        "-m",
        "postdeploy",
        "--target",
        str(target),
        "--env",
        "production",
        "-k",
        "data_consistency",
        cwd=release,
    )
    assert code == 0, output[-4000:]
    assert outcomes(output) == {"test_data_consistency": "PASSED"}
    assert not (release / "reports" / "consistency").exists()

    # The same release job without the shared store: its own reports folder
    # holds no gate record, and the check says so instead of passing.
    alone = target_copy(tmp_path / "alone.yaml", common)
    code, output = run_suite(
        str(REPO / "suites" / "postdeploy"),
        "-m",
        "postdeploy",
        "--target",
        str(alone),
        "--env",
        "production",
        "-k",
        "data_consistency",
        cwd=_job(tmp_path, "job-release-alone"),
    )
    assert code == 1, output[-4000:]
    assert f"no data: no pre-deployment run record of {TARGET} {RELEASE} on production" in output
