"""Post-deployment validation against the sandbox, each scenario in a fresh
namespace holding the demo system (``tests/support/demo_system.py``).

The scenarios put the release in place with kubectl (every image to v1.1.0,
as the deploy stage does) to exercise the post-deploy checks alone. The faults
(a faulty release rolled back, a consistency key lost, a service or Redis
down) are rows of the fault matrix, test_fault_matrix.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from gonogo import __version__
from gonogo.integrations.records import open_store
from gonogo.integrations.redis import consistency
from gonogo.integrations.redis.client import connect
from gonogo.model.records import ItemRecord, RunRecord, iso, new_id
from gonogo.model.target import load_target
from gonogo_sandbox import cluster

from tests.support.demo_system import DemoSystem, demo_system, user_traffic
from tests.support.suite_runner import (
    SUITES,
    Finished,
    environment,
    run_pytest,
    sandbox_tokens,
    verdict_lines,
)


def _target(demo: DemoSystem) -> dict[str, Any]:
    return yaml.safe_load(demo.target_file.read_text())


def _kubectl(demo: DemoSystem, *args: str, timeout: float = 120.0) -> str:
    done = cluster.kubectl(
        demo.cfg, cluster.bin_dir(), *args, "-n", demo.namespace, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _versions(demo: DemoSystem) -> dict[str, str]:
    data = _target(demo)
    found = {}
    with httpx.Client(timeout=5) as client:
        for service in data["services"]:
            if service.get("version_path"):
                body = client.get(demo.base_url + service["version_path"]).json()
                found[service["name"]] = body.get("version")
    return found


def _wait_versions(demo: DemoSystem, release: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        versions = _versions(demo)
        if set(versions.values()) == {release}:
            return
        assert time.monotonic() < deadline, f"not all at {release}: {versions}"
        time.sleep(1)


def _deploy(demo: DemoSystem, release: str) -> None:
    data = _target(demo)
    prefix = data["registry"]["repository_prefix"]
    for service in data["services"]:
        deployment = service.get("deployment", service["name"])
        _kubectl(
            demo,
            "set",
            "image",
            f"deployment/{deployment}",
            f"*={prefix}/{service['image']}:{release}",
        )
    for service in data["services"]:
        _kubectl(
            demo,
            "rollout",
            "status",
            f"deployment/{service['name']}",
            "--timeout=120s",
            timeout=130,
        )
    _wait_versions(demo, release)


def _record_consistency(demo: DemoSystem, reports: Path) -> list[str]:
    """What the pre-deploy gate keeps for "Data consistency": the consistency
    keys' checksums, in its "Backup verification" item of a pre-deployment run
    record, in the target's record store."""
    data = _target(demo)
    keys = data["redis"]["consistency_keys"]
    with connect(data["redis"]["url"], timeout=2) as client:
        for key in keys:
            if not client.exists(key):
                client.set(key, json.dumps({"seeded": key}))
        snapshot = consistency.snapshot(client, keys)
    now = time.time()
    fingerprints = {"release": data["previous_release"], "recorded_at": iso(now), "keys": snapshot}
    item = ItemRecord(
        title="Backup verification",
        stage="predeploy",
        phase="Planning and Preparation",
        nodeid="suites/predeploy/test_planning.py::test_backup_verification",
        outcome="passed",
        data={"consistency": fingerprints},
    )
    record = RunRecord(
        id=new_id(data["name"], "production", data["release"], now),
        target=data["name"],
        release=data["release"],
        previous_release=data["previous_release"],
        environment="production",
        stages=["predeploy"],
        phases=[item.phase],
        items=[item],
        verdict="GO",
        go=True,
        started=iso(now),
        finished=iso(now),
        gonogo_version=__version__,
        checklist={},
        execute=False,
    )
    store = open_store(load_target(demo.target_file), reports)
    try:
        store.put(record)
    finally:
        store.close()
    return keys


def _gonogo(demo: DemoSystem, cwd: Path, *args: str, timeout: float = 600) -> Finished:
    return run_pytest(
        str(SUITES),
        "--target",
        str(demo.target_file),
        "--env",
        "production",
        "--reports-dir",
        str(cwd / "reports"),
        "-rA",
        *args,
        cwd=cwd,
        env=environment(sandbox_tokens(), without=("PYTHONWARNINGS",)),
        timeout=timeout,
    )


def _verdict(output: str) -> str:
    lines = verdict_lines(output)
    assert lines, output[-3000:]
    return lines[-1]


def test_healthy_release_is_go_with_load_figures(tmp_path: Path) -> None:
    with demo_system(tmp_path, "pd-go") as demo:
        _deploy(demo, "v1.1.0")
        _record_consistency(demo, tmp_path / "reports")

        with user_traffic(demo):
            done = _gonogo(demo, tmp_path, "-m", "postdeploy")

        assert done.returncode == 0, done.stdout[-4000:]
        assert _verdict(done.stdout).startswith("GO"), done.stdout[-3000:]
        assert "load t=" in done.stdout  # the live line
        results = sorted(
            (tmp_path / "reports" / "load").glob("load-v1.1.0-production-baseline-*.json")
        )
        assert results, "no load result written"
        figures = json.loads(results[-1].read_text())
        assert figures["requests"] > 0 and figures["error_rate"] <= 0.05
        assert figures["history"]


def test_distributed_load_gives_one_aggregated_result(tmp_path: Path) -> None:
    with demo_system(tmp_path, "pd-workers") as demo:
        done = _gonogo(
            demo, tmp_path, "-m", "postdeploy", "-k", "load_baseline", "--load-workers", "2"
        )
        assert "x2 workers" in done.stdout, done.stdout[-3000:]
        results = list((tmp_path / "reports" / "load").glob("load-*-baseline-*.json"))
        assert len(results) == 1
        assert json.loads(results[0].read_text())["requests"] > 0
