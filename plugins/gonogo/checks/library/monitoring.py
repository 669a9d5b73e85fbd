"""Ready-made checks of the monitoring the release will be watched with:
Prometheus, Alertmanager and Grafana up and quiet, Loki taking logs."""

from __future__ import annotations

from typing import Any

import pytest

from gonogo.checks.library.sections import credential
from gonogo.checks.library.sections import present as present_section
from gonogo.checks.ready import ready_check
from gonogo.engine.evidence import Evidence
from gonogo.errors import ProbeError
from gonogo.integrations.http.client import HttpRequest, probe
from gonogo.integrations.monitoring import stack as monitoring
from gonogo.integrations.monitoring.prometheus import (
    Alertmanager,
    Prometheus,
    error_ratio_query,
    requests_query,
)
from gonogo.integrations.secrets import SecretResolver
from gonogo.model.rollback import ERROR_RATE, RollbackPolicy
from gonogo.model.target import Target

CURRENT_WINDOW = "2m"
"""The window of the "current" error rate the gate compares with error_rate_max."""


@ready_check(
    purpose=(
        "Prometheus, Alertmanager and Grafana are healthy with enough of the namespace's "
        "scrape targets up, and no incident is under way: no critical alert firing for the "
        "target and no service's current error rate above the environment's rollback limit."
    ),
    keywords=("monitoring", "prometheus", "grafana", "alerting", "alertmanager", "metric"),
)
def monitoring_operational(
    target: Target,
    environment: str,
    namespace: str,
    rollback_policy: RollbackPolicy,
    secrets: SecretResolver,
    evidence: Evidence,
    *,
    current_window: str = CURRENT_WINDOW,
) -> None:
    """Prometheus healthy and ready with the required share of this release's
    targets up; Alertmanager healthy; Grafana's health API OK; and no incident
    under way: no critical alert firing for the target, no service's current
    error rate above the environment's rollback criterion."""
    config = target.monitoring
    present = {
        name: getattr(config, name)
        for name in ("prometheus", "alertmanager", "grafana")
        if not target.is_absent(name, environment)
    }
    if not present:
        pytest.skip("not applicable: no monitoring system for this environment")
    grafana_token = credential(secrets, config.grafana_token, "grafana_token")
    results = monitoring.check_all(
        monitoring.health_requests(
            present.get("prometheus"),
            present.get("alertmanager"),
            present.get("grafana"),
            config.timeout_s,
        ),
        headers={"Authorization": f"Bearer {grafana_token}"} if grafana_token else None,
    )
    by_name = {r.name: r for r in results}
    evidence.table(
        "endpoints",
        [{"check": r.name, "url": r.url, "status": r.status, "error": r.error} for r in results],
    )
    problems = [f"{r.name} ({r.url}): {r.error or f'HTTP {r.status}'}" for r in results if not r.ok]
    if "prometheus" in present and by_name["prometheus targets"].ok:
        up = monitoring.targets_up(by_name["prometheus targets"], namespace)
        need = config.required_targets_up_ratio
        evidence.measure("targets_up_ratio", round(up.ratio, 4), limit=need, ok=up.ratio >= need)
        evidence.table("targets down", [{"target": d} for d in up.down])
        if up.total == 0:
            problems.append("Prometheus has no active targets; check its scrape configuration")
        elif up.ratio < need:
            problems.append(
                f"Prometheus targets up {up.up}/{up.total} ({up.ratio:.0%}) < {need:.0%} "
                f"required; down: {'; '.join(up.down[:3])}"
            )
    if (
        "grafana" in present
        and by_name["grafana health"].ok
        and not monitoring.grafana_database_ok(by_name["grafana health"])
    ):
        problems.append("Grafana answers but reports its database as not ok (/api/health)")
    assert not problems, "monitoring not operational: " + "; ".join(problems)
    incident, unknown = _incident(
        target, namespace, present, rollback_policy, evidence, current_window
    )
    assert not incident, (
        f"an incident is under way in {namespace}: "
        f"{'; '.join(incident + [f'no data: {u}' for u in unknown])}; resolve it, "
        "or wait for the alerts to clear, before starting the release"
    )
    assert not unknown, "no data: " + "; ".join(unknown)


def _incident(
    target: Target,
    namespace: str,
    present: dict[str, Any],
    rollback_policy: RollbackPolicy,
    evidence: Evidence,
    window: str,
) -> tuple[list[str], list[str]]:
    """(critical alerts firing for the target and services whose error rate
    over the last ``window`` is above ``error_rate_max``; what could not be
    read, which leaves the gate unable to say there is no incident)."""
    timeout = target.monitoring.timeout_s
    services = [s.deployment_name for s in target.services if s.health_path]
    names = set(services) | {s.name for s in target.services}
    sources: dict[str, list[dict[str, Any]]] = {}
    unknown: list[str] = []
    limit = rollback_policy.limit(ERROR_RATE)
    rates = None
    if "prometheus" in present:
        with Prometheus(present["prometheus"], timeout_s=timeout) as prometheus:
            try:
                sources["Prometheus"] = prometheus.firing_alerts()
                if limit is not None and services:
                    ratios = prometheus.by_label(error_ratio_query(namespace, window))
                    counts = prometheus.by_label(requests_query(namespace, window))
                    rates = monitoring.current_error_rates(services, ratios, counts, limit, window)
            except ProbeError as e:
                unknown.append(str(e))
    if "alertmanager" in present:
        with Alertmanager(present["alertmanager"], timeout_s=timeout) as alertmanager:
            try:
                sources["Alertmanager"] = alertmanager.active_alerts()
            except ProbeError as e:
                unknown.append(str(e))
    firing = monitoring.blocking_alerts(sources, namespace, names)
    evidence.table(
        f"{'/'.join(monitoring.BLOCKING_SEVERITIES)} alerts firing for {namespace}",
        [{"alert": a.name, "labels": a.describe(), "summary": a.summary} for a in firing],
    )
    problems = [f"alert {a.describe()}" for a in firing]
    if rates is not None:
        evidence.note("PromQL error rate", error_ratio_query(namespace, window))
        evidence.table(f"error rate over the last {window}", rates.rows)
        for row in rates.rows:
            if isinstance(row["error_rate"], float):
                evidence.measure(
                    "current_error_rate",
                    row["error_rate"],
                    limit=limit,
                    service=row["service"],
                )
        problems += rates.over
        if rates.no_data:
            unknown.append(
                f"Prometheus holds no http_requests_total series for "
                f"{', '.join(rates.no_data)} in {namespace}; check that it scrapes them "
                "(its targets page), or the current error rate is unknown"
            )
    elif limit is None:
        evidence.note("error rate", "the environment sets no rollback error_rate_max")
    return problems, unknown


@ready_check(
    purpose=(
        "Loki is ready, and a line pushed under a unique label can be queried back "
        "within the deadline."
    ),
    keywords=("log", "logging", "aggregation", "loki", "pipeline"),
)
def logs_aggregated(
    target: Target, environment: str, evidence: Evidence, *, least_deadline_s: float = 5.0
) -> None:
    """Loki ready, and a line pushed under a unique label is queried back in time."""
    url = present_section(target.monitoring.loki, target, "loki", environment)
    timeout = target.monitoring.timeout_s
    ready = probe([HttpRequest("loki ready", f"{url}/ready", timeout=timeout)])[0]
    evidence.note("ready", ready.summary())
    assert ready.ok, f"Loki is not ready: {ready.summary()}; see its /ready"
    trip = monitoring.loki_round_trip(
        url, timeout=timeout, deadline_s=max(least_deadline_s, timeout * 3)
    )
    evidence.note("round trip", trip.detail)
    assert trip.pushed, f"Loki refused a pushed line: {trip.detail}"
    assert trip.found_after_s is not None, f"pushed line not queryable: {trip.detail}"
    evidence.measure("loki_round_trip_s", round(trip.found_after_s, 3))
