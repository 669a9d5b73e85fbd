"""``down`` leaves nothing running and ``up`` brings everything back, in time.

Expensive (the whole sandbox restarts), so it runs after every other test and
always ends with the sandbox up again."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from gonogo.sandbox import cluster, stack
from gonogo.sandbox.config import SandboxConfig

UP_BUDGET_S = 90.0


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


@pytest.mark.sandbox_lifecycle
def test_down_leaves_nothing_and_up_restores(sandbox_running: SandboxConfig) -> None:
    cfg = sandbox_running
    bin_path = cluster.bin_dir()
    try:
        left = stack.down(cfg, out=lambda line: None)
        assert left == [], f"still running by pid file: {left}"
        assert sandbox_processes(cfg, bin_path) == []
    finally:
        elapsed = stack.up(cfg, out=lambda line: None)
    assert elapsed < UP_BUDGET_S, f"'up' took {elapsed:.1f} s, budget {UP_BUDGET_S:.0f} s"
    with httpx.Client(timeout=10) as http:
        r = http.get(cfg.url("demo") + "/mcp-research/health")
    assert r.status_code == 200 and r.json()["version"] == "v1.0.0"
