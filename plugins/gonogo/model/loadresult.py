"""The load-test result file, written by the load runs (post-deploy "Load
testing", staging "Performance testing") and kept for people and charts.

``release`` is the release the services were running when measured, read
from the services themselves, never the target's ``release``: a result filed
under the release a run *meant* to measure would let v1.0.0's figures pass for
v1.1.0's. Gates do not read these files; they read run records
(``gonogo.integrations.records``), which say whether the item that produced a result passed.

One JSON object per run, in ``<load_results_dir>/load-<release>-<environment>-
<profile>-<UTC stamp>.json``. Writer and reader share this module so the shape
cannot drift between them::

    {"release": "v1.1.0", "environment": "production", "profile": "baseline",
     "started": "2026-11-27T02:10:00+00:00", "duration_s": 60.0, "users": 50,
     "requests": 12000, "failures": 12, "error_rate": 0.001, "mean_ms": 41.2,
     "p95_ms": 120.0, "rps": 200.0,
     "history": [{"t_s": 1.0, "users": 5, "rps": 180.0, "error_rate": 0.0,
                  "mean_ms": 40.1, "p95_ms": 110.0}, ...]}

``error_rate`` is a fraction (0.05 is 5 %); times are milliseconds; ``history``
holds one entry per sampling interval, ``t_s`` seconds after ``started``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gonogo.errors import ConfigError
from gonogo.model.yamlsource import load_json, replace_atomically


@dataclass(frozen=True)
class LoadRecord:
    """The figures of one load run against one environment, as kept for later
    runs: the summary of a run (``gonogo.integrations.load.stats.LoadResult`` holds the
    whole of one) tagged with the release, environment and profile it measured."""

    release: str
    environment: str
    profile: str
    started: str
    """ISO 8601 UTC timestamp of the first request."""
    duration_s: float
    users: int
    requests: int
    failures: int
    error_rate: float
    """failures / requests, a fraction."""
    mean_ms: float
    p95_ms: float
    rps: float
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def started_at(self) -> datetime:
        moment = datetime.fromisoformat(self.started.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    @classmethod
    def of_run(cls, run: Any, *, release: str, environment: str, profile: str) -> LoadRecord:
        """The record of a finished run (a ``gonogo.integrations.load.stats.LoadResult``)."""
        return cls(
            release=release,
            environment=environment,
            profile=profile,
            started=run.started,
            duration_s=run.duration_s,
            users=run.users,
            requests=run.requests,
            failures=run.failures,
            error_rate=run.error_rate,
            mean_ms=run.mean_ms,
            p95_ms=run.p95_ms,
            rps=run.rps,
            history=[
                {"t_s": s["t"], **{k: v for k, v in s.items() if k != "t"}}
                for s in run.timeseries()
            ],
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.profile} load on {self.environment} ({self.release}), {self.started}: "
            f"{self.requests} requests by {self.users} users in {self.duration_s:g} s, "
            f"error rate {self.error_rate:.2%}, mean {self.mean_ms:.0f} ms, "
            f"p95 {self.p95_ms:.0f} ms, {self.rps:.1f} req/s"
        )


_REQUIRED = tuple(f.name for f in fields(LoadRecord) if f.name != "history")


def from_dict(data: Any) -> LoadRecord:
    """Validate a decoded result; ValueError names the first problem."""
    if not isinstance(data, dict):
        raise ValueError("a load result is a JSON object")
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    history = data.get("history", [])
    if not isinstance(history, list):
        raise ValueError("history must be a list")
    try:
        result = LoadRecord(
            release=str(data["release"]),
            environment=str(data["environment"]),
            profile=str(data["profile"]),
            started=str(data["started"]),
            duration_s=float(data["duration_s"]),
            users=int(data["users"]),
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            error_rate=float(data["error_rate"]),
            mean_ms=float(data["mean_ms"]),
            p95_ms=float(data["p95_ms"]),
            rps=float(data["rps"]),
            history=list(history),
        )
        result.started_at  # noqa: B018 - validates the timestamp
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad value: {e}") from e
    return result


def file_name(result: LoadRecord) -> str:
    stamp = result.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"load-{result.release}-{result.environment}-{result.profile}-{stamp}.json"


def write(directory: Path, result: LoadRecord) -> Path:
    """Write ``result`` atomically into ``directory``; returns the file's path."""
    path = directory / file_name(result)
    replace_atomically(path, json.dumps(result.to_dict(), indent=1))
    return path


def read(path: Path) -> LoadRecord:
    """One result file; ValueError names the file (and the line of a syntax
    error) and the problem. The file is read like every file gonogo reads
    (:func:`gonogo.model.yamlsource.load_json`)."""
    try:
        document = load_json(path)
    except ConfigError as e:
        where = f"{path}:{e.line}" if e.line else str(path)
        raise ValueError(f"{where}: not a load result ({e.reason})") from None
    try:
        return from_dict(document.data)
    except ValueError as e:
        raise ValueError(f"{path}: not a load result ({e})") from e


def latest(directory: Path, release: str, environment: str) -> tuple[Path, LoadRecord] | None:
    """The newest result (by ``started``) for ``release`` on ``environment``.

    Files that are not load results are passed over: a directory shared with
    other output must not hide a good result behind a bad file."""
    found: list[tuple[datetime, Path, LoadRecord]] = []
    for path in sorted(directory.glob("load-*.json")) if directory.is_dir() else []:
        try:
            result = read(path)
        except ValueError:
            continue
        if result.release == release and result.environment == environment:
            found.append((result.started_at, path, result))
    if not found:
        return None
    _, path, result = max(found, key=lambda entry: entry[0])
    return path, result


def read_latest(directory: Path, release: str, environment: str) -> LoadRecord | None:
    """The newest result for ``release`` on ``environment``; None when there is none."""
    found = latest(directory, release, environment)
    return found[1] if found else None
