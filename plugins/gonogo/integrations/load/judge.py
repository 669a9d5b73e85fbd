"""Judge a load run against the environment's limits, run-wide and per service.

Limits come from the profile's thresholds, and where a threshold is not set,
from the environment's rollback criteria (so production's ">5 % errors or >2 s
mean response" applies to a load run even when the profile says nothing).
Each figure is named for the evidence: ``error_rate`` (a fraction) and
``mean_response_s`` are the names the rollback criteria judge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gonogo.integrations.load.stats import LoadResult
from gonogo.model.rollback import ERROR_RATE, MEAN_RESPONSE_S

MIN_SAMPLES_PER_SERVICE = 5
"""A service with fewer requests in the run is shown but not judged on its own:
one failure out of two requests says nothing about a rate."""


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    limit: float | None
    unit: str
    service: str | None
    requests: int
    higher_is_better: bool = False

    @property
    def ok(self) -> bool | None:
        if self.limit is None:
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def describe(self) -> str:
        where = f" to {self.service}" if self.service else ""
        value, limit = _fmt(self.name, self.value), _fmt(self.name, self.limit or 0.0)
        relation = "<" if self.higher_is_better else ">"
        return (
            f"{_WORDS[self.name]} {value} {relation} {limit} over {self.requests:,} requests{where}"
        )


_WORDS = {
    ERROR_RATE: "error rate",
    MEAN_RESPONSE_S: "mean response",
    "p95_ms": "p95 latency",
    "rps": "throughput",
}


def _fmt(name: str, value: float) -> str:
    if name == ERROR_RATE:
        return f"{value:.1%}"
    if name == MEAN_RESPONSE_S:
        return f"{value:.2f} s"
    if name == "p95_ms":
        return f"{value:.0f} ms"
    return f"{value:.1f} req/s"


def limits_for(thresholds: Any, criteria: Any) -> dict[str, float | None]:
    """error_rate (fraction), mean_response_s, p95_ms and rps limits."""
    error = getattr(thresholds, "error_rate_max", None)
    mean_ms = getattr(thresholds, "mean_ms_max", None)
    return {
        ERROR_RATE: error if error is not None else getattr(criteria, "error_rate_max", None),
        MEAN_RESPONSE_S: mean_ms / 1000.0
        if mean_ms is not None
        else getattr(criteria, "mean_response_max_s", None),
        "p95_ms": getattr(thresholds, "p95_ms_max", None),
        "rps": getattr(thresholds, "rps_min", None),
    }


def figures(result: LoadResult, thresholds: Any, criteria: Any) -> list[Figure]:
    """Every judged figure: the run's, then each service's error rate and mean."""
    limits = limits_for(thresholds, criteria)
    n = result.requests
    found = [
        Figure(ERROR_RATE, result.error_rate, limits[ERROR_RATE], "", None, n),
        Figure(MEAN_RESPONSE_S, result.mean_response_s, limits[MEAN_RESPONSE_S], "s", None, n),
        Figure("p95_ms", result.p95_ms, limits["p95_ms"], "ms", None, n),
        Figure("rps", result.rps, limits["rps"], "req/s", None, n, higher_is_better=True),
    ]
    for service in result.services():
        if service.requests < MIN_SAMPLES_PER_SERVICE:
            continue
        found.append(
            Figure(
                ERROR_RATE,
                service.error_rate,
                limits[ERROR_RATE],
                "",
                service.service,
                service.requests,
            )
        )
        found.append(
            Figure(
                MEAN_RESPONSE_S,
                service.mean_ms / 1000.0,
                limits[MEAN_RESPONSE_S],
                "s",
                service.service,
                service.requests,
            )
        )
    return found


def breaches(found: list[Figure]) -> list[str]:
    """One sentence per figure over its limit, worst kinds first."""
    return [figure.describe() for figure in found if figure.ok is False]
