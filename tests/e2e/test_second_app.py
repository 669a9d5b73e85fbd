"""The ledger, the second sample application (targets/ledger.yaml,
examples/ledger/checklist.md), released end to end on the sandbox: four
services of its own names, tiers and dependency graph, no external APIs, no
dashboard, no ConfigMaps. Its pre-deployment gate is GO, its release of
v1.1.0 deploys tier by tier in its own dependency order and is GO after
post-deployment validation; then a faulty v1.2.0 is NO-GO and rolled back in
the reverse of its graph, leaving v1.1.0 running.

The ledger is copied into a namespace of its own (the shared ``ledger``
namespace stays as ``gonogo sandbox up`` left it); the four runs share one
reports folder, so each reads the run records of the one before."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
import yaml
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.model import signoffs
from gonogo_sandbox import cluster, manifests
from gonogo_sandbox.config import SandboxConfig

from tests.support.demo_system import fault
from tests.support.gate_inputs import delete_namespace, write_backup
from tests.support.suite_runner import (
    REPO,
    Finished,
    run_pytest,
    sandbox_env,
    verdict_lines,
)

LEDGER_TARGET = REPO / "targets" / "ledger.yaml"
CHECKLIST = REPO / "examples" / "ledger" / "checklist.md"
SUITES = ("suites/predeploy", "suites/deploy", "suites/postdeploy")
GRAPH_ORDER = ["ledger-store", "ledger-accounts", "ledger-payments", "ledger-gateway"]
"""The ledger's dependency order, as its target file's depends_on give it."""
MANUAL = ("Change approval", "Maintenance window scheduled", "Team availability")
AVAILABLE_TIMEOUT_S = 120.0
FAULTY_RELEASE = "v1.2.0"


@dataclass(frozen=True)
class Ledger:
    namespace: str
    work: Path
    target: Path
    manifests_dir: Path
    kube: KubeClient

    def images(self) -> dict[str, str]:
        """Deployment -> image tag its pod template runs."""
        return {
            d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["image"].rsplit(
                ":", 1
            )[1]
            for d in self.kube.list_all("deployments", self.namespace)
        }


def _scraped(cfg: SandboxConfig, namespace: str, timeout: float = 60.0) -> None:
    """Wait until Prometheus (fresh after the session's reset) scrapes the
    copy's four services, as it would a system that has been running a while."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        answer = httpx.get(f"{cfg.url('prometheus')}/api/v1/targets", timeout=5)
        seen = {
            t["labels"].get("service", "")
            for t in answer.json()["data"]["activeTargets"]
            if t["labels"].get("namespace") == namespace and t.get("health") == "up"
        }
        if set(GRAPH_ORDER) <= seen:
            return
        time.sleep(1)
    raise AssertionError(f"Prometheus scrapes only {sorted(seen)} of {namespace} after {timeout} s")


def _target_copy(namespace: str, work: Path, cfg: SandboxConfig, **changes: Any) -> Path:
    data = yaml.safe_load(LEDGER_TARGET.read_text())
    data["namespaces"]["production"] = namespace
    data["ingress"]["base_url"] = f"{cfg.url('demo')}/_ns/{namespace}"
    data["manifests_dir"] = str(changes.pop("manifests_dir", REPO / "sandbox/manifests/ledger"))
    data["backups_dir"] = str(work / "backups")
    data["load_results_dir"] = str(work / "load")
    data.update(changes)
    path = work / f"target-{data['release']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def ledger(
    sandbox_running: SandboxConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    """The ledger at v1.0.0 in a fresh namespace, its target copy, a backup of
    it and sign-offs of the gate's manual items."""
    cfg = sandbox_running
    work = tmp_path_factory.mktemp("ledger")
    namespace = f"e2e-ledger-{secrets.token_hex(3)}"
    bin_path = cluster.bin_dir()
    kube = KubeClient(kubeconfig=cfg.kubeconfig, context=cfg.kube_context)
    try:
        manifests.apply_ledger(cfg, bin_path, REPO, namespace)
        manifests.wait_available(cfg, bin_path, namespace, AVAILABLE_TIMEOUT_S)
        _scraped(cfg, namespace)
        target = _target_copy(namespace, work, cfg)
        write_backup(kube, namespace, work / "backups")
        signoffs.write_signoffs(
            work / "signoffs.yaml",
            list(MANUAL),
            who="Lee Ledger",
            role="change-management",
            release="v1.1.0",
            environment="production",
            ticket="LEDGER-42",
        )
        yield Ledger(namespace, work, target, REPO / "sandbox/manifests/ledger", kube)
    finally:
        kube.close()
        delete_namespace(namespace)


def _run(ledger: Ledger, target: Path, *args: str) -> Finished:
    return run_pytest(
        *SUITES,
        "--target",
        str(target),
        "--checklist",
        str(CHECKLIST),
        "--env",
        "production",
        "--signoffs",
        str(ledger.work / "signoffs.yaml"),
        "--reports-dir",
        str(ledger.work / "reports"),
        "-q",
        "-rA",
        *args,
        cwd=REPO,
        env=sandbox_env(),
        timeout=300,
    )


def _outcomes(ledger: Ledger) -> dict[str, tuple[str, str]]:
    """Checklist item -> (passed/failure/error/skipped, message) in the last
    run, from its JUnit XML (one test case per item, named by its title)."""
    tree = ElementTree.parse(ledger.work / "reports" / "junit-production.xml")
    found = {}
    for case in tree.iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, child.get("message") or ""
        found[case.get("name", "")] = (outcome, message)
    return found


def _assert_not_applicable(ledger: Ledger, *items: str) -> None:
    """Each of ``items`` was skipped with a reason that says not applicable."""
    outcomes = _outcomes(ledger)
    for item in items:
        outcome, message = outcomes.get(item, ("absent", ""))
        assert outcome == "skipped" and "not applicable" in message, (item, outcome, message)


def test_the_ledger_is_released_then_a_faulty_release_is_rolled_back(ledger: Ledger) -> None:
    gate = _run(ledger, ledger.target, "-m", "predeploy")
    out = gate.output
    assert gate.returncode == 0, out[-4000:]
    assert verdict_lines(out)[-1].startswith("GO"), out[-3000:]
    _assert_not_applicable(ledger, "Configuration validation", "Performance testing")

    release = _run(
        ledger, ledger.target, "-m", "deploy or postdeploy", "--execute", "--rollback=auto"
    )
    out = release.output
    assert release.returncode == 0, out[-5000:]
    assert verdict_lines(out)[-1].startswith("GO"), out[-3000:]
    assert ledger.images() == dict.fromkeys(GRAPH_ORDER, "v1.1.0")
    outcomes = _outcomes(ledger)
    for tier in ("storage", "domain", "edge"):
        name = f"Deploy the {tier} tier"
        assert outcomes.get(name, ("absent",))[0] == "passed", (name, outcomes.get(name))
    _assert_not_applicable(
        ledger, "External API connectivity", "Dashboard functionality", "External integrations"
    )
    assert "mcp-research" not in out and "sophia" not in out.replace("sophia-ai", "")

    faulty = manifests_with_fault(ledger.work / "faulty", ledger.manifests_dir, "ledger-gateway")
    target = _target_copy(
        ledger.namespace,
        ledger.work,
        SandboxConfig(),
        release=FAULTY_RELEASE,
        previous_release="v1.1.0",
        manifests_dir=faulty,
    )
    broken = _run(ledger, target, "-m", "deploy or postdeploy", "--execute", "--rollback=auto")
    out = broken.output
    assert broken.returncode == 1, out[-5000:]
    assert verdict_lines(out)[-1].startswith("NO-GO"), out[-3000:]
    order = [
        line.split(":")[0].strip().removeprefix("deployment/")
        for line in out.splitlines()
        if line.strip().startswith("deployment/ledger-") and "revision" in line
    ]
    assert order == list(reversed(GRAPH_ORDER)), out[-4000:]
    assert "rolled back" in out
    assert ledger.images() == dict.fromkeys(GRAPH_ORDER, "v1.1.0")


def manifests_with_fault(directory: Path, source: Path, service: str) -> Path:
    """A copy of the ledger's manifests in which ``service`` answers every
    request with 503 once the release runs: a bad release of that service."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.yaml"):
        documents = list(yaml.safe_load_all(path.read_text()))
        if path.stem == service:
            for doc in documents:
                if doc and doc.get("kind") == "Deployment":
                    fault("sandbox.gonogo.dev/unavailable", "true")(doc)
        (directory / path.name).write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return directory
