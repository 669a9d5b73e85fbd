"""Business validation (T+60): critical workflows, the dashboard in a real
browser, data consistency across the release, external integrations, and the
services' error ratio and latency as Prometheus measured them since the
release's rollout completed."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib
from gonogo.checks import (
    ERROR_RATE,
    MEAN_RESPONSE_S,
    VERSION_LABEL,
    ClusterSnapshot,
    Environment,
    Evidence,
    ProbeError,
    Prometheus,
    RecordStore,
    ReleaseWindow,
    RollbackPolicy,
    SecretResolver,
    Service,
    ServiceFigures,
    Target,
    Workflow,
    check_page,
    consistency,
    dotted_get,
    endpoint,
    error_ratio_query,
    mean_query,
    p95_query,
    probe,
    range_of,
    records,
    release_window,
    requests_query,
    rollout_completed_at,
    run_workflow,
    samples_query,
)

from suites.postdeploy.conftest import HealthRound, dashboard_service, external_requests
from suites.sections import required

METRICS_WINDOW_S = 300.0
"""The longest window "Performance metrics" reads; it starts at the release's
rollout when that is more recent (gonogo.integrations.monitoring.window)."""
DASHBOARD_ELEMENTS = [
    "#dashboard-title",
    "#release-version",
    "#overall-status",
    "#service-status",
    "#service-rows tr",
]


@pytest.mark.item("User workflows", stage="postdeploy")
def test_user_workflow(
    target: Target,
    environment: str,
    secrets: SecretResolver,
    evidence: Evidence,
    critical_workflow: Workflow,
    workflow_variables: dict[str, Any],
):
    """The business-critical workflow runs end to end against the released environment."""
    outcome = run_workflow(
        critical_workflow,
        target.base_url_for(environment),
        variables=workflow_variables,
        secrets=secrets,
    )
    evidence.table(f"workflow {critical_workflow.name}", [s.row() for s in outcome.steps])
    assert outcome.ok, outcome.message()


@pytest.mark.item("Dashboard functionality", stage="postdeploy")
def test_dashboard(
    target: Target, environment: str, evidence: Evidence, tmp_path_factory: pytest.TempPathFactory
):
    """The dashboard loads in a real browser with every expected element, shows the release
    under check, and reports an overall healthy status."""
    service = dashboard_service(target, environment)
    if service is None:
        evidence.note("not applicable", f"{target.source} names no dashboard for {environment}")
        pytest.skip(
            f"not applicable: {target.name} has no dashboard for {environment} "
            "(mark its service dashboard: true where it has one)"
        )
    url = f"{target.base_url_for(environment)}/{service.deployment_name}/"
    shot = tmp_path_factory.mktemp("dashboard") / "dashboard.png"
    try:
        page = check_page(
            url,
            selectors=DASHBOARD_ELEMENTS,
            screenshot=shot,
            wait_for='#overall-status:not([data-state="checking"])',
        )
    except ProbeError as e:
        pytest.fail(f"dashboard at {url}: {e}", pytrace=False)
    if page.screenshot and Path(page.screenshot).exists():
        evidence.attach(
            "dashboard screenshot",
            base64.b64encode(Path(page.screenshot).read_bytes()).decode(),
            mime="image/png",
        )
    evidence.data(
        "dashboard",
        {
            "url": url,
            "status": page.status,
            "title": page.title,
            "elements": page.texts,
            "console_errors": page.console_errors,
        },
    )
    problems = page.problems()
    shown = page.texts.get("#release-version")
    if shown is not None and shown != target.release:
        problems.append(f"shows release {shown!r}, expected {target.release!r}")
    overall = page.texts.get("#overall-status")
    if overall is not None and overall != "healthy":
        problems.append(f"overall status is {overall!r}")
    assert not problems, f"dashboard at {url}: {'; '.join(problems)}; see the screenshot"


@pytest.mark.item("Data consistency", stage="postdeploy")
def test_data_consistency(
    target: Target,
    environment: str,
    evidence: Evidence,
    run_records: RecordStore,
    redis_client: redis_lib.Redis,
):
    """The consistency keys hold what they held before the release. The
    fingerprints come from the pre-deployment gate's run record in the record
    store, not from this run's reports folder, so gate and release may run in
    separate jobs."""
    keys = list(required(target.redis, "redis").consistency_keys)
    if not keys:
        evidence.note("not applicable", f"{target.source} lists no redis.consistency_keys")
        pytest.skip(
            f"not applicable: {target.name} keeps no data the release must preserve "
            "(no redis.consistency_keys)"
        )
    command = records.PREDEPLOY_COMMAND.format(target=target.source, environment=environment)
    found = records.latest_with_item(
        run_records,
        target=target.name,
        release=target.release,
        environment=environment,
        stage="predeploy",
        title="Backup verification",
    )
    data = found[1].data.get("consistency") if found is not None else None
    if found is None or not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        pytest.fail(
            f"no data: no pre-deployment run record of {target.name} {target.release} on "
            f"{environment} holds the consistency fingerprints (its 'Backup verification' "
            f"item) in {run_records.where}; run the gate first with the same records store: "
            f"{command}",
            pytrace=False,
        )
    record = found[0]
    now = consistency.snapshot(redis_client, keys)
    before = data["keys"]
    evidence.table(
        "consistency keys",
        [
            {
                "key": k,
                "before": (before.get(k) or {}).get("sha256", "absent")[:16],
                "now": (now[k] or {}).get("sha256", "absent")[:16],
            }
            for k in keys
        ],
    )
    evidence.note(
        "pre-deployment record",
        f"{record.describe()}; fingerprints taken {data.get('recorded_at')} "
        f"on {data.get('release')}",
    )
    problems = consistency.compare(before, now)
    assert not problems, (
        f"data changed across the release: {'; '.join(problems)}; restore from the backup "
        "taken before the deployment"
    )


@pytest.mark.item("External integrations", stage="postdeploy")
def test_external_integrations(
    target: Target,
    environment: str,
    secrets: SecretResolver,
    evidence: Evidence,
    health_round_factory: Callable[[], HealthRound],
):
    """Each external API answers its documented endpoint as documented, and every service that
    uses it is healthy."""
    apis, requests = external_requests(target, environment, secrets)
    if not apis:
        evidence.note("not applicable", f"{target.source} lists no external API for {environment}")
        pytest.skip(f"not applicable: {target.name} calls no external API in {environment}")
    results = probe(requests, deadline=30.0)
    health = health_round_factory()
    problems, rows = [], []
    for api, result in zip(apis, results, strict=True):
        _, field = endpoint(api)
        answered = result.ok and (field is None or _has(result.json, field))
        if not answered:
            detail = result.summary() if not result.ok else f"answer lacks {field!r}"
            problems.append(f"{api.name}: {detail}")
        users = []
        for name in api.used_by:
            ok, shown = health.verdict(name)
            users.append(f"{name} {'ok' if ok else 'unhealthy'}")
            if not ok:
                problems.append(f"{api.name}: its service {name} is unhealthy ({shown.summary()})")
        rows.append(
            {
                "api": api.name,
                "status": result.status,
                "documented answer": answered,
                "services": ", ".join(users),
            }
        )
    evidence.table("integrations", rows)
    assert not problems, f"integrations not functional: {'; '.join(problems)}"


def _has(body: Any, field: str) -> bool:
    try:
        dotted_get(body, field)
    except LookupError:
        return False
    return True


@pytest.mark.item("Performance metrics", stage="postdeploy")
@pytest.mark.kube_access("list deployments,replicasets")
def test_performance_metrics(
    target: Target,
    environment: str,
    env_policy: Environment,
    evidence: Evidence,
    cluster: ClusterSnapshot,
):
    """Since the release's rollout completed, no service's error rate, mean response or p95
    latency as Prometheus measured it exceeds its limit."""
    if target.is_absent("prometheus", environment):
        pytest.skip(f"Prometheus is absent from {environment} in {target.source}")
    namespace = target.namespace_for(environment)
    services = [s for s in target.services if s.health_path]
    if not services:
        pytest.fail(
            f"no data: no service in {target.source} has a health_path, so none is measured; "
            "add health_path to the services Prometheus scrapes",
            pytrace=False,
        )
    window = _release_window(target, cluster, services)
    if isinstance(window, str):
        pytest.fail(window, pytrace=False)
    evidence.data(
        "window",
        {
            "rollout_completed_at": window.completed_at.isoformat(),
            "completed_last": window.last_deployment,
            "seconds": round(window.seconds, 1),
            "starts_at": window.starts_at.isoformat(),
            "capped_at_s": METRICS_WINDOW_S,
        },
    )
    limits = _limits(env_policy)
    span = range_of(window.seconds)
    prometheus_url = required(target.monitoring.prometheus, "monitoring.prometheus")
    with Prometheus(prometheus_url, timeout_s=target.monitoring.timeout_s) as prom:
        version = (
            target.release
            if prom.has_label("http_requests_total", VERSION_LABEL, namespace)
            else None
        )
        queries = {
            "samples": samples_query(namespace, span, version),
            "requests": requests_query(namespace, span, version),
            ERROR_RATE: error_ratio_query(namespace, span, version),
            MEAN_RESPONSE_S: mean_query(namespace, span, version),
            "p95_s": p95_query(namespace, span, version),
        }
        for name, expr in queries.items():
            evidence.note(f"PromQL {name}", expr)
        measured = {name: prom.by_label(expr) for name, expr in queries.items()}
    evidence.note(
        "release filter",
        f"{VERSION_LABEL}={version}" if version else f"the series carry no {VERSION_LABEL} label",
    )
    rows, problems, no_data = [], [], []
    for service in (s.deployment_name for s in services):
        figures = ServiceFigures(
            service,
            samples=measured["samples"].get(service),
            requests=measured["requests"].get(service),
            values={name: measured[name].get(service) for name in limits},
        )
        row: dict[str, Any] = {
            "service": service,
            "samples": figures.samples,
            "requests": None if figures.requests is None else round(figures.requests),
        }
        missing = figures.missing(window)
        if missing is not None:
            no_data.append(missing)
            rows.append({**row, **dict.fromkeys(limits, "no data")})
            continue
        for name, value in figures.values.items():
            assert value is not None
            row[name] = round(value, 4)
            evidence.measure(
                name,
                round(value, 4),
                limit=limits[name],
                service=service,
                unit="" if name == ERROR_RATE else "s",
            )
            limit = limits[name]
            if limit is not None and value > limit:
                problems.append(_sentence(name, service, value, limit))
        rows.append(row)
    evidence.table(f"per service over {window.describe()}", rows)
    unknown = [f"no data: {m}" for m in no_data]
    assert not problems, (
        f"over {window.describe()}: {'; '.join(problems + unknown)}; see the services' dashboards"
    )
    assert not no_data, (
        f"no data: {'; '.join(no_data)}; this release is not judged on the previous one's "
        f"samples: {window.rerun_hint()}"
    )


def _release_window(
    target: Target, cluster: ClusterSnapshot, services: list[Service]
) -> ReleaseWindow | str:
    """The window of the release's own traffic, from the cluster's rollouts."""
    try:
        deployments = cluster.objects("deployments")
        replicasets = cluster.objects("replicasets")
    except ProbeError as e:
        return f"no data: cannot date the rollout ({e})"
    completed: dict[str, datetime | None] = {}
    for service in services:
        name = service.deployment_name
        found = next((d for d in deployments if d["metadata"]["name"] == name), None)
        if found is None:
            return (
                f"no data: deployment/{name} not found in {cluster.namespace}, so the rollout "
                f"of the release cannot be dated; kubectl get deployments -n {cluster.namespace}"
            )
        completed[name] = rollout_completed_at(found, replicasets)
    return release_window(completed, datetime.now(UTC), METRICS_WINDOW_S)


def _limits(env_policy: Environment) -> dict[str, float | None]:
    """Each measure's limit: the rollback criteria, else the baseline profile's."""
    policy = RollbackPolicy(env_policy.rollback)
    baseline = env_policy.load_profiles.get("baseline")
    thresholds = baseline.thresholds if baseline else None
    error_max = policy.limit(ERROR_RATE)
    if error_max is None and thresholds:
        error_max = thresholds.error_rate_max
    mean_max = policy.limit(MEAN_RESPONSE_S)
    if mean_max is None and thresholds and thresholds.mean_ms_max:
        mean_max = thresholds.mean_ms_max / 1000
    p95_max_s = thresholds.p95_ms_max / 1000 if thresholds and thresholds.p95_ms_max else None
    return {ERROR_RATE: error_max, MEAN_RESPONSE_S: mean_max, "p95_s": p95_max_s}


def _sentence(name: str, service: str, value: float, limit: float) -> str:
    if name == ERROR_RATE:
        return f"error rate {value:.1%} > {limit:.1%} for {service}"
    words = "mean response" if name == MEAN_RESPONSE_S else "p95 latency"
    return f"{words} {value:.2f} s > {limit:.2f} s for {service}"
