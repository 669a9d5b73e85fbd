"""``gonogo demo`` as a newcomer runs it, from an empty reports folder, on the
shared sandbox (already up, so the demo's own start must be a no-op): four
steps, each ending as expected, and the faulty candidate rolled back — which
this test checks again itself, from the cluster and from each service. The
demo system is put back where the demo starts afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gonogo.model.target import load_target
from gonogo_sandbox import stack
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.demo import candidate, flow
from kubernetes import client as k8s

REPO = Path(__file__).resolve().parents[2]
TARGET = load_target(REPO / "targets" / "sandbox.yaml")
DEMO_TIMEOUT_S = 1200


@pytest.fixture
def demo_run(sandbox_running: SandboxConfig, tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    """``gonogo demo --reports-dir <empty folder>``: (folder, output, exit code)."""
    reports = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gonogo", "demo", "--reports-dir", str(reports)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=DEMO_TIMEOUT_S,
            check=False,
        )
        yield reports, done.stdout + done.stderr, done.returncode
    finally:
        flow.reset_only(REPO, sandbox_running)


def _sandbox_state() -> str:
    """Which sandbox processes are down, for a failure message: a pod that
    never becomes Ready is the scheduler's or kwok's absence as often as the
    release's fault."""
    down = [name for name, up, _ in stack.status(SandboxConfig()) if not up]
    return "\nsandbox components down: " + (", ".join(down) or "none")


def _failed_stages(junit: Path) -> list[str]:
    """The stage of each failed test case, from the checklist binding in the
    JUnit the candidate's run wrote."""
    stages = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is None and case.find("error") is None:
            continue
        props = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
        stages.append(str(props.get("gonogo.item", "")))
    return stages


def test_demo_walks_the_release_process_from_nothing(
    demo_run: tuple[Path, str, int], api_client: k8s.ApiClient
) -> None:
    reports, output, code = demo_run
    tail = output[-6000:]
    assert code == 0, tail + _sandbox_state()
    assert "sandbox already up" in output, "the demo restarted a sandbox that was up"
    previous, release = TARGET.previous_release, TARGET.release
    for line in (
        f"-> step 1 staging release of {release}: GO, expected GO: as expected",
        "-> step 2 production backup and pre-deployment gate: GO, expected GO: as expected",
        f"-> step 3 production release {previous} -> {release}: GO, expected GO: as expected",
        f"-> step 4 faulty release candidate {candidate.RELEASE}: NO-GO, expected NO-GO: "
        "as expected",
    ):
        assert line in output, tail
    assert f"caught by {flow.POSTDEPLOY_STAGE} › " in output, tail
    assert f"verified on {release}: every image read from the cluster" in output, tail

    # the candidate's own JUnit: its first failed check is a post-deployment one
    stages = _failed_stages(reports / "4-candidate.xml")
    assert stages and flow.POSTDEPLOY_STAGE in stages[0], stages
    for name in ("1a-baseline", "1b-staging", "2a-backup", "2b-gate", "3-release", "4-candidate"):
        assert (reports / f"{name}.html").is_file(), name

    # the rollback, read again here: every release image and /version on v1.1.0
    deployments = {
        d.metadata.name: d.spec.template.spec.containers[0].image.rsplit(":", 1)[1]
        for d in k8s.AppsV1Api(api_client)
        .list_namespaced_deployment(TARGET.namespace_for("production"), _request_timeout=10)
        .items
    }
    services = TARGET.release_services()
    assert {s.deployment_name: deployments.get(s.deployment_name) for s in services} == {
        s.deployment_name: release for s in services
    }
    with httpx.Client(timeout=5) as http:
        versions = {
            s.name: http.get(url).json().get("version")
            for s in services
            if (url := TARGET.version_url(s, "production"))
        }
    assert versions and set(versions.values()) == {release}, versions
