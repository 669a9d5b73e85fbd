"""The window a post-deploy check reads Prometheus over: the new release only.

A fixed "last 5 minutes" judged after a quick re-release is mostly the
previous release's traffic: a faulty release rolled back, fixed and released
again within the window gets the fix rolled back. The window here starts when
the release's rollout completed (the latest of its Deployments), is at most
the check's own window, and a service with too few samples or requests in it
has no verdict: the check fails with ``no data``, saying when to rerun."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_SAMPLES = 3
"""Scrapes of a service's request counter the window must hold: a rate needs
two, and one more keeps a single late scrape from deciding."""
MIN_REQUESTS = 5
"""Requests a service must have answered in the window for its error ratio
and latency to mean anything."""
SETTLE_S = 60.0
"""How long after the rollout a rerun can expect the samples it needs."""


@dataclass(frozen=True)
class ReleaseWindow:
    """From the rollout's completion to now, at most ``max_s`` long."""

    completed_at: datetime
    """When the last of the release's Deployments completed its rollout."""
    last_deployment: str
    """The Deployment that completed last."""
    now: datetime
    max_s: float

    @property
    def since_rollout_s(self) -> float:
        return max(0.0, (self.now - self.completed_at).total_seconds())

    @property
    def seconds(self) -> float:
        return min(self.since_rollout_s, self.max_s)

    @property
    def starts_at(self) -> datetime:
        return self.now - timedelta(seconds=self.seconds)

    @property
    def from_rollout(self) -> bool:
        """True when the window starts at the rollout, not ``max_s`` ago."""
        return self.since_rollout_s <= self.max_s

    def describe(self) -> str:
        start = f"{self.completed_at:%H:%M:%S}Z"
        if self.from_rollout:
            return (
                f"the {self.seconds:.0f} s since the rollout completed at {start} "
                f"(deployment/{self.last_deployment})"
            )
        return f"the last {self.seconds:.0f} s (rollout completed at {start})"

    def rerun_hint(self) -> str:
        """When a rerun can expect enough samples, or what else to do."""
        if self.since_rollout_s < SETTLE_S:
            at = self.completed_at + timedelta(seconds=SETTLE_S)
            return f"rerun this check after {at:%H:%M:%S}Z, once traffic has reached the release"
        return "send traffic to the service (or check that Prometheus scrapes it) and rerun"


def release_window(
    completed: dict[str, datetime | None], now: datetime, max_s: float
) -> ReleaseWindow | str:
    """The window for a release whose Deployments completed their rollouts
    at ``completed`` (None: not complete); or, when there is none, the
    ``no data`` reason."""
    if not completed:
        return "no data: no Deployment of the release to date the rollout from"
    pending = sorted(name for name, at in completed.items() if at is None)
    if pending:
        return (
            f"no data: the rollout of {', '.join(pending)} has not completed, so the release "
            "has no metrics window yet (kubectl rollout status deployment/"
            f"{pending[0]}); rerun once it has"
        )
    last = max(completed, key=lambda name: completed[name] or now)
    at = completed[last]
    assert at is not None
    return ReleaseWindow(at, last, now, max_s)


@dataclass(frozen=True)
class ServiceFigures:
    """What Prometheus says about one service over the window."""

    service: str
    samples: float | None
    requests: float | None
    values: dict[str, float | None]
    """Measure name (error_rate, mean_response_s, p95_s) -> value; None: no data."""

    def missing(self, window: ReleaseWindow) -> str | None:
        """Why the service has no verdict in ``window``, or None when it has one."""
        samples = 0 if self.samples is None else int(self.samples)
        requests = 0.0 if self.requests is None else self.requests
        if samples < MIN_SAMPLES or requests < MIN_REQUESTS:
            return (
                f"{self.service} has {samples} samples and {requests:.0f} requests in "
                f"{window.describe()} (need {MIN_SAMPLES} samples and {MIN_REQUESTS} requests)"
            )
        absent = [name for name, value in self.values.items() if value is None]
        if absent:
            return f"{self.service} has no {', '.join(absent)} in {window.describe()}"
        return None


def measured(value: float | None) -> float | None:
    """A PromQL value that is a measurement: None for absent or NaN."""
    return None if value is None or math.isnan(value) else value
