"""Fault annotations: how a Deployment's pod template tells the HTTP mirror to
misbehave, the way a bad build or a bad configuration would.

The annotations live on the pod template, so setting one is a rollout (a new
ReplicaSet) and undoing that rollout removes it. The mirror reads them from the
ReplicaSet that serves, never from the Deployment's spec, so a rollback heals
exactly when the previous ReplicaSet serves again.

================================== =========== ===================================
annotation                         value       effect
================================== =========== ===================================
``sandbox.gonogo.dev/error-rate``  ``0``-``1`` that share of requests answer 500
``sandbox.gonogo.dev/latency``     seconds     added to every request
``sandbox.gonogo.dev/unavailable`` ``"true"``  every request answers 503
================================== =========== ===================================
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "sandbox.gonogo.dev/"
ERROR_RATE = PREFIX + "error-rate"
LATENCY = PREFIX + "latency"
UNAVAILABLE = PREFIX + "unavailable"
ALL = (ERROR_RATE, LATENCY, UNAVAILABLE)


class FaultSpecError(ValueError):
    """An annotation value that cannot be understood; the message names the fix."""


@dataclass(frozen=True)
class Faults:
    """The faults one ReplicaSet's pods are configured with."""

    error_rate: float = 0.0
    """Share of requests, 0 to 1, that answer 500."""
    latency: float = 0.0
    """Seconds added to each request."""
    unavailable: bool = False
    """Every request answers 503, as if no pod were ready."""

    @property
    def any(self) -> bool:
        return self.error_rate > 0 or self.latency > 0 or self.unavailable

    def describe(self) -> str:
        parts = []
        if self.unavailable:
            parts.append("unavailable")
        if self.error_rate:
            parts.append(f"error-rate {self.error_rate:g}")
        if self.latency:
            parts.append(f"latency {self.latency:g}s")
        return ", ".join(parts) or "none"


def parse(annotations: Mapping[str, str] | None) -> Faults:
    """Read the faults from pod template annotations. A value that cannot be
    parsed is ignored (a typo must not take the mirror down), which
    :func:`validate` reports up front for the ``fault`` command."""
    annotations = annotations or {}
    try:
        return validate(annotations)
    except FaultSpecError:
        return Faults()


def validate(annotations: Mapping[str, str]) -> Faults:
    """Like :func:`parse` but raising :class:`FaultSpecError` on a bad value."""
    rate = _number(annotations, ERROR_RATE, low=0.0, high=1.0)
    latency = _number(annotations, LATENCY, low=0.0, high=300.0)
    raw = annotations.get(UNAVAILABLE, "false").strip().lower()
    if raw not in ("true", "false", ""):
        raise FaultSpecError(f'{UNAVAILABLE}={raw!r}: use "true" or "false"')
    return Faults(error_rate=rate, latency=latency, unavailable=raw == "true")


def _number(annotations: Mapping[str, str], key: str, *, low: float, high: float) -> float:
    raw = annotations.get(key)
    if raw is None or raw.strip() == "":
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise FaultSpecError(f"{key}={raw!r}: use a number from {low:g} to {high:g}") from None
    if not (low <= value <= high) or math.isnan(value):
        raise FaultSpecError(f"{key}={raw!r}: use a number from {low:g} to {high:g}")
    return value


class ErrorSpreader:
    """Decides which requests fail so that, over any window of requests, the
    share of failures is the configured rate to within one request.

    Random draws would make a 0.3 rate measure anywhere from 0.25 to 0.35 over
    200 requests one time in eight; spreading the failures evenly keeps the
    measurement honest while still interleaving errors with successes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: dict[str, int] = {}

    def clear(self) -> None:
        """Start every Deployment's count again."""
        with self._lock:
            self._count.clear()

    def should_fail(self, key: str, rate: float) -> bool:
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        with self._lock:
            n = self._count.get(key, 0)
            self._count[key] = n + 1
        return math.floor((n + 1) * rate) > math.floor(n * rate)
