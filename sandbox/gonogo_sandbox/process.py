"""Background processes of the sandbox: started detached with a log file and a
pid file each, so that ``gonogo sandbox down`` can stop exactly what ``up``
started, by pid, from another shell."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gonogo.errors import GonogoError

from gonogo_sandbox.config import SandboxConfig

_children: list[subprocess.Popen[bytes]] = []
"""Processes this interpreter started. Kept referenced on purpose: they are
detached daemons that outlive us, and dropping the Popen object would make
Python warn that a subprocess is still running."""


class SandboxError(GonogoError):
    """A sandbox component could not be started or stopped; the message names the fix.
    A :class:`GonogoError`, so ``gonogo`` prints it as its one line."""


def pid_file(cfg: SandboxConfig, name: str) -> Path:
    return cfg.pids_dir / f"{name}.pid"


def log_file(cfg: SandboxConfig, name: str) -> Path:
    return cfg.logs_dir / f"{name}.log"


def read_pid(cfg: SandboxConfig, name: str) -> int | None:
    try:
        return int(pid_file(cfg, name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_running(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def spawn(
    cfg: SandboxConfig,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` detached in its own session; stdout and stderr go to the
    component's log file. Returns the pid, also written to the pid file.
    Starting a component that is already running returns its pid unchanged."""
    existing = read_pid(cfg, name)
    if is_running(existing):
        assert existing is not None
        return existing
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    cfg.pids_dir.mkdir(parents=True, exist_ok=True)
    with open(log_file(cfg, name), "ab") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as e:
            raise SandboxError(
                f"{name}: cannot run {argv[0]!r}: not found; run 'bash sandbox/install-deps.sh' "
                "(apt packages) or 'sandbox/cluster/build.sh' (cluster binaries)"
            ) from e
    _children.append(proc)
    pid_file(cfg, name).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(cfg: SandboxConfig, name: str, *, timeout: float = 10.0) -> bool:
    """Stop the component's whole process group (SIGTERM, then SIGKILL after
    ``timeout`` seconds). Returns True when something was running."""
    pid = read_pid(cfg, name)
    pid_file(cfg, name).unlink(missing_ok=True)
    if not is_running(pid):
        return False
    assert pid is not None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not is_running(pid):
                return True
            time.sleep(0.1)
    return True


def wait_until(
    ready: Callable[[], bool], *, what: str, timeout: float, log: Path | None = None
) -> None:
    """Poll ``ready`` until it returns True or ``timeout`` seconds pass; on
    timeout raise SandboxError naming the log to read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    where = f"; see {log}" if log else ""
    raise SandboxError(f"{what} not ready after {timeout:.0f} s{where}")
