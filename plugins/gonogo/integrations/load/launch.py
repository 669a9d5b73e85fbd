"""Start the load runner in its own processes and wait for its result.

The pytest side of a load run: writes the spec, starts ``python -m
gonogo.integrations.load.runner`` (alone, as a master plus N workers on this
machine, or as a master that waits for workers started elsewhere), passes each
new per-second sample to a callback for the live line, enforces a deadline on
the whole run, and returns the parsed :class:`LoadResult`. Nothing here
imports Locust."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from gonogo.errors import ProbeError
from gonogo.integrations.load.spec import WORKERS_MISSING_EXIT, LoadSpec
from gonogo.integrations.load.stats import LoadResult, read_result

STARTUP_GRACE_S = 45.0
"""Time allowed beyond the run's duration for interpreters to start, workers to
join and the final stats to settle (two cores shared with other work are slow)."""
POLL_INTERVAL_S = 0.25

JOIN_TIMEOUT_S = 120.0
"""How long a master waits for workers started elsewhere (pods to be
scheduled, images pulled) before it gives up."""
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""gonogo's locustfile, the one ``locust --worker -f`` runs (also printed by
``python -m gonogo.integrations.load.locustfile --print-path``)."""

Progress = Callable[[dict[str, float]], None]
Status = Callable[[str], None]


@dataclass(frozen=True)
class RemoteWorkers:
    """A master bound to ``host:port`` that waits for ``expected`` Locust
    workers started elsewhere, each with :meth:`worker_command`."""

    host: str
    port: int
    expected: int
    join_timeout_s: float = JOIN_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.expected < 1 or not 1 <= self.port <= 65535 or self.join_timeout_s <= 0:
            raise ValueError("remote workers need expected >= 1, a port 1-65535, a timeout > 0")

    @property
    def bind(self) -> str:
        return f"{self.host}:{self.port}"

    def worker_command(self) -> str:
        """What to run on a worker's machine. A master bound to every address
        (0.0.0.0) is reached at this machine's address, which only the user knows."""
        master = "MASTER_ADDRESS" if self.host in ("0.0.0.0", "*", "::") else self.host
        return f"locust --worker --master-host {master} --master-port {self.port} -f {LOCUSTFILE}"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, for the master to bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class _Process:
    """One runner process with its log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._log_file: IO[bytes] = log.open("wb")
        env = dict(os.environ)
        env.pop("PYTHONWARNINGS", None)  # pytest's "error" must not reach gevent's process
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "gonogo.integrations.load.runner", *args],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )

    def stop(self, grace_s: float = 5.0) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=grace_s)
        self._log_file.close()


def run_load(
    spec: LoadSpec,
    workdir: Path,
    *,
    workers: int = 0,
    remote: RemoteWorkers | None = None,
    on_sample: Progress | None = None,
    on_status: Status | None = None,
    deadline_s: float | None = None,
) -> LoadResult:
    """Run ``spec`` and return its result.

    ``workers=0`` runs every user in one process; ``workers=N`` starts a Locust
    master and N worker processes on this machine, and the result then carries
    each worker's own request count in ``workers``. ``remote`` starts only the
    master, which waits for workers started elsewhere (``on_status`` hears how
    many have joined); the result then carries each worker's request count as
    the master received it. ``deadline_s`` (default: the duration plus
    :data:`STARTUP_GRACE_S`, plus the join timeout for remote workers) bounds
    the whole run; past it every process is stopped and ProbeError says where
    the logs are."""
    if workers and remote is not None:
        raise ValueError("give local workers or remote workers, not both")
    workdir.mkdir(parents=True, exist_ok=True)
    spec_file = spec.to_file(workdir / "spec.json")
    out, live = workdir / "result.json", workdir / "live.json"
    for stale in (out, live, *workdir.glob("worker-*.json")):
        stale.unlink(missing_ok=True)
    common = ["--spec", str(spec_file), "--out", str(out), "--live", str(live)]
    processes: list[_Process] = []
    worker_files: list[Path] = []
    budget = deadline_s if deadline_s is not None else spec.duration_s + STARTUP_GRACE_S
    if remote is not None and deadline_s is None:
        budget += remote.join_timeout_s
    try:
        if remote is not None:
            main = _Process(
                [
                    *common,
                    "--role",
                    "master",
                    "--master-host",
                    remote.host,
                    "--master-port",
                    str(remote.port),
                    "--expect-workers",
                    str(remote.expected),
                    "--join-timeout",
                    str(remote.join_timeout_s),
                ],
                workdir / "master.log",
            )
            processes.append(main)
        elif workers:
            port = free_port()
            where = ["--master-host", "127.0.0.1", "--master-port", str(port)]
            main = _Process(
                [
                    *common,
                    "--role",
                    "master",
                    *where,
                    "--expect-workers",
                    str(workers),
                    "--join-timeout",
                    str(STARTUP_GRACE_S / 2),
                ],
                workdir / "master.log",
            )
            processes.append(main)
            for index in range(workers):
                worker_out = workdir / f"worker-{index}.json"
                worker_files.append(worker_out)
                processes.append(
                    _Process(
                        [
                            "--spec",
                            str(spec_file),
                            "--out",
                            str(worker_out),
                            "--role",
                            "worker",
                            *where,
                        ],
                        workdir / f"worker-{index}.log",
                    )
                )
        else:
            main = _Process([*common, "--role", "local"], workdir / "runner.log")
            processes.append(main)
        _follow(main, live, on_sample, _joining(remote, on_status), time.monotonic() + budget)
        if remote is not None and main.popen.returncode == WORKERS_MISSING_EXIT:
            raise ProbeError(_workers_missing(remote, live))
        if main.popen.returncode != 0:
            raise ProbeError(
                f"load runner failed (exit {main.popen.returncode}): {_tail(main.log)}; "
                f"full log: {main.log}"
            )
        result = read_result(out)
        if workers:
            result = replace(result, workers=_worker_counts(processes[1:], worker_files))
        return result
    finally:
        for process in processes:
            process.stop()


def _joining(remote: RemoteWorkers | None, on_status: Status | None) -> Status | None:
    """The progress line while a master waits for remote workers."""
    if remote is None or on_status is None:
        return None
    command = remote.worker_command()

    def say(joined: str) -> None:
        on_status(
            f"waiting for load workers: {joined} of {remote.expected} joined {remote.bind}; "
            f"start one with: {command}"
        )

    return say


def _workers_missing(remote: RemoteWorkers, live: Path) -> str:
    try:
        joined = int(json.loads(live.read_text()).get("joined", 0))
    except (OSError, ValueError):
        joined = 0
    return (
        f"only {joined} of {remote.expected} load workers joined the master at {remote.bind} "
        f"within {remote.join_timeout_s:g} s; start each with: {remote.worker_command()} "
        f"(it must reach {remote.bind})"
    )


def _follow(
    main: _Process,
    live: Path,
    on_sample: Progress | None,
    on_joined: Status | None,
    deadline: float,
) -> None:
    """Poll the live file until the main process exits or the deadline passes."""
    shown = 0
    joined_shown: str | None = None
    while True:
        finished = main.popen.poll() is not None
        if on_joined is not None:
            joined_shown = _show_joined(live, joined_shown, on_joined)
        if on_sample is not None:
            shown = _show_new(live, shown, on_sample)
        if finished:
            return
        if time.monotonic() > deadline:
            raise ProbeError(
                f"load run did not finish in time; stopped it. Runner log: {main.log} "
                f"(last lines: {_tail(main.log, 3)})"
            )
        time.sleep(POLL_INTERVAL_S)


def _show_joined(live: Path, shown: str | None, on_joined: Status) -> str | None:
    """Report the number of joined workers each time it changes, while waiting."""
    try:
        data = json.loads(live.read_text())
    except (OSError, ValueError):
        return shown
    if data.get("state") != "waiting for workers":
        return shown
    joined = str(data.get("joined", 0))
    if joined != shown:
        on_joined(joined)
    return joined


def _show_new(live: Path, shown: int, on_sample: Progress) -> int:
    try:
        history = json.loads(live.read_text()).get("history", [])
    except (OSError, ValueError):
        return shown
    for sample in history[shown:]:
        on_sample(sample)
    return max(shown, len(history))


def _worker_counts(workers: list[_Process], files: list[Path]) -> dict[str, int]:
    """Each worker's own request count, read after it quit."""
    counts: dict[str, int] = {}
    for process, file in zip(workers, files, strict=True):
        try:
            process.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            raise ProbeError(
                f"load worker did not quit after the master stopped; log: {process.log}"
            ) from None
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError) as e:
            raise ProbeError(
                f"load worker wrote no result ({e}); log: {process.log}: {_tail(process.log)}"
            ) from e
        counts[str(data["client_id"])] = int(data["requests"])
    return counts
