"""Extended validation (T+30): the baseline load, the integration workflows,
and monitoring (fresh samples per service, rules loaded, alerting end to end)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gonogo.checks import (
    TIMESERIES_MIME,
    Alertmanager,
    Environment,
    Evidence,
    LoadRun,
    ProbeError,
    Prometheus,
    SecretResolver,
    Target,
    Workflow,
    breaches,
    figures,
    run_workflow,
    sample_age_query,
)

from suites.sections import required

FRESH_WITHIN_S = 120.0
"""A service whose newest sample is older than this is not being scraped."""


@pytest.mark.item("Load testing", stage="postdeploy")
@pytest.mark.kube_access("list deployments")
@pytest.mark.parametrize("load_profile", ["baseline"], indirect=True)
def test_load_baseline(
    target: Target, env_policy: Environment, evidence: Evidence, load_run: LoadRun
):
    """The baseline load against the released environment stays within the profile's thresholds
    and the environment's rollback criteria."""
    result, profile = load_run.result, load_run.profile
    judged = figures(result, profile.profile.thresholds, env_policy.rollback)
    for figure in judged:
        evidence.measure(
            figure.name,
            round(figure.value, 4),
            limit=figure.limit,
            unit=figure.unit,
            service=figure.service,
            ok=figure.ok,
        )
    evidence.data(
        "load result",
        {
            "profile": profile.name,
            "base_url": load_run.base_url,
            "workers": load_run.workers,
            "requests": result.requests,
            "failures": result.failures,
            "error_rate": result.error_rate,
            "mean_ms": result.mean_ms,
            "p95_ms": result.p95_ms,
            "rps": result.rps,
            "duration_s": result.duration_s,
            "stopped_by": result.stopped_by,
            "result_file": str(load_run.result_file),
            "errors": result.errors[:10],
        },
    )
    evidence.table(
        "load per service",
        [
            {
                "service": s.service,
                "requests": s.requests,
                "failures": s.failures,
                "error_rate": round(s.error_rate, 4),
                "mean_ms": s.mean_ms,
                "p95_ms": s.p95_ms,
            }
            for s in result.services()
        ],
    )
    thresholds = profile.profile.thresholds
    limits = {
        "error_rate": thresholds.error_rate_max or env_policy.rollback.error_rate_max,
        "latency_ms": thresholds.p95_ms_max or thresholds.mean_ms_max,
    }
    evidence.attach(
        f"{profile.name} load",
        json.dumps(
            {
                "samples": result.timeseries(),
                "limits": {k: v for k, v in limits.items() if v is not None},
            }
        ),
        mime=TIMESERIES_MIME,
    )
    assert result.requests > 0, (
        f"the {profile.name} load made no request against {load_run.base_url}; "
        f"see the runner log next to {load_run.result_file}"
    )
    over = breaches(judged)
    assert not over, f"{profile.name} load: {'; '.join(over)}; see the load chart"


@pytest.mark.item("Integration testing", stage="postdeploy")
def test_integration_workflow(
    target: Target,
    environment: str,
    secrets: SecretResolver,
    evidence: Evidence,
    workflow: Workflow,
    workflow_variables: dict[str, Any],
):
    """The integration workflow runs end to end against the released environment."""
    outcome = run_workflow(
        workflow, target.base_url_for(environment), variables=workflow_variables, secrets=secrets
    )
    evidence.table(f"workflow {workflow.name}", [step.row() for step in outcome.steps])
    assert outcome.ok, outcome.message()


@pytest.mark.item("Monitoring validation", stage="postdeploy")
def test_monitoring_validation(target: Target, environment: str, evidence: Evidence):
    """Prometheus scrapes every service (up, with fresh samples), has its alerting rules loaded
    and healthy, and an alert sent to Alertmanager becomes visible."""
    if target.is_absent("prometheus", environment):
        pytest.skip(f"Prometheus is absent from {environment} in {target.source}")
    namespace = target.namespace_for(environment)
    expected = [s.deployment_name for s in target.services if s.health_path]
    if not expected:
        pytest.fail(
            f"no data: no service in {target.source} has a health_path, so no service's "
            "samples can be expected; add health_path to the services Prometheus scrapes",
            pytrace=False,
        )
    problems: list[str] = []
    monitoring = target.monitoring
    prometheus_url = required(monitoring.prometheus, "monitoring.prometheus")
    with Prometheus(prometheus_url, timeout_s=monitoring.timeout_s) as prometheus:
        ages = {
            metric: prometheus.by_label(sample_age_query(metric, namespace))
            for metric in ("up", "http_requests_total")
        }
        up = prometheus.by_label(f'up{{namespace="{namespace}"}}')
        rules = prometheus.alerting_rules()
    rows: list[dict[str, Any]] = [
        {
            "service": name,
            "up": up.get(name),
            **{f"{m} age s": _age(ages[m].get(name)) for m in ages},
        }
        for name in expected
    ]
    evidence.table("samples per service", rows)
    for row in rows:
        if row["up"] != 1.0:
            problems.append(f"{row['service']}: up is {row['up']}")
        for metric in ages:
            age = row[f"{metric} age s"]
            if age is None or age > FRESH_WITHIN_S:
                problems.append(
                    f"{row['service']}: no {metric} sample in the last {FRESH_WITHIN_S:g} s"
                )
    evidence.table("alerting rules", rules)
    if not rules:
        problems.append("Prometheus has no alerting rule loaded")
    problems += [
        f"rule {r['name']} is {r['health']}: {r['last_error']}"
        for r in rules
        if r["health"] not in ("ok", "unknown")
    ]
    if not target.is_absent("alertmanager", environment):
        alertmanager = required(monitoring.alertmanager, "monitoring.alertmanager")
        problems += _test_alert(alertmanager, monitoring.timeout_s, evidence)
    assert not problems, (
        f"monitoring in {namespace}: {'; '.join(problems)}; check Prometheus' targets page "
        "and rule files"
    )


def _age(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _test_alert(url: str, timeout_s: float, evidence: Evidence) -> list[str]:
    with Alertmanager(url, timeout_s=timeout_s) as alertmanager:
        try:
            alert = alertmanager.send_test_alert()
        except ProbeError as e:
            return [str(e)]
        try:
            found = alertmanager.wait_visible(alert)
            evidence.data(
                "test alert",
                {"run": alert.run_id, "listed": len(found), "status": found[0].get("status")},
            )
            return []
        except ProbeError as e:
            return [str(e)]
        finally:
            try:
                alertmanager.resolve(alert)
            except ProbeError as e:
                evidence.note("test alert", f"could not resolve it: {e}")
