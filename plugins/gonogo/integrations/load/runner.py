"""The load runner: ``python -m gonogo.integrations.load.runner --spec FILE --out FILE ...``.

Runs in its own process because it imports Locust, and Locust must come first
(gevent patches sockets, ssl and threading on import). Three roles, Locust's
own engine in each:

* ``local``  one process runs every user;
* ``master`` starts no user itself, waits for ``--expect-workers`` workers,
  hands them the users and aggregates their stats;
* ``worker`` joins a master at ``--master-host``/``--master-port`` (on this
  machine, another one, or a Kubernetes pod) and runs its share.

Every second the local or master process writes the run so far to ``--live``
(replaced atomically), a sample per second of users, requests per second,
error rate and mean/p50/p95 latency over that second; at the end it writes the
totals to ``--out``. A worker writes its own request count to ``--out`` when it
quits, which lets a test prove that the master's total is the sum of the
workers' requests.
"""

from __future__ import annotations

# isort: skip_file
# Locust first: its import monkey-patches the standard library through gevent,
# which must happen before ssl, sockets and threading are used.
import locust
from locust import argument_parser as locust_arguments
from locust import runners as locust_runners
from locust.env import Environment
from locust.stats import StatsEntry, calculate_response_time_percentile
import gevent

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gonogo.integrations.load import locustfile
from gonogo.integrations.load.spec import WORKERS_MISSING_EXIT, LoadSpec, service_of
from gonogo.integrations.load.users import build_user_class

log = logging.getLogger("gonogo.integrations.load.runner")

SAMPLE_INTERVAL_S = 1.0
WORKER_REPORT_INTERVAL_S: float = locust_runners.WORKER_REPORT_INTERVAL
"""How often workers report to the master (set by gonogo's locustfile, which
every worker imports: once a second)."""


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


class _Window:
    """Turns cumulative totals into per-second samples by differencing."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.last_t = started
        self.last_requests = 0
        self.last_failures = 0
        self.last_time_sum = 0.0
        self.last_times: dict[int, int] = {}

    def sample(self, total: StatsEntry, users: int) -> dict[str, float]:
        now = time.monotonic()
        requests = total.num_requests - self.last_requests
        failures = total.num_failures - self.last_failures
        time_sum = total.total_response_time - self.last_time_sum
        times = {
            ms: count - self.last_times.get(ms, 0)
            for ms, count in total.response_times.items()
            if count - self.last_times.get(ms, 0) > 0
        }
        span = max(now - self.last_t, 1e-6)
        self.last_t = now
        self.last_requests, self.last_failures = total.num_requests, total.num_failures
        self.last_time_sum, self.last_times = total.total_response_time, dict(total.response_times)
        return {
            "t": round(now - self.started, 2),
            "users": users,
            "requests": requests,
            "rps": round(requests / span, 2),
            "error_rate": round(failures / requests, 4) if requests else 0.0,
            "mean_ms": round(time_sum / requests, 1) if requests else 0.0,
            "p50_ms": calculate_response_time_percentile(times, requests, 0.5) if requests else 0,
            "p95_ms": calculate_response_time_percentile(times, requests, 0.95) if requests else 0,
        }


def _entry_summary(entry: StatsEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "service": service_of(entry.name),
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "mean_ms": round(entry.avg_response_time, 1),
        "p95_ms": entry.get_response_time_percentile(0.95) if entry.num_requests else 0,
        "max_ms": entry.max_response_time or 0,
    }


def _summary(
    env: Environment,
    history: list[dict[str, float]],
    started_at: str,
    duration: float,
    stopped_by: str,
    workers: dict[str, int],
) -> dict[str, Any]:
    total = env.stats.total
    requests = total.num_requests
    percentile = total.get_response_time_percentile
    return {
        "started": started_at,
        "duration_s": round(duration, 2),
        "users": max((int(s["users"]) for s in history), default=0),
        "requests": requests,
        "failures": total.num_failures,
        "error_rate": round(total.num_failures / requests, 4) if requests else 0.0,
        "mean_ms": round(total.avg_response_time, 1),
        "p50_ms": percentile(0.5) if requests else 0,
        "p95_ms": percentile(0.95) if requests else 0,
        "p99_ms": percentile(0.99) if requests else 0,
        "max_ms": total.max_response_time or 0,
        "rps": round(requests / duration, 2) if duration > 0 else 0.0,
        "stopped_by": stopped_by,
        "history": history,
        "endpoints": [_entry_summary(e) for e in env.stats.entries.values()],
        "errors": [
            {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
            for e in env.stats.errors.values()
        ][:50],
        "workers": workers,
    }


def _drive(
    env: Environment, spec: LoadSpec, live: Path | None, user_count: Callable[[], int]
) -> tuple[list[dict[str, float]], float, str]:
    """Sample every second until the duration or the request cap is reached."""
    started = time.monotonic()
    window = _Window(started)
    history: list[dict[str, float]] = []
    stopped_by = "duration"
    deadline = started + spec.duration_s
    while True:
        gevent.sleep(min(SAMPLE_INTERVAL_S, max(deadline - time.monotonic(), 0.01)))
        sample = window.sample(env.stats.total, user_count())
        history.append(sample)
        if live is not None:
            _write_atomic(live, {"state": "running", "history": history})
        if env.stats.total.num_requests >= spec.max_requests:
            stopped_by = "max_requests"
            break
        if time.monotonic() >= deadline:
            break
    return history, time.monotonic() - started, stopped_by


def _environment(spec: LoadSpec) -> Environment:
    return Environment(user_classes=[build_user_class(spec)], host=spec.base_url, stop_timeout=0.0)


def _master_environment(spec: LoadSpec) -> Environment:
    """A master's environment: the spec as the custom argument Locust forwards
    to every worker when the run starts, and gonogo's locustfile as the file a
    ``locust --worker -f -`` downloads from it."""
    parser = locust_arguments.get_parser(default_config_files=[])
    options = parser.parse_args([locustfile.SPEC_ARGUMENT, json.dumps(asdict(spec))])
    return Environment(
        user_classes=[build_user_class(spec)],
        host=spec.base_url,
        stop_timeout=0.0,
        parsed_options=options,
        parsed_locustfiles=[locustfile.__file__],
    )


def run_local(spec: LoadSpec, out: Path, live: Path | None) -> None:
    env = _environment(spec)
    runner = env.create_local_runner()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    runner.start(spec.users, spawn_rate=spec.spawn_rate)
    history, duration, stopped_by = _drive(env, spec, live, lambda: runner.user_count)
    runner.quit()
    _write_atomic(out, _summary(env, history, started_at, duration, stopped_by, {}))


def run_master(
    spec: LoadSpec,
    out: Path,
    live: Path | None,
    host: str,
    port: int,
    expect_workers: int,
    join_timeout_s: float,
) -> None:
    env = _master_environment(spec)
    runner = env.create_master_runner(master_bind_host=host, master_bind_port=port)
    reported: dict[str, float] = {}
    per_worker: dict[str, int] = {}

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        reported[client_id] = time.monotonic()
        total = data.get("stats_total") or {}
        per_worker[client_id] = per_worker.get(client_id, 0) + int(total.get("num_requests", 0))

    env.events.worker_report.add_listener(on_report)
    _wait_for_workers(runner, live, f"{host}:{port}", expect_workers, join_timeout_s)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    runner.start(spec.users, spawn_rate=spec.spawn_rate)
    history, duration, stopped_by = _drive(env, spec, live, lambda: runner.user_count)
    runner.stop()
    # Wait for one report from every worker sent after its users stopped, so
    # the totals hold every request the workers made.
    stopped = time.monotonic()
    settle = stopped + 10 * WORKER_REPORT_INTERVAL_S
    while time.monotonic() < settle and any(
        reported.get(c.id, 0.0) <= stopped for c in runner.clients.all
    ):
        gevent.sleep(0.1)
    runner.quit()
    summary = _summary(env, history, started_at, duration, stopped_by, per_worker)
    summary["expected_workers"] = expect_workers
    _write_atomic(out, summary)


def _wait_for_workers(
    runner: locust_runners.MasterRunner,
    live: Path | None,
    bind: str,
    expected: int,
    join_timeout_s: float,
) -> None:
    """Wait, bounded, until ``expected`` workers are ready; say in the live
    file how many have joined each time that changes, so the pytest side can
    show it. Too few in time: the live file says so and the process exits
    with WORKERS_MISSING_EXIT."""
    deadline = time.monotonic() + join_timeout_s
    shown = -1
    while True:
        joined = len(runner.clients.ready)
        state = {"bind": bind, "joined": joined, "expected": expected, "history": []}
        if joined != shown and live is not None:
            _write_atomic(live, {"state": "waiting for workers", **state})
            shown = joined
        if joined >= expected:
            return
        if time.monotonic() > deadline:
            if live is not None:
                _write_atomic(live, {"state": "workers missing", **state})
            runner.quit()
            log.error(
                "only %d of %d load workers joined %s within %g s",
                joined,
                expected,
                bind,
                join_timeout_s,
            )
            raise SystemExit(WORKERS_MISSING_EXIT)
        gevent.sleep(0.1)


def run_worker(spec: LoadSpec, out: Path, host: str, port: int) -> None:
    env = _environment(spec)
    counts = {"requests": 0, "failures": 0}

    def on_request(exception: BaseException | None = None, **_: Any) -> None:
        counts["requests"] += 1
        if exception is not None:
            counts["failures"] += 1

    env.events.request.add_listener(on_request)
    runner = env.create_worker_runner(master_host=host, master_port=port)
    runner.greenlet.join()
    _write_atomic(out, {"client_id": runner.client_id, **counts})


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gonogo.integrations.load.runner", description=__doc__
    )
    parser.add_argument("--spec", type=Path, required=True, help="load spec JSON")
    parser.add_argument("--out", type=Path, required=True, help="where the result JSON goes")
    parser.add_argument("--live", type=Path, default=None, help="per-second progress JSON")
    parser.add_argument("--role", choices=("local", "master", "worker"), default="local")
    parser.add_argument("--master-host", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=5557)
    parser.add_argument("--expect-workers", type=int, default=1)
    parser.add_argument(
        "--join-timeout", type=float, default=60.0, help="seconds the master waits for its workers"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    spec = LoadSpec.from_file(args.spec)
    if args.role == "local":
        run_local(spec, args.out, args.live)
    elif args.role == "master":
        run_master(
            spec,
            args.out,
            args.live,
            args.master_host,
            args.master_port,
            args.expect_workers,
            args.join_timeout,
        )
    else:
        run_worker(spec, args.out, args.master_host, args.master_port)
    log.info("load %s finished (locust %s)", args.role, locust.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
