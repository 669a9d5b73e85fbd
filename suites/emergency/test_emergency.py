"""Emergency procedures, each proven by reading the cluster afterwards.

Critical failure: pause every rollout, gather the impact, roll back, tell
people. Partial failure of ``--service``: scale it to zero, point its Service
at the maintenance backend, collect what is known about it, then bring it
back step by step with a health check between steps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gonogo.checks import (
    ClusterSnapshot,
    Environment,
    Evidence,
    KubeClient,
    Patcher,
    SecretResolver,
    Service,
    Target,
)

BEFORE_REPLICAS = "gonogo.dev/replicas-before-isolation"
BEFORE_SELECTOR = "gonogo.dev/selector-before-maintenance"
MAINTENANCE = {"app": "maintenance"}
ERROR_LINES = 50


def _deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}}


def _service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}}


@pytest.mark.mutating
@pytest.mark.item("Immediate Response")
@pytest.mark.kube_access("list,patch deployments")
def test_immediate_response(
    cluster: ClusterSnapshot,
    patcher: Patcher,
    namespace: str,
    dry_run: bool,
    kube: KubeClient,
    evidence: Evidence,
) -> None:
    """Every Deployment's rollout in the namespace is paused."""
    names = [d.name for d in cluster.deployments()]
    answers = {
        n: patcher.patch(_deployment(n), namespace, {"spec": {"paused": True}}) for n in names
    }
    if not dry_run:
        answers = {d["metadata"]["name"]: d for d in kube.list_all("deployments", namespace)}
    rows: list[dict[str, Any]] = [
        {"deployment": n, "paused": bool(a["spec"].get("paused"))} for n, a in answers.items()
    ]
    evidence.table("rollouts paused" if not dry_run else "would pause", rows)
    running = [r["deployment"] for r in rows if not r["paused"]]
    assert names, f"no Deployments in {namespace}"
    assert not running, f"rollouts not paused: {', '.join(running)}"


@pytest.mark.item("Assess Impact")
@pytest.mark.kube_access("list events,deployments,pods")
def test_assess_impact(target: Target, cluster: ClusterSnapshot, evidence: Evidence) -> None:
    """The incident's impact is gathered: the namespace's recent Warning events and the error
    lines of the target's error logs, which must be readable."""
    warnings = sorted(
        (e for e in cluster.objects("events") if e.get("type") == "Warning"),
        key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "",
    )[-20:]
    evidence.table(
        "recent Warning events",
        [
            {
                "object": f"{e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}",
                "reason": e.get("reason"),
                "message": e.get("message"),
                "last": e.get("lastTimestamp") or e.get("eventTime"),
            }
            for e in warnings
        ],
    )
    files: list[Path] = []
    for path in target.monitoring.error_log_paths:
        files += sorted(path.glob("*.log")) if path.is_dir() else [path]
    readable = [f for f in files if f.is_file()]
    errors = []
    for file in readable:
        with file.open(errors="replace") as handle:
            errors += [f"{file.name}: {line.strip()}" for line in handle if "error" in line.lower()]
    evidence.note("error lines", "\n".join(errors[-ERROR_LINES:]) or "none")
    evidence.measure("warning_events", len(warnings))
    assert readable, (
        "no error log to read: set monitoring.error_log_paths in the target "
        f"(looked at {', '.join(map(str, target.monitoring.error_log_paths)) or 'nothing'})"
    )


@pytest.mark.mutating
@pytest.mark.item("Execute Rollback")
@pytest.mark.kube_access("list deployments,replicasets", "patch,watch deployments")
def test_execute_rollback(
    request: pytest.FixtureRequest, target: Target, environment: str, evidence: Evidence
) -> None:
    """Every step of the emergency rollback plan completed: each Deployment is back on the
    revision of the previous release."""
    from gonogo.checks import Failure

    hook = request.config.hook
    settings = request.getfixturevalue("gonogo_settings")
    failure = Failure(target.name, "emergency", "Critical System Failure During Deployment", [])
    plan = hook.pytest_gonogo_rollback_plan(
        target=target, environment=environment, failure=failure, settings=settings
    )
    evidence.note("plan", plan.render())
    steps = (
        hook.pytest_gonogo_rollback(
            plan=plan, target=target, environment=environment, settings=settings
        )
        or []
    )
    evidence.table(
        "rollback steps",
        [
            {
                "deployment": s.deployment,
                "from_revision": s.from_revision,
                "to_revision": s.to_revision,
                "result": s.result,
            }
            for s in steps
        ],
    )
    failed = [f"deployment/{s.deployment}: {s.result}" for s in steps if not s.ok]
    assert not failed, "rollback incomplete: " + "; ".join(failed)


@pytest.mark.item("Incident Communication")
def test_incident_communication(
    target: Target,
    environment: str,
    env_policy: Environment,
    service_under_repair: Service,
    secrets: SecretResolver,
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """Every notification webhook of the environment received the incident notice for the failed
    service."""
    from gonogo.checks import notify

    body = notify.message(
        "incident",
        f"{target.name} ({environment}): incident on {service_under_repair.name}; "
        "emergency procedures under way" + (" (dry run)" if dry_run else ""),
        target=target.name,
        environment=environment,
        service=service_under_repair.name,
        release=target.release,
        dry_run=dry_run,
    )
    webhooks = env_policy.notification.webhooks
    assert webhooks, f"no notification webhooks for {environment} in {target.source}"
    deliveries = notify.send(webhooks, body, secrets=secrets)
    evidence.table("deliveries", [d.row() for d in deliveries])
    failed = [f"{d.url}: {d.error}" for d in deliveries if not d.ok]
    assert not failed, "incident notice not delivered: " + "; ".join(failed)


@pytest.mark.mutating
@pytest.mark.item("Isolate Failed Service")
@pytest.mark.kube_access("get,list,patch deployments", "list,patch services")
def test_isolate_failed_service(
    service_under_repair: Service,
    cluster: ClusterSnapshot,
    patcher: Patcher,
    namespace: str,
    dry_run: bool,
    kube: KubeClient,
    evidence: Evidence,
) -> None:
    """The failed service is scaled to zero and has no pods left, its former replica count kept
    for the recovery."""
    name = service_under_repair.deployment_name
    current = cluster.deployment(name)
    before = (current.raw["metadata"].get("annotations") or {}).get(BEFORE_REPLICAS)
    replicas = int(before) if before else current.replicas
    patcher.patch(
        _deployment(name),
        namespace,
        {
            "metadata": {"annotations": {BEFORE_REPLICAS: str(replicas)}},
            "spec": {"replicas": 0},
        },
    )
    if dry_run:
        evidence.note("would scale", f"deployment/{name}: {current.replicas} -> 0")
        return
    deadline = time.monotonic() + service_under_repair.rollout_timeout_s
    while True:
        live = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", what=name)
        running = int(live.get("status", {}).get("replicas", 0))
        if running == 0 or time.monotonic() >= deadline:
            break
        time.sleep(1)
    evidence.note("scaled", f"deployment/{name}: {replicas} -> 0 ({running} pods left)")
    assert live["spec"]["replicas"] == 0 and running == 0, (
        f"deployment/{name} still has {running} pods; kubectl get pods -n {namespace}"
    )


@pytest.mark.mutating
@pytest.mark.item("Route Traffic Around Failure")
@pytest.mark.kube_access("list,patch services")
def test_route_traffic_around_failure(
    service_under_repair: Service,
    cluster: ClusterSnapshot,
    patcher: Patcher,
    namespace: str,
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """The failed service's Service selects the maintenance backend, its former selector kept
    for the recovery."""
    name = service_under_repair.deployment_name
    svc = cluster.find("services", name)
    assert svc is not None, f"no Service {name} in {namespace}"
    assert cluster.find("services", "maintenance") is not None or (
        "maintenance" in cluster.names("deployments")
    ), f"no maintenance backend in {namespace}; deploy maintenance.yaml"
    selector = svc["spec"].get("selector") or {}
    saved = (svc["metadata"].get("annotations") or {}).get(BEFORE_SELECTOR)
    if selector != MAINTENANCE or saved is None:
        saved = json.dumps(selector if selector != MAINTENANCE else {"app": name})
    answer = patcher.patch(
        _service(name),
        namespace,
        {
            "metadata": {"annotations": {BEFORE_SELECTOR: saved}},
            "spec": {"selector": {**{k: None for k in selector}, **MAINTENANCE}},
        },
    )
    evidence.note("selector", f"{json.dumps(selector)} -> {json.dumps(answer['spec']['selector'])}")
    assert answer["spec"]["selector"] == MAINTENANCE, (
        f"Service {name} selects {answer['spec']['selector']}, not {MAINTENANCE}"
    )


@pytest.mark.item("Investigate and Fix")
@pytest.mark.kube_access("list deployments,pods,events", "list pods.metrics.k8s.io")
def test_investigate_and_fix(
    service_under_repair: Service,
    cluster: ClusterSnapshot,
    kube: KubeClient,
    namespace: str,
    target: Target,
    environment: str,
    evidence: Evidence,
) -> None:
    """What is known about the failed service is collected (events, pods, status, metrics), and
    its Deployment has a status to investigate."""
    from gonogo.checks import ProbeError, get_json

    name = service_under_repair.deployment_name
    deployment = cluster.deployment(name)
    pods = cluster.pods(selector=deployment.selector)
    involved = {name, *(p["metadata"]["name"] for p in pods)}
    events = [
        e
        for e in cluster.objects("events")
        if e["involvedObject"].get("name") in involved
        or e["involvedObject"].get("name", "").startswith(name + "-")
    ]
    evidence.table(
        "events",
        [
            {
                "object": e["involvedObject"].get("name"),
                "type": e.get("type"),
                "reason": e.get("reason"),
                "message": e.get("message"),
            }
            for e in events[-30:]
        ],
    )
    evidence.table(
        "pods",
        [{"pod": p["metadata"]["name"], "phase": p.get("status", {}).get("phase")} for p in pods],
    )
    evidence.data("deployment status", deployment.status)
    try:
        metrics = kube.get(
            f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods",
            what="pod metrics",
            labelSelector=",".join(f"{k}={v}" for k, v in deployment.selector.items()),
        )
        evidence.data("pod metrics", metrics.get("items", []))
    except ProbeError as e:
        evidence.note("pod metrics", f"unavailable: {e}")
    base = target.base_url_for(environment)
    answer = get_json(f"{base}/{name}/metrics", timeout=5.0)
    evidence.attach("service metrics", answer.body[:20000] if answer.ok else answer.summary())
    assert deployment.status, f"deployment/{name} has no status to investigate"


@pytest.mark.mutating
@pytest.mark.item("Gradual Recovery")
@pytest.mark.kube_access("get,list,patch,watch deployments", "get,list,patch services")
def test_gradual_recovery(
    service_under_repair: Service,
    cluster: ClusterSnapshot,
    patcher: Patcher,
    kube: KubeClient,
    namespace: str,
    dry_run: bool,
    target: Target,
    environment: str,
    rollout_progress: Callable[[str], None],
    evidence: Evidence,
) -> None:
    """The failed service is back at its former replica count, healthy at every step on the way,
    and its Service no longer points at maintenance."""
    from gonogo.checks import check_health, wait_for

    name = service_under_repair.deployment_name
    deployment = cluster.deployment(name)
    annotations = deployment.raw["metadata"].get("annotations") or {}
    goal = int(annotations.get(BEFORE_REPLICAS) or max(deployment.replicas, 1))
    svc = cluster.find("services", name)
    saved = ((svc or {}).get("metadata", {}).get("annotations") or {}).get(BEFORE_SELECTOR)
    steps = []
    for replicas in range(max(deployment.replicas, 0) + 1, goal + 1) or [goal]:
        patcher.patch(
            _deployment(name), namespace, {"spec": {"replicas": replicas, "paused": False}}
        )
        if dry_run:
            steps.append({"replicas": replicas, "result": "would scale (dry run)"})
            continue
        outcome = wait_for(
            kube,
            namespace,
            {name: service_under_repair.rollout_timeout_s},
            progress=rollout_progress,
        )
        problem = "; ".join(outcome.failures) or None
        if problem is None and replicas == 1 and saved:
            patcher.patch(
                _service(name),
                namespace,
                {
                    "metadata": {"annotations": {BEFORE_SELECTOR: None}},
                    "spec": {"selector": {**dict.fromkeys(MAINTENANCE), **json.loads(saved)}},
                },
            )
        if problem is None:
            problem = check_health(target, environment, service_under_repair, None, 30.0)
        steps.append({"replicas": replicas, "result": problem or "healthy"})
        assert problem is None, f"deployment/{name} at {replicas} replicas: {problem}"
    patcher.patch(
        _deployment(name), namespace, {"metadata": {"annotations": {BEFORE_REPLICAS: None}}}
    )
    evidence.table("recovery steps", steps)
    if not dry_run:
        live = kube.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}", what=name)
        svc_now = kube.get(f"/api/v1/namespaces/{namespace}/services/{name}", what=name)
        assert live["spec"]["replicas"] == goal, f"deployment/{name} at {live['spec']['replicas']}"
        assert svc_now["spec"]["selector"] != MAINTENANCE, f"Service {name} still on maintenance"
