"""Prometheus, Alertmanager, Grafana and Loki asked whether they work, not
just whether they listen: Prometheus' share of targets up, Grafana's database,
a log line pushed to Loki and read back; and whether they say the system is in
an incident right now (critical alerts firing, error rates over the limit), in
which case a release must not start."""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from gonogo.integrations.http.client import HttpRequest, HttpResult, probe


@dataclass(frozen=True)
class TargetsUp:
    up: int
    total: int
    down: list[str]
    """``job/instance: last error`` of each target that is down."""

    @property
    def ratio(self) -> float:
        return self.up / self.total if self.total else 0.0


def health_requests(
    prometheus: str | None, alertmanager: str | None, grafana: str | None, timeout: float
) -> list[HttpRequest]:
    """Every health endpoint of the monitoring stack that the target names."""
    requests = []
    if prometheus:
        requests += [
            HttpRequest("prometheus healthy", f"{prometheus}/-/healthy", timeout=timeout),
            HttpRequest("prometheus ready", f"{prometheus}/-/ready", timeout=timeout),
            HttpRequest(
                "prometheus targets", f"{prometheus}/api/v1/targets?state=active", timeout=timeout
            ),
        ]
    if alertmanager:
        requests += [
            HttpRequest("alertmanager healthy", f"{alertmanager}/-/healthy", timeout=timeout),
            HttpRequest("alertmanager status", f"{alertmanager}/api/v2/status", timeout=timeout),
        ]
    if grafana:
        requests.append(HttpRequest("grafana health", f"{grafana}/api/health", timeout=timeout))
    return requests


def check_all(
    requests: list[HttpRequest], headers: dict[str, str] | None = None
) -> list[HttpResult]:
    if headers:
        requests = [
            HttpRequest(
                r.name,
                r.url,
                headers=headers if r.name.startswith("grafana") else None,
                timeout=r.timeout,
            )
            for r in requests
        ]
    return probe(requests)


def targets_up(result: HttpResult, namespace: str | None = None) -> TargetsUp:
    """Parse ``/api/v1/targets``; a missing or odd body counts as no targets.

    With ``namespace``, targets labelled with another namespace are left out: a
    shared Prometheus also scrapes other teams' systems, whose health is not
    this release's to judge. Targets with no namespace label (Prometheus
    itself, Alertmanager) always count."""
    active = ((result.json or {}).get("data") or {}).get("activeTargets") or []
    if namespace is not None:
        active = [t for t in active if t.get("labels", {}).get("namespace") in (None, namespace)]

    def name(t: dict[str, Any]) -> str:
        labels = t.get("labels", {})
        what = labels.get("service") or labels.get("instance", "?")
        return f"{labels.get('job', '?')}/{what}"

    down = [
        f"{name(t)}: {t.get('lastError') or t.get('health')}"
        for t in active
        if t.get("health") != "up"
    ]
    return TargetsUp(len(active) - len(down), len(active), down)


def grafana_database_ok(result: HttpResult) -> bool:
    return result.ok and (result.json or {}).get("database") == "ok"


@dataclass(frozen=True)
class LokiRoundTrip:
    label: str
    pushed: bool
    found_after_s: float | None
    detail: str


def loki_round_trip(url: str, *, timeout: float, deadline_s: float = 10.0) -> LokiRoundTrip:
    """Push one line under a unique label and poll a query until it comes back."""
    marker = f"gonogo-{uuid.uuid4().hex[:12]}"
    now_ns = time.time_ns()
    payload = {
        "streams": [
            {
                "stream": {"job": "gonogo", "gonogo_probe": marker},
                "values": [[str(now_ns), f"gonogo log pipeline probe {marker}"]],
            }
        ]
    }
    query = f'{{gonogo_probe="{marker}"}}'
    with httpx.Client(timeout=timeout) as client:
        try:
            pushed = client.post(
                f"{url}/loki/api/v1/push",
                content=json.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as e:
            return LokiRoundTrip(marker, False, None, f"push failed: {e.__class__.__name__}: {e}")
        if pushed.status_code not in (200, 204):
            return LokiRoundTrip(
                marker, False, None, f"push answered {pushed.status_code}: {pushed.text[:200]}"
            )
        start = time.monotonic()
        last = ""
        while time.monotonic() - start < deadline_s:
            try:
                answer = client.get(
                    f"{url}/loki/api/v1/query_range",
                    params={
                        "query": query,
                        "start": str(now_ns - 60_000_000_000),
                        "end": str(time.time_ns() + 1_000_000_000),
                        "limit": "10",
                    },
                )
                if _has_line(answer.json() if answer.status_code == 200 else {}, marker):
                    return LokiRoundTrip(marker, True, time.monotonic() - start, query)
                last = f"query answered {answer.status_code}"
            except (httpx.HTTPError, ValueError) as e:
                last = f"query failed: {e.__class__.__name__}"
            time.sleep(0.5)
    return LokiRoundTrip(
        marker, True, None, f"{query} not found within {deadline_s:g} s ({last or 'no match'})"
    )


def _has_line(body: Any, marker: str) -> bool:
    for stream in (body.get("data") or {}).get("result") or []:
        for _, line in stream.get("values") or []:
            if marker in line:
                return True
    return False


BLOCKING_SEVERITIES = ("critical",)
"""Alert severities during which a release does not start."""


@dataclass(frozen=True)
class FiringAlert:
    """One alert firing for the target, as one or both alerting systems hold it."""

    name: str
    labels: dict[str, str]
    since: str | None
    sources: tuple[str, ...]
    summary: str = ""

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if k != "alertname")
        # Alertmanager and Prometheus give nanoseconds; seconds say enough.
        since = f" since {self.since[:19]}Z" if self.since else ""
        return f"{self.name} {{{shown}}} firing{since} ({' and '.join(self.sources)})"


def concerns(labels: dict[str, str], namespace: str, services: set[str]) -> bool:
    """Whether an alert is about the target: labelled with its namespace, or
    with none (a cluster-wide alert, or one naming one of its services)."""
    if "namespace" in labels:
        return labels["namespace"] == namespace
    return "service" not in labels or labels["service"] in services


def blocking_alerts(
    by_source: dict[str, list[dict[str, Any]]],
    namespace: str,
    services: set[str],
    severities: tuple[str, ...] = BLOCKING_SEVERITIES,
) -> list[FiringAlert]:
    """The alerts of ``severities`` firing for the target, one per label set,
    from each source's list (``{"labels", "since", "summary"}`` dicts, as
    :mod:`gonogo.integrations.monitoring.prometheus` reads them)."""
    found: dict[tuple[tuple[str, str], ...], FiringAlert] = {}
    for source, alerts in by_source.items():
        for alert in alerts:
            labels = {str(k): str(v) for k, v in (alert.get("labels") or {}).items()}
            if labels.get("severity") not in severities:
                continue
            if not concerns(labels, namespace, services):
                continue
            key = tuple(sorted(labels.items()))
            seen = found.get(key)
            found[key] = FiringAlert(
                name=labels.get("alertname", "?"),
                labels=labels,
                since=(seen.since if seen else None) or alert.get("since"),
                sources=(*seen.sources, source) if seen else (source,),
                summary=(seen.summary if seen else "") or str(alert.get("summary") or ""),
            )
    return sorted(found.values(), key=lambda a: (a.name, sorted(a.labels.items())))


@dataclass(frozen=True)
class CurrentErrorRates:
    """Each service's error ratio over a short window, against the limit."""

    rows: list[dict[str, Any]]
    over: list[str]
    """``service error rate X > limit`` for each service above it."""
    no_data: list[str]
    """Services Prometheus holds no request series for."""


def current_error_rates(
    services: list[str],
    ratios: dict[str, float],
    requests: dict[str, float],
    limit: float,
    window: str,
) -> CurrentErrorRates:
    """Judge ``ratios`` (error share per service) against ``limit``.

    ``requests`` holds the requests each service answered in the window; a
    service with a series but no request in it is idle, which is a
    measurement (no errors either), not a missing one. A service with no
    series at all is not measured: it is listed under ``no_data``."""
    rows: list[dict[str, Any]] = []
    over: list[str] = []
    no_data: list[str] = []
    for service in services:
        count = requests.get(service)
        ratio = ratios.get(service)
        if count is None or math.isnan(count):
            no_data.append(service)
            rows.append({"service": service, "requests": None, "error_rate": "no series"})
            continue
        if count <= 0 or ratio is None or math.isnan(ratio):
            rows.append({"service": service, "requests": 0, "error_rate": "idle"})
            continue
        rows.append({"service": service, "requests": round(count), "error_rate": round(ratio, 4)})
        if ratio > limit:
            over.append(
                f"{service} error rate {ratio:.1%} over the last {window} > {limit:.1%} "
                "(error_rate_max)"
            )
    return CurrentErrorRates(rows, over, no_data)
