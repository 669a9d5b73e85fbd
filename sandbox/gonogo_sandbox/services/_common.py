"""What every sandbox service module does the same way: refuse a port that
another program holds, start its process once, wait for it with a deadline and
fail early, with the end of its log, when the process dies while starting."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig

PROBE_TIMEOUT = 2.0
"""Seconds one readiness probe may take; a local service answers far sooner."""


def port_open(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def http_ok(url: str, *, expect: int = 200) -> bool:
    """True when ``GET url`` answers with status ``expect``."""
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT).status_code == expect
    except httpx.HTTPError:
        return False


def log_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def locked(cfg: SandboxConfig, name: str) -> Iterator[None]:
    """Hold an exclusive lock named ``name`` in the state directory, so that two
    processes starting the sandbox at once (pytest-xdist workers, two shells)
    do not both start the same component."""
    locks = cfg.state_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def running(cfg: SandboxConfig, name: str) -> bool:
    return process.is_running(process.read_pid(cfg, name))


@contextlib.contextmanager
def fresh_storage(cfg: SandboxConfig, name: str, data: Path) -> Iterator[None]:
    """Empty ``data`` unless ``name`` is running, and hold that until the
    ``with`` body (which starts it) is done. A service with history
    (Prometheus' samples, Alertmanager's silences) starts with none, so one
    run's faults never reach the next run's metric windows."""
    with locked(cfg, f"{name}-storage"):
        if not running(cfg, name):
            shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True, exist_ok=True)
        yield


def start_process(
    cfg: SandboxConfig,
    name: str,
    argv: Sequence[str],
    *,
    ports: Sequence[str],
    ready: Callable[[], bool],
    timeout: float,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> None:
    """Start ``argv`` as component ``name`` unless it already runs, then wait
    until ``ready()``. ``ports`` are the config port names the process will
    listen on; a port already taken by a process the sandbox did not start is
    refused up front, since the new process would only fail to bind."""
    with locked(cfg, name):
        _start_locked(cfg, name, argv, ports=ports, ready=ready, timeout=timeout, env=env, cwd=cwd)


def _start_locked(
    cfg: SandboxConfig,
    name: str,
    argv: Sequence[str],
    *,
    ports: Sequence[str],
    ready: Callable[[], bool],
    timeout: float,
    env: dict[str, str] | None,
    cwd: Path | None,
) -> None:
    if running(cfg, name):
        if ready():
            return
    else:
        for port_name in ports:
            port = cfg.port(port_name)
            if port_open(port):
                raise process.SandboxError(
                    f"{name}: port {port} on {HOST} is taken by a process the sandbox did not "
                    f"start; stop it or move the sandbox with GONOGO_SANDBOX_PORT_"
                    f"{port_name.upper()}=<free port>"
                )
    pid = process.spawn(cfg, name, argv, env=env, cwd=cwd)
    log = process.log_file(cfg, name)

    def alive_and_ready() -> bool:
        if not process.is_running(pid):
            raise process.SandboxError(
                f"{name} exited while starting; last lines of {log}:\n{log_tail(log)}"
            )
        return ready()

    process.wait_until(alive_and_ready, what=name, timeout=timeout, log=log)
