"""Infrastructure Readiness."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from gonogo.checks import (
    ERROR_RATE,
    Alertmanager,
    ClusterSnapshot,
    Environment,
    Evidence,
    HttpRequest,
    ProbeError,
    Prometheus,
    RollbackPolicy,
    SecretResolver,
    Target,
    capacity,
    dns,
    error_ratio_query,
    probe,
    requests_query,
    tls,
)
from gonogo.checks import monitoring_stack as monitoring

from suites.predeploy.support import token
from suites.sections import present as present_section


@pytest.mark.item("Kubernetes cluster healthy")
@pytest.mark.kube_access("list nodes", "list pods in all namespaces")
def test_cluster_healthy(
    env_policy: Environment, cluster: ClusterSnapshot, evidence: Evidence
) -> None:
    """All nodes Ready without pressure; requests leave the environment's headroom free."""
    nodes = cluster.nodes()
    evidence.table(
        "nodes",
        [
            {
                "node": n.name,
                "ready": n.ready,
                "pressure": ", ".join(n.pressure) or "none",
                "schedulable": not n.unschedulable,
                "cpu": n.allocatable.get("cpu"),
                "memory": n.allocatable.get("memory"),
            }
            for n in nodes
        ],
    )
    assert nodes, "the cluster has no nodes"
    not_ready = [n.name for n in nodes if not n.ready]
    pressured = [f"{n.name} ({', '.join(n.pressure)})" for n in nodes if n.pressure]
    assert not not_ready, (
        f"{len(not_ready)} of {len(nodes)} nodes not Ready: {', '.join(not_ready)}; "
        "kubectl describe node " + not_ready[0]
    )
    assert not pressured, f"nodes under pressure: {', '.join(pressured)}"
    usable = [n.raw for n in cluster.schedulable_nodes()]
    pods = [p for p in cluster.objects("pods", "") if capacity.holds_resources(p)]
    room = capacity.Capacity(capacity.allocatable(usable), capacity.sum_requests(pods))
    evidence.table("capacity (all namespaces)", room.rows())
    short = []
    for resource in capacity.RESOURCES:
        need = getattr(env_policy.headroom, resource)
        free = room.free_share(resource)
        evidence.measure(f"free_{resource}_share", round(free, 4), limit=need, ok=free >= need)
        if free < need:
            short.append(f"{resource} {free:.1%} free < {need:.0%} headroom required")
    assert not short, f"not enough headroom after summing {len(pods)} pods' requests: " + "; ".join(
        short
    )


@pytest.mark.item("Storage availability")
@pytest.mark.kube_access("list persistentvolumeclaims,storageclasses")
def test_storage_availability(namespace: str, cluster: ClusterSnapshot, evidence: Evidence) -> None:
    """Every PVC Bound, its StorageClass present, capacity at least the request."""
    claims = cluster.claims()
    classes = cluster.storage_classes()
    rows, problems = [], []
    for claim in claims:
        name, klass = claim.name, claim.storage_class
        rows.append(
            {
                "pvc": name,
                "phase": claim.phase,
                "class": klass,
                "requested": claim.requested,
                "capacity": claim.capacity,
            }
        )
        if not claim.bound:
            problems.append(
                f"PVC {name} is {claim.phase}, not Bound "
                f"(kubectl describe pvc {name} -n {namespace})"
            )
        if klass and klass not in classes:
            problems.append(f"PVC {name} uses StorageClass {klass}, which does not exist")
        if claim.bound and capacity.quantity(claim.capacity) < capacity.quantity(claim.requested):
            problems.append(
                f"PVC {name} has {claim.capacity}, less than the {claim.requested} requested"
            )
    evidence.table("persistent volume claims", rows)
    evidence.note("storage classes", ", ".join(classes) or "none")
    if not claims:
        evidence.note("result", f"namespace {namespace} has no PersistentVolumeClaims")
    assert not problems, "; ".join(problems)


def _dependencies(target: Target, environment: str) -> list[HttpRequest]:
    requests = []
    for api in target.external_apis:
        if api.name in target.environment(environment).absent:
            continue
        requests.append(
            HttpRequest(
                f"external API {api.name}",
                api.url_for(environment) + api.health_path,
                timeout=api.timeout_s,
            )
        )
    if target.registry is not None and not target.is_absent("registry", environment):
        requests.append(HttpRequest("image registry", target.registry.url + "/v2/", timeout=5.0))
    if target.github is not None and not target.is_absent("github", environment):
        requests.append(HttpRequest("GitHub API", target.github.api_url + "/", timeout=5.0))
    return requests


@pytest.mark.item("Network connectivity")
def test_network_connectivity(target: Target, environment: str, evidence: Evidence) -> None:
    """Each external dependency answers (any HTTP answer below 500) within its timeout."""
    requests = _dependencies(target, environment)
    if not requests:
        pytest.skip("not applicable: the target names no external dependency")
    results = probe(requests)
    evidence.table(
        "dependencies",
        [
            {
                "dependency": r.name,
                "url": r.url,
                "status": r.status,
                "ms": round(r.elapsed_s * 1000),
                "error": r.error,
            }
            for r in results
        ],
    )
    failed = [r.summary() for r in results if r.error or (r.status or 0) >= 500]
    assert not failed, "dependencies not answering: " + "; ".join(failed)


@pytest.mark.item("DNS configuration")
def test_dns_configuration(
    target: Target, environment: str, env_policy: Environment, evidence: Evidence
) -> None:
    """Every host resolves; each TLS host's certificate matches, chains to a
    trusted CA and lives at least the environment's minimum."""
    hosts = [h.host for h in target.ingress.tls_hosts]
    urls = [api.url_for(environment) for api in target.external_apis]
    if not target.is_absent("ingress", environment):
        urls.append(target.base_url_for(environment))
    hosts += [str(urlsplit(u).hostname) for u in urls]
    resolved = dns.resolve_all(hosts)
    evidence.table(
        "resolution",
        [{"host": r.host, "addresses": ", ".join(r.addresses), "error": r.error} for r in resolved],
    )
    unresolved = [f"{r.host}: {r.error}" for r in resolved if not r.ok]
    assert not unresolved, "hosts do not resolve: " + "; ".join(unresolved)
    if target.is_absent("tls", environment):
        evidence.note("tls", "no TLS hosts for this environment")
        return
    checks = [tls.check(h.host, h.port, ca_bundle=h.ca_bundle) for h in target.ingress.tls_hosts]
    evidence.table("certificates", [c.row() for c in checks])
    problems = []
    for c in checks:
        days = c.days_left()
        if days is not None:
            evidence.measure(
                "cert_days_left",
                round(days, 1),
                limit=env_policy.cert_min_days,
                ok=days >= env_policy.cert_min_days,
                service=c.host,
            )
        if not c.verified:
            problems.append(f"{c.host}:{c.port} certificate does not verify: {c.error}")
        elif days is not None and days < env_policy.cert_min_days:
            problems.append(
                f"{c.host}:{c.port} certificate expires in {days:.1f} days < "
                f"{env_policy.cert_min_days} days required; renew it"
            )
    assert not problems, "; ".join(problems)


CURRENT_WINDOW = "2m"
"""The window of the "current" error rate the gate compares with error_rate_max."""


@pytest.mark.item("Monitoring systems")
def test_monitoring_systems(
    target: Target,
    environment: str,
    namespace: str,
    rollback_policy: RollbackPolicy,
    secrets: SecretResolver,
    evidence: Evidence,
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
    grafana_token = token(secrets, config.grafana_token, "grafana_token")
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
    incident, unknown = _incident(target, namespace, present, rollback_policy, evidence)
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
) -> tuple[list[str], list[str]]:
    """(critical alerts firing for the target and services whose error rate
    over the last ``CURRENT_WINDOW`` is above ``error_rate_max``; what could
    not be read, which leaves the gate unable to say there is no incident)."""
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
                    ratios = prometheus.by_label(error_ratio_query(namespace, CURRENT_WINDOW))
                    counts = prometheus.by_label(requests_query(namespace, CURRENT_WINDOW))
                    rates = monitoring.current_error_rates(
                        services, ratios, counts, limit, CURRENT_WINDOW
                    )
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
        evidence.note("PromQL error rate", error_ratio_query(namespace, CURRENT_WINDOW))
        evidence.table(f"error rate over the last {CURRENT_WINDOW}", rates.rows)
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


@pytest.mark.item("Log aggregation")
def test_log_aggregation(target: Target, environment: str, evidence: Evidence) -> None:
    """Loki ready, and a line pushed under a unique label is queried back in time."""
    url = present_section(target.monitoring.loki, target, "loki", environment)
    timeout = target.monitoring.timeout_s
    ready = probe([HttpRequest("loki ready", f"{url}/ready", timeout=timeout)])[0]
    evidence.note("ready", ready.summary())
    assert ready.ok, f"Loki is not ready: {ready.summary()}; see its /ready"
    trip = monitoring.loki_round_trip(url, timeout=timeout, deadline_s=max(5.0, timeout * 3))
    evidence.note("round trip", trip.detail)
    assert trip.pushed, f"Loki refused a pushed line: {trip.detail}"
    assert trip.found_after_s is not None, f"pushed line not queryable: {trip.detail}"
    evidence.measure("loki_round_trip_s", round(trip.found_after_s, 3))
