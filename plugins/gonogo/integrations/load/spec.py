"""What one load run does: the spec the pytest side writes and the runner reads.

A plain JSON file between two processes, so the runner needs nothing of
pytest or of the target model, and the same spec runs on another machine."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_REQUESTS = 200_000
"""Hard cap on requests per run, whatever the duration: a run is bounded in count too."""
WORKERS_MISSING_EXIT = 3
"""The master's exit status when its workers did not all join in time; its
live file then says how many did."""


@dataclass(frozen=True)
class LoadSpec:
    """One load run against one base URL."""

    base_url: str
    """Prefix of every path, e.g. http://127.0.0.1:18080 (no trailing slash)."""
    users: int
    spawn_rate: float
    """Users started per second."""
    duration_s: float
    """How long the run lasts once started (ramp-up included)."""
    paths: dict[str, int]
    """Request path -> relative weight."""
    max_requests: int = DEFAULT_MAX_REQUESTS
    """The run stops early once this many requests completed."""
    wait_min_s: float = 0.05
    wait_max_s: float = 0.2
    """Think time between one user's requests, drawn uniformly in [min, max]."""
    request_timeout_s: float = 10.0
    """Per-request connect and read timeout; a request that exceeds it is a failure."""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.users < 1 or self.spawn_rate <= 0 or self.duration_s <= 0:
            raise ValueError("users, spawn_rate and duration_s must be positive")
        if not self.paths or any(not p.startswith("/") for p in self.paths):
            raise ValueError("paths must be a non-empty mapping of '/path' -> weight")
        if self.max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL {self.base_url!r} must start with http:// or https://")

    def to_file(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def from_file(cls, path: Path) -> LoadSpec:
        data: dict[str, Any] = json.loads(path.read_text())
        return cls(**data)


def service_of(path: str) -> str:
    """The service a request path belongs to: its first segment
    (``/mcp-context/health`` -> ``mcp-context``), the way the demo system and
    the seed's ingress route requests."""
    first = path.lstrip("/").split("/", 1)[0].split("?", 1)[0]
    return first or "/"
