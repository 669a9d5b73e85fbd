"""Prometheus analysis: what production traffic says about the release.

Instant PromQL queries over HTTP, per-service error ratio and p95 latency over
a window, the freshness of every service's samples and the loaded alert rules;
and a test alert sent through Alertmanager to prove alerting end to end. The
series are the conventional ``http_requests_total{code}`` and
``http_request_duration_seconds_bucket{le}`` with ``namespace`` and
``service`` labels (what the sandbox and the seed's ServiceMonitors expose),
and, where the exporter adds one, a ``version`` label naming the release that
answered (the queries then filter on it).

A query's NaN (a ratio of no requests to no requests) is no measurement:
``by_label`` leaves it out, so a check finds the service missing and fails
with ``no data``, never passes a comparison that NaN makes false."""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gonogo.errors import ProbeError, RetryableProbeError

SERVICE_LABEL = "service"
VERSION_LABEL = "version"
"""The label that names the release that answered, where the exporter adds one."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector."""

    labels: dict[str, str]
    value: float
    timestamp: float


def _get_json(client: httpx.Client, url: str, what: str, **params: str) -> Any:
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException as e:
        raise RetryableProbeError(f"{what}: no answer from {url}; is it running?") from e
    except httpx.HTTPError as e:
        raise ProbeError(f"{what}: cannot reach {url} ({e.__class__.__name__}); is it up?") from e
    if response.status_code >= 400:
        raise ProbeError(f"{what}: HTTP {response.status_code} from {url}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError as e:
        raise ProbeError(f"{what}: {url} did not answer JSON; is it Prometheus' API?") from e


class Prometheus:
    """A Prometheus server's HTTP API, every call bounded by ``timeout_s``."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Prometheus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, expr: str) -> list[Sample]:
        """An instant query; a scalar comes back as one sample without labels."""
        body = _get_json(self._client, f"{self.url}/api/v1/query", "PromQL query", query=expr)
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", body) if isinstance(body, dict) else body
            raise ProbeError(f"PromQL {expr!r} failed: {error}")
        data = body["data"]
        if data["resultType"] == "scalar":
            ts, value = data["result"]
            return [Sample({}, float(value), float(ts))]
        if data["resultType"] != "vector":
            raise ProbeError(f"PromQL {expr!r} returned a {data['resultType']}, not a vector")
        return [
            Sample(dict(row["metric"]), float(row["value"][1]), float(row["value"][0]))
            for row in data["result"]
        ]

    def by_label(self, expr: str, label: str = SERVICE_LABEL) -> dict[str, float]:
        """``{label value: sample value}`` for a query aggregated by ``label``.

        NaN samples are left out: 0/0 is no data, and a NaN compared with a
        limit is False, which would let it pass."""
        return {
            s.labels.get(label, ""): s.value for s in self.query(expr) if not math.isnan(s.value)
        }

    def has_label(self, metric: str, label: str, namespace: str | None) -> bool:
        """Whether any series of ``metric`` in ``namespace`` carries ``label``."""
        sel = _selector(namespace)
        return bool(self.query(f'count({metric}{{{sel + "," if sel else ""}{label}!=""}})'))

    def firing_alerts(self) -> list[dict[str, Any]]:
        """Alerts Prometheus' rules hold in state ``firing`` (not ``pending``)."""
        body = _get_json(self._client, f"{self.url}/api/v1/alerts", "Prometheus alerts")
        alerts = (body.get("data") or {}).get("alerts") if isinstance(body, dict) else None
        if not isinstance(alerts, list):
            raise ProbeError(f"Prometheus alerts: {self.url}/api/v1/alerts answered no alert list")
        return [
            {
                "labels": dict(a.get("labels") or {}),
                "since": a.get("activeAt"),
                "summary": (a.get("annotations") or {}).get("summary", ""),
            }
            for a in alerts
            if a.get("state") == "firing"
        ]

    def alerting_rules(self) -> list[dict[str, Any]]:
        """Every loaded alerting rule (name, health, state, group)."""
        body = _get_json(self._client, f"{self.url}/api/v1/rules", "Prometheus rules", type="alert")
        rules = []
        for group in body.get("data", {}).get("groups", []):
            for rule in group.get("rules", []):
                rules.append(
                    {
                        "group": group.get("name"),
                        "name": rule.get("name"),
                        "health": rule.get("health"),
                        "state": rule.get("state"),
                        "last_error": rule.get("lastError") or "",
                    }
                )
        return rules


def _selector(namespace: str | None, version: str | None = None) -> str:
    pairs = []
    if namespace:
        pairs.append(f'namespace="{namespace}"')
    if version:
        pairs.append(f'{VERSION_LABEL}="{version}"')
    return ",".join(pairs)


def range_of(seconds: float) -> str:
    """A PromQL range of whole seconds, at least 1 s: ``range_of(93.7)`` is ``93s``."""
    return f"{max(1, int(seconds))}s"


def error_ratio_query(namespace: str | None, window: str, version: str | None = None) -> str:
    sel = _selector(namespace, version)
    errors = f'http_requests_total{{{sel + "," if sel else ""}code=~"5.."}}'
    return (
        f"sum by ({SERVICE_LABEL}) (rate({errors}[{window}]))"
        f" / sum by ({SERVICE_LABEL}) (rate(http_requests_total{{{sel}}}[{window}]))"
    )


def p95_query(namespace: str | None, window: str, version: str | None = None) -> str:
    sel = _selector(namespace, version)
    return (
        f"histogram_quantile(0.95, sum by ({SERVICE_LABEL}, le) "
        f"(rate(http_request_duration_seconds_bucket{{{sel}}}[{window}])))"
    )


def mean_query(namespace: str | None, window: str, version: str | None = None) -> str:
    sel = _selector(namespace, version)
    return (
        f"sum by ({SERVICE_LABEL}) (rate(http_request_duration_seconds_sum{{{sel}}}[{window}]))"
        f" / sum by ({SERVICE_LABEL}) "
        f"(rate(http_request_duration_seconds_count{{{sel}}}[{window}]))"
    )


def requests_query(namespace: str | None, window: str, version: str | None = None) -> str:
    """Requests each service answered within the window (all codes)."""
    sel = _selector(namespace, version)
    return f"sum by ({SERVICE_LABEL}) (increase(http_requests_total{{{sel}}}[{window}]))"


def samples_query(namespace: str | None, window: str, version: str | None = None) -> str:
    """Scrapes of each service's request counter within the window: a rate
    over fewer than a few samples is no measurement."""
    sel = _selector(namespace, version)
    return f"max by ({SERVICE_LABEL}) (count_over_time(http_requests_total{{{sel}}}[{window}]))"


def sample_age_query(metric: str, namespace: str | None) -> str:
    """Seconds since each service's newest sample of ``metric``."""
    return f"time() - max by ({SERVICE_LABEL}) (timestamp({metric}{{{_selector(namespace)}}}))"


@dataclass(frozen=True)
class TestAlert:
    """A synthetic alert sent to Alertmanager, identified by a unique label."""

    alertname: str
    run_id: str
    labels: dict[str, str]
    starts_at: datetime


class Alertmanager:
    """Alertmanager's v2 API: send a test alert, find it, resolve it."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, alert: TestAlert, ends: datetime) -> None:
        payload = [
            {
                "labels": alert.labels,
                "annotations": {"summary": "gonogo post-deployment test alert; safe to ignore"},
                "startsAt": alert.starts_at.isoformat(),
                "endsAt": ends.isoformat(),
            }
        ]
        try:
            response = self._client.post(f"{self.url}/api/v2/alerts", json=payload)
        except httpx.HTTPError as e:
            raise ProbeError(
                f"cannot send a test alert to {self.url} ({e.__class__.__name__}); is it up?"
            ) from e
        if response.status_code != 200:
            raise ProbeError(
                f"Alertmanager refused the test alert: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )

    def send_test_alert(self, *, lifetime_s: float = 300.0) -> TestAlert:
        run_id = uuid.uuid4().hex[:12]
        alert = TestAlert(
            alertname="GonogoPostDeployTest",
            run_id=run_id,
            labels={"alertname": "GonogoPostDeployTest", "severity": "none", "gonogo_run": run_id},
            starts_at=datetime.now(UTC),
        )
        self._post(alert, datetime.now(UTC) + timedelta(seconds=lifetime_s))
        return alert

    def active_alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager holds as active: neither silenced nor inhibited."""
        body = _get_json(
            self._client,
            f"{self.url}/api/v2/alerts",
            "Alertmanager alerts",
            active="true",
            silenced="false",
            inhibited="false",
        )
        if not isinstance(body, list):
            raise ProbeError(f"Alertmanager alerts: {self.url}/api/v2/alerts answered no list")
        return [
            {
                "labels": dict(a.get("labels") or {}),
                "since": a.get("startsAt"),
                "summary": (a.get("annotations") or {}).get("summary", ""),
            }
            for a in body
            if (a.get("status") or {}).get("state", "active") == "active"
        ]

    def find(self, alert: TestAlert) -> list[dict[str, Any]]:
        body = _get_json(
            self._client,
            f"{self.url}/api/v2/alerts",
            "Alertmanager alerts",
            filter=f'gonogo_run="{alert.run_id}"',
        )
        return list(body) if isinstance(body, list) else []

    def wait_visible(self, alert: TestAlert, *, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Poll until the alert is listed, or raise ProbeError at the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.find(alert)
            if found:
                return found
            if time.monotonic() > deadline:
                raise ProbeError(
                    f"test alert {alert.run_id} accepted but not listed by {self.url} "
                    f"within {timeout_s:g} s; check Alertmanager's logs"
                )
            time.sleep(0.25)

    def resolve(self, alert: TestAlert) -> None:
        """End the test alert now, so it notifies nobody further."""
        self._post(alert, max(datetime.now(UTC), alert.starts_at + timedelta(milliseconds=1)))
