"""``up`` on a running sandbox resets it; ``down`` leaves nothing and ``up``
brings everything back, in time, with no history from before.

Both break or restart the shared sandbox, so they run after every other test
and always end with the sandbox up, in its starting state."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from gonogo_sandbox import cluster, stack
from gonogo_sandbox.config import DEFAULT_PORTS, HOST, SandboxConfig
from gonogo_sandbox.services.fakes import state

pytestmark = pytest.mark.sandbox

UP_BUDGET_S = 90.0
RESET_BUDGET_S = 45.0
"""``up`` on a running sandbox: a few seconds of rollouts and restarts."""
SCRAPE_S = 2.0
"""The sandbox Prometheus' scrape interval."""
NAMESPACE = "sophia"
FAULTY = "mcp-context"
"""Gets a 20 % error-rate annotation and serves errors before the reset."""
OTHER_RELEASE = "mcp-research"
"""Moved to v1.1.0 before the reset."""
PAUSED = "sophia-hubspot"
"""Paused before the reset."""
FAULT_PREFIX = "sandbox.gonogo.dev/"
RELEASE_REGISTRY = "127.0.0.1:15000/"
"""Where the manifests take the release's images from (Grafana, Loki and
Prometheus run public images of their own versions)."""
UP_SAYS = (
    "the sandbox was already running: reset to release v1.0.0, no fault, "
    "empty metric history ('gonogo sandbox reset' does only that)"
)


def sandbox_processes(cfg: SandboxConfig, bin_path: Path) -> list[str]:
    """Every process on the machine that runs a sandbox binary or refers to the
    sandbox's state directory, as 'pid command'."""
    found = []
    markers = (str(bin_path), str(cfg.state_dir))
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        if any(m in cmdline or exe.startswith(m) for m in markers):
            found.append(f"{entry.name} {cmdline.strip()[:120]}")
    return found


def promql(cfg: SandboxConfig, query: str) -> list[float]:
    """The values of an instant query, one per series."""
    r = httpx.get(cfg.url("prometheus") + "/api/v1/query", params={"query": query}, timeout=10)
    r.raise_for_status()
    return [float(s["value"][1]) for s in r.json()["data"]["result"]]


def samples_since(seconds: float) -> int:
    """The most samples one series can have from a Prometheus started
    ``seconds`` ago: one per scrape, plus one for the scrape at the start."""
    return math.ceil(seconds / SCRAPE_S) + 1


def assert_no_history_before(cfg: SandboxConfig, began: float) -> None:
    """Prometheus holds no sample from before ``began`` (time.time()) and
    Alertmanager no silence."""
    demo_up = f'up{{job="demo",namespace="{NAMESPACE}"}}'
    eventually(lambda: bool(promql(cfg, demo_up)), what="a first scrape of the demo targets")
    most = samples_since(time.time() - began)
    counts = promql(cfg, f"count_over_time({demo_up}[1h])")
    assert counts and max(counts) <= most, (
        f"up of the demo targets has {max(counts, default=0):.0f} samples in the last hour; "
        f"a Prometheus started {time.time() - began:.0f} s ago has at most {most}"
    )
    errors = promql(cfg, f'http_requests_total{{namespace="{NAMESPACE}",code="500"}}')
    assert all(v == 0 for v in errors), f"500 answers from before counted: {errors}"
    silences = httpx.get(cfg.url("alertmanager") + "/api/v2/silences", timeout=10).json()
    active = [s["id"] for s in silences if s["status"]["state"] == "active"]
    assert not active, f"silences kept: {active}"


def eventually(check: Any, *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout:.0f} s"
        time.sleep(0.5)


def served(cfg: SandboxConfig) -> dict[str, dict[str, Any]]:
    r = httpx.get(
        cfg.url("demo") + "/_sandbox/services", params={"namespace": NAMESPACE}, timeout=10
    )
    return {v["name"]: v for v in r.json()}


def kubectl(cfg: SandboxConfig, bin_path: Path, *args: str) -> str:
    result = cluster.kubectl(cfg, bin_path, *args)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr.strip()}"
    return result.stdout


def break_everything(cfg: SandboxConfig, bin_path: Path) -> None:
    """What a faulty release and its investigation leave behind: a fault
    annotation, another release, a paused rollout, errors in Prometheus' history,
    a silence in Alertmanager and a fault in the fakes."""
    fault = {
        "spec": {"template": {"metadata": {"annotations": {FAULT_PREFIX + "error-rate": "0.2"}}}}
    }
    kubectl(cfg, bin_path, "patch", f"deployment/{FAULTY}", "-n", NAMESPACE, "--type=merge",
            "-p", json.dumps(fault))  # fmt: skip
    deployment = json.loads(
        kubectl(cfg, bin_path, "get", f"deployment/{OTHER_RELEASE}", "-n", NAMESPACE, "-o", "json")
    )
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    image = container["image"].rsplit(":", 1)[0] + ":v1.1.0"
    kubectl(cfg, bin_path, "set", "image", f"deployment/{OTHER_RELEASE}",
            f"{container['name']}={image}", "-n", NAMESPACE)  # fmt: skip
    kubectl(cfg, bin_path, "rollout", "pause", f"deployment/{PAUSED}", "-n", NAMESPACE)
    eventually(
        lambda: (
            served(cfg)[FAULTY]["faults"] == "error-rate 0.2"
            and served(cfg)[OTHER_RELEASE]["version"] == "v1.1.0"
        ),
        what=f"{FAULTY} faulty and {OTHER_RELEASE} on v1.1.0",
    )
    with httpx.Client(timeout=10) as http:
        codes = [http.get(f"{cfg.url('demo')}/{FAULTY}/work").status_code for _ in range(50)]
    assert codes.count(500) == 10, codes
    silence = {
        "matchers": [{"name": "alertname", "value": "DemoHighErrorRatio", "isRegex": False}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
        "createdBy": "e2e",
        "comment": "investigating",
    }
    httpx.post(
        cfg.url("alertmanager") + "/api/v2/silences", json=silence, timeout=10
    ).raise_for_status()
    state.update(cfg, hubspot={"available": False})
    query = f'http_requests_total{{namespace="{NAMESPACE}",service="{FAULTY}",code="500"}}'
    eventually(lambda: sum(promql(cfg, query)) > 0, what="the errors in Prometheus' history")


@pytest.mark.sandbox_lifecycle
def test_up_on_a_running_sandbox_resets_it(sandbox_running: SandboxConfig) -> None:
    cfg = sandbox_running
    bin_path = cluster.bin_dir()
    break_everything(cfg, bin_path)

    began = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "gonogo", "sandbox", "up"],
        capture_output=True, text=True, timeout=RESET_BUDGET_S + 60, check=False,
    )  # fmt: skip
    took = time.time() - began
    assert done.returncode == 0, done.stderr

    deployments = json.loads(kubectl(cfg, bin_path, "get", "deploy", "-n", NAMESPACE, "-o", "json"))
    for d in deployments["items"]:
        name, spec = d["metadata"]["name"], d["spec"]
        images = [c["image"] for c in spec["template"]["spec"]["containers"]]
        released = [i for i in images if i.startswith(RELEASE_REGISTRY)]
        assert all(i.endswith(":v1.0.0") for i in released), f"{name}: {images}"
        left = [k for k in spec["template"]["metadata"].get("annotations") or {} if
                k.startswith(FAULT_PREFIX)]  # fmt: skip
        assert not left, f"{name} keeps {left}"
        assert not spec.get("paused"), f"{name} still paused"
    views = served(cfg)
    wrong = {n: (v["version"], v["faults"]) for n, v in views.items()
             if (v["version"], v["faults"]) != ("v1.0.0", "none")}  # fmt: skip
    assert not wrong, f"the mirror serves {wrong}"
    assert_no_history_before(cfg, began)
    assert state.load(cfg) == state.seed_state(), "the fakes keep an injected fault"
    assert UP_SAYS in done.stdout.splitlines(), done.stdout
    assert took < RESET_BUDGET_S, f"'up' on a running sandbox took {took:.1f} s"


def test_reset_of_a_sandbox_that_is_not_running_says_how_to_start_it(tmp_path: Path) -> None:
    """A sandbox of its own, on ports nothing listens on: nothing to reset."""
    env = {**os.environ, "GONOGO_SANDBOX_DIR": str(tmp_path / "sandbox")}
    for name in DEFAULT_PORTS:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            env[f"GONOGO_SANDBOX_PORT_{name.upper()}"] = str(sock.getsockname()[1])
    done = subprocess.run(
        [sys.executable, "-m", "gonogo", "sandbox", "reset"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "gonogo sandbox: the sandbox is not running; 'gonogo sandbox up' starts it, already reset"
    ]


@pytest.mark.sandbox_lifecycle
def test_down_leaves_nothing_and_up_restores(sandbox_running: SandboxConfig) -> None:
    cfg = sandbox_running
    bin_path = cluster.bin_dir()
    try:
        left = stack.down(cfg, out=lambda line: None)
        assert left == [], f"still running by pid file: {left}"
        assert sandbox_processes(cfg, bin_path) == []
    finally:
        began = time.time()
        elapsed = stack.up(cfg, out=lambda line: None)
    assert elapsed < UP_BUDGET_S, f"'up' took {elapsed:.1f} s, budget {UP_BUDGET_S:.0f} s"
    with httpx.Client(timeout=10) as http:
        r = http.get(cfg.url("demo") + "/mcp-research/health")
    assert r.status_code == 200 and r.json()["version"] == "v1.0.0"
    assert_no_history_before(cfg, began)
