"""The result of a load run, as the pytest side reads it from the runner's JSON.

Figures per run and per service: a fault in one service is diluted in the
run's totals (20 % errors on one path of ten is 2 % overall), so the checks
judge each service as well as the whole."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonogo.errors import ProbeError


@dataclass(frozen=True)
class ServiceStats:
    """One service's share of the run (all its paths together)."""

    service: str
    requests: int
    failures: int
    mean_ms: float
    p95_ms: float
    """The highest p95 of the service's paths: an upper bound when it has several."""

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class LoadResult:
    """Totals, per-second history and per-service figures of one run."""

    started: str
    duration_s: float
    users: int
    requests: int
    failures: int
    error_rate: float
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float
    stopped_by: str
    history: list[dict[str, float]]
    endpoints: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    workers: dict[str, int] = field(default_factory=dict)
    """Distributed runs: requests per worker, as each worker counted them itself."""

    @property
    def mean_response_s(self) -> float:
        return self.mean_ms / 1000.0

    def services(self) -> list[ServiceStats]:
        """Per-service figures, in the order the services first appear."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for endpoint in self.endpoints:
            grouped.setdefault(str(endpoint["service"]), []).append(endpoint)
        result = []
        for service, rows in grouped.items():
            requests = sum(int(r["requests"]) for r in rows)
            time_sum = sum(float(r["mean_ms"]) * int(r["requests"]) for r in rows)
            result.append(
                ServiceStats(
                    service=service,
                    requests=requests,
                    failures=sum(int(r["failures"]) for r in rows),
                    mean_ms=round(time_sum / requests, 1) if requests else 0.0,
                    p95_ms=max(float(r["p95_ms"]) for r in rows),
                )
            )
        return result

    def timeseries(self) -> list[dict[str, float]]:
        """The history as time-series samples (t, users, rps, error_rate, mean/p50/p95 ms)."""
        keys = ("t", "users", "rps", "error_rate", "mean_ms", "p50_ms", "p95_ms")
        return [{k: sample[k] for k in keys if k in sample} for sample in self.history]

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "duration_s": self.duration_s,
            "users": self.users,
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": self.error_rate,
            "mean_ms": self.mean_ms,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "rps": self.rps,
            "stopped_by": self.stopped_by,
            "history": self.history,
            "endpoints": self.endpoints,
            "errors": self.errors,
            "workers": self.workers,
        }


_REQUIRED = ("started", "duration_s", "requests", "failures", "mean_ms", "p95_ms", "history")


def parse_result(data: dict[str, Any]) -> LoadResult:
    """A :class:`LoadResult` from the runner's JSON; ProbeError names a missing field."""
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ProbeError(
            f"load result lacks {', '.join(missing)}; "
            "was it written by gonogo.integrations.load.runner?"
        )
    requests = int(data["requests"])
    failures = int(data["failures"])
    return LoadResult(
        started=str(data["started"]),
        duration_s=float(data["duration_s"]),
        users=int(data.get("users", 0)),
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        mean_ms=float(data["mean_ms"]),
        p50_ms=float(data.get("p50_ms", 0)),
        p95_ms=float(data["p95_ms"]),
        p99_ms=float(data.get("p99_ms", 0)),
        max_ms=float(data.get("max_ms", 0)),
        rps=float(data.get("rps", 0.0)),
        stopped_by=str(data.get("stopped_by", "duration")),
        history=list(data["history"]),
        endpoints=list(data.get("endpoints", [])),
        errors=list(data.get("errors", [])),
        workers={str(k): int(v) for k, v in (data.get("workers") or {}).items()},
    )


def read_result(path: Path) -> LoadResult:
    try:
        return parse_result(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        raise ProbeError(f"cannot read load result {path}: {e}") from e


def live_line(sample: dict[str, float]) -> str:
    """One line for the terminal while a run goes on."""
    return (
        f"load t={sample.get('t', 0):5.1f}s users={int(sample.get('users', 0)):4d} "
        f"rps={sample.get('rps', 0):7.1f} errors={sample.get('error_rate', 0):6.1%} "
        f"p95={sample.get('p95_ms', 0):6.0f} ms"
    )
