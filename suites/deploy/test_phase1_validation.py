"""Phase 1 (T-30): the system is healthy and backed up, and people know."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gonogo.checks import (
    ClusterSnapshot,
    Environment,
    Evidence,
    KubeClient,
    SecretResolver,
    Settings,
    Target,
)

METRICS_WAIT_S = 60.0
"""How long to wait for metrics-server to sample pods that have just started."""


@pytest.mark.item("System health check")
@pytest.mark.kube_access("list deployments,pods")
def test_system_health(
    target: Target, environment: str, cluster: ClusterSnapshot, evidence: Evidence
) -> None:
    """Before the release touches anything, every Deployment is Available, every pod Running and
    Ready, and every service's health endpoint answers OK."""
    from gonogo.checks import HttpRequest, probe

    deployments = cluster.deployments()
    evidence.table(
        "deployments",
        [
            {"deployment": d.name, "available": d.is_available, "revision": d.revision}
            for d in deployments
        ],
    )
    unavailable = [d.name for d in deployments if not d.is_available]
    pods = cluster.pod_views()
    not_ready = [p.name for p in pods if not p.ready]
    checks = [
        HttpRequest(s.name, url, timeout=5.0)
        for s in target.services_in_dependency_order()
        if (url := target.health_url(s, environment))
    ]
    results = probe(checks)
    evidence.table(
        "health endpoints", [{"service": r.name, "result": r.summary()} for r in results]
    )
    failing = [r.summary() for r in results if not r.ok]
    namespace = target.namespace_for(environment)
    assert not unavailable, (
        f"Deployments not Available: {', '.join(unavailable)}; kubectl get deploy -n {namespace}"
    )
    assert pods, f"no pods in {namespace}; kubectl get pods -n {namespace}"
    assert not not_ready, (
        f"pods not Running and Ready: {', '.join(not_ready[:10])}; kubectl get pods -n {namespace}"
    )
    assert not failing, f"health endpoints failing: {'; '.join(failing)}"


@pytest.mark.item("Resource utilization review")
@pytest.mark.kube_access("list pods,nodes", "list pods.metrics.k8s.io,nodes.metrics.k8s.io")
def test_resource_utilization(
    kube: KubeClient,
    namespace: str,
    env_policy: Environment,
    cluster: ClusterSnapshot,
    evidence: Evidence,
) -> None:
    """No pod uses more of its CPU or memory limit, and no node more of its allocatable
    capacity, than the environment's resource limits allow."""
    from gonogo.checks import node_usage, pod_usage

    limits = env_policy.resource_limits
    running = [p.raw for p in cluster.pod_views() if p.phase == "Running"]
    # metrics-server samples every 15 s: pods started moments ago may not have
    # a sample yet, so wait for one per running pod (bounded).
    deadline = time.monotonic() + METRICS_WAIT_S
    while True:
        pods = pod_usage(kube, namespace, running)
        if len(pods) >= len(running) or time.monotonic() >= deadline:
            break
        time.sleep(2)
    nodes = node_usage(kube, cluster.nodes())
    unmeasured = sorted({p["metadata"]["name"] for p in running} - {u.name for u in pods})
    if unmeasured:
        evidence.note("pods without metrics yet", ", ".join(unmeasured))
    evidence.table("pods", [p.row() for p in pods])
    evidence.table("nodes", [n.row() for n in nodes])
    assert pods, (
        f"the metrics API has no pod metrics for {namespace}; is metrics-server running? "
        "(kubectl top pods)"
    )
    over = [
        f"pod {p.name} {what} {share:.0%} of its limit > {limit:.0%}"
        for p in pods
        for what, share, limit in (
            ("cpu", p.cpu_share, limits.pod_cpu),
            ("memory", p.memory_share, limits.pod_memory),
        )
        if share is not None and share > limit
    ]
    over += [
        f"node {n.name} {what} {share:.0%} of allocatable > {limit:.0%}"
        for n in nodes
        for what, share, limit in (
            ("cpu", n.cpu_share, limits.node_cpu),
            ("memory", n.memory_share, limits.node_memory),
        )
        if share is not None and share > limit
    ]
    assert not over, "; ".join(over) + "; see kubectl top pods / kubectl top nodes"


@pytest.mark.item("Backup current state")
@pytest.mark.kube_access("list restorable")
def test_backup_current_state(
    kube: KubeClient,
    backups_dir: Path,
    namespace: str,
    gonogo_settings: Settings,
    evidence: Evidence,
) -> None:
    """The namespace's current state is written to a backup that reads back sound, so "Backup
    verification" and the rollback have something to restore."""
    from gonogo.checks import backup_writer

    objects = backup_writer.collect(kube, namespace)
    directory = backups_dir  # where Backup verification reads them
    backup = backup_writer.write(objects, directory, keep_secrets=gonogo_settings.backup_secrets)
    evidence.note("backup", str(backup.path))
    evidence.table("kinds", [{"kind": k, "objects": n} for k, n in sorted(backup.kinds.items())])
    evidence.note(
        "secrets",
        "values included (--backup-secrets)"
        if backup.secrets_included
        else "values replaced by sha256 digests",
    )
    problems = backup_writer.read_back(backup)
    assert backup.count, f"nothing to back up in namespace {namespace}; is the namespace right?"
    assert not problems, f"backup {backup.path} is not sound: {'; '.join(problems)}"


@pytest.mark.item("Communication sent")
def test_communication_sent(
    target: Target,
    environment: str,
    env_policy: Environment,
    secrets: SecretResolver,
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """Every notification webhook of the environment received the start-of-deployment message."""
    from gonogo.checks import notify

    webhooks = env_policy.notification.webhooks
    assert webhooks, (
        f"no notification webhooks for {environment}; add "
        f"environments.{environment}.notification.webhooks to {target.source}"
    )
    body = notify.message(
        "deployment_start",
        f"{target.name}: deployment of {target.release} to {environment} starts"
        + (" (dry run)" if dry_run else ""),
        target=target.name,
        release=target.release,
        previous_release=target.previous_release,
        environment=environment,
        audience=list(env_policy.notification.audience),
        dry_run=dry_run,
    )
    deliveries = notify.send(webhooks, body, secrets=secrets)
    evidence.data("message", body)
    evidence.table("deliveries", [d.row() for d in deliveries])
    failed = [f"{d.url}: {d.error}" for d in deliveries if not d.ok]
    assert not failed, f"notification not delivered: {'; '.join(failed)}"
