"""Ready-made rollback checks, run for real with ``--execute`` (a server-side
dry run without it): pause, undo to the revision that ran the previous
release, verify, restore configuration from the pre-deployment backup, prove
stable. Each is harmless when run again: there is then nothing left to undo.

The plan is read from the cluster by each check that needs it
(``rollback_plan_for``): every Deployment now running the release, in
reverse dependency order, only ``--service`` when given."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gonogo.checks.ready import ready_check
from gonogo.engine.evidence import Evidence
from gonogo.engine.settings import Settings
from gonogo.integrations.http.client import HttpRequest, HttpResult, probe
from gonogo.integrations.kubernetes import apply, backup, changes
from gonogo.integrations.kubernetes.changes import Patcher
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.rollback import (
    RollbackExecutor,
    build_plan,
    check_health_many,
)
from gonogo.integrations.kubernetes.snapshot import ClusterSnapshot
from gonogo.model.rollback import (
    ERROR_RATE,
    MEAN_RESPONSE_S,
    RollbackPlan,
    RollbackPolicy,
    RollbackStep,
)
from gonogo.model.target import Target


def rollback_plan_for(
    target: Target, environment: str, kube: KubeClient, settings: Settings
) -> RollbackPlan:
    """Every Deployment now running the release, in reverse dependency order,
    with the revision that ran the previous release (only ``--service`` when given)."""
    if target.previous_release is None:
        pytest.fail(f"{target.source} names no previous_release to roll back to", pytrace=False)
    plan = build_plan(kube, target, environment, target.name)
    if settings.service:
        service = target.service(settings.service)
        plan.steps = [s for s in plan.steps if s.service == service.name]
    return plan


def _steps_rows(steps: list[RollbackStep]) -> list[dict[str, Any]]:
    return [
        {
            "deployment": s.deployment,
            "from_revision": s.from_revision,
            "to_revision": s.to_revision,
            "result": s.result,
            "seconds": round(s.duration_s, 1),
        }
        for s in steps
    ]


def _on_release(
    target: Target, environment: str, cluster: ClusterSnapshot, release: str
) -> list[str]:
    found = []
    for service in target.release_services():
        deployment = cluster.deployment(service.deployment_name)
        if deployment.image_tag(service.container) == release:
            found.append(service.name)
    return found


@ready_check(
    purpose="Every Deployment now running the release has its rollout paused.",
    keywords=("stop", "pause", "halt", "current", "rollout"),
    kube_access=("list deployments,replicasets", "patch deployments"),
    mutating=True,
)
def rollouts_paused(
    target: Target,
    environment: str,
    gonogo_settings: Settings,
    patcher: Patcher,
    namespace: str,
    dry_run: bool,
    kube: KubeClient,
    evidence: Evidence,
) -> None:
    """Every Deployment in the rollback plan has its rollout paused."""
    rollback_plan = rollback_plan_for(target, environment, kube, gonogo_settings)
    evidence.note("plan", rollback_plan.render())
    rows = []
    for step in rollback_plan.steps:
        obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": step.deployment}}
        answer = patcher.patch(obj, namespace, {"spec": {"paused": True}})
        rows.append({"deployment": step.deployment, "paused": answer["spec"].get("paused")})
    evidence.table("paused" if not dry_run else "would pause", rows)
    not_paused = [r["deployment"] for r in rows if not r["paused"]]
    assert not not_paused, f"rollouts not paused: {', '.join(not_paused)}"


@ready_check(
    purpose=(
        "Every Deployment now running the release is returned to the revision that ran "
        "the previous release, and its rollout completes."
    ),
    keywords=("rollback", "previous", "version", "revision", "undo", "revert"),
    kube_access=("list deployments,replicasets", "patch,watch deployments"),
    mutating=True,
)
def rolled_back_to_previous(
    target: Target,
    environment: str,
    gonogo_settings: Settings,
    kube: KubeClient,
    dry_run: bool,
    rollout_progress: Callable[[str], None],
    evidence: Evidence,
) -> None:
    """Every step of the rollback plan completed: each Deployment is back on the revision that
    ran the previous release."""
    rollback_plan = rollback_plan_for(target, environment, kube, gonogo_settings)
    executor = RollbackExecutor(
        kube, target, environment, dry_run=dry_run, progress=rollout_progress
    )
    steps = executor.run(rollback_plan)
    evidence.note("plan", rollback_plan.render())
    evidence.table("rollback steps", _steps_rows(steps))
    failed = [f"deployment/{s.deployment}: {s.result}" for s in steps if not s.ok]
    assert not failed, "rollback incomplete: " + "; ".join(failed)


@ready_check(
    purpose=(
        "After a rollback every service answers its health check and its Deployment is "
        "Available and, when the rollback was executed, runs the previous release."
    ),
    keywords=("verify", "rollback", "success", "verified", "succeeded"),
    kube_access=("list deployments",),
)
def rollback_verified(
    target: Target,
    environment: str,
    cluster: ClusterSnapshot,
    dry_run: bool,
    gonogo_settings: Settings,
    evidence: Evidence,
    *,
    health_deadline_s: float = 30.0,
) -> None:
    """After the rollback every service is healthy and Available and, when executed, runs the
    previous release."""
    services = target.release_services()
    if gonogo_settings.service:
        services = [target.service(gonogo_settings.service)]
    expected = None if dry_run else target.previous_release
    rows, problems = [], []
    health = check_health_many(
        target, environment, [(s, expected) for s in services], health_deadline_s
    )
    for service, problem in zip(services, health, strict=True):
        deployment = cluster.deployment(service.deployment_name)
        tag = deployment.image_tag(service.container)
        rows.append(
            {
                "service": service.name,
                "image_tag": tag,
                "available": deployment.is_available,
                "health": problem or "ok",
            }
        )
        if problem:
            problems.append(f"{service.name}: {problem}")
        if expected and tag != expected:
            problems.append(f"{service.name} runs {tag}, not {expected}")
        if not deployment.is_available:
            problems.append(f"deployment/{service.deployment_name} is not Available")
    evidence.table("services", rows)
    assert not problems, "; ".join(problems)


@ready_check(
    purpose=(
        "A rollback of every service, in reverse dependency order, completes every step "
        "and, when executed, leaves no service on the release."
    ),
    keywords=("rollback", "reverse", "dependency", "order"),
    kube_access=("list deployments,replicasets", "patch,watch deployments"),
    mutating=True,
)
def rolled_back_in_reverse_order(
    target: Target,
    environment: str,
    kube: KubeClient,
    dry_run: bool,
    cluster: ClusterSnapshot,
    rollout_progress: Callable[[str], None],
    evidence: Evidence,
) -> None:
    """The rollback runs in reverse dependency order, completes every step and, when executed,
    leaves no service on the release."""
    plan = build_plan(kube, target, environment, target.name)
    order = [s.name for s in target.reverse_dependency_order()]
    positions = [order.index(s.service) for s in plan.steps]
    evidence.note("plan", plan.render())
    assert positions == sorted(positions), "plan is not in reverse dependency order"
    steps = RollbackExecutor(
        kube, target, environment, dry_run=dry_run, progress=rollout_progress
    ).run(plan)
    evidence.table("rollback steps", _steps_rows(steps))
    failed = [f"deployment/{s.deployment}: {s.result}" for s in steps if not s.ok]
    assert not failed, "rollback incomplete: " + "; ".join(failed)
    if not dry_run:
        cluster.invalidate()
        left = _on_release(target, environment, cluster, target.release)
        assert not left, f"still on {target.release} after the rollback: {', '.join(left)}"


@ready_check(
    purpose=(
        "The ConfigMaps of the newest pre-deployment backup are applied to the namespace, "
        "and the cluster's ConfigMaps then equal the backup."
    ),
    keywords=("restore", "previous", "configuration", "configmap"),
    kube_access=("get,create,patch restorable", "bind,escalate roles"),
    mutating=True,
)
def configuration_restored(
    kube: KubeClient, backups_dir: Path, namespace: str, dry_run: bool, evidence: Evidence
) -> None:
    """The configuration from the pre-deployment backup is applied and the cluster's ConfigMaps
    equal the backup."""
    directory = backups_dir
    newest = backup.newest(directory)
    assert newest is not None, (
        f"no pre-deployment backup in {directory}; the deploy's 'Backup current state' writes one"
    )
    saved = backup.read(newest)
    config = [
        backup.restorable(o)
        for o in saved.objects
        if o.get("kind") == "ConfigMap"
        and not backup.owned(o)
        and o["metadata"]["name"] != "kube-root-ca.crt"
    ]
    evidence.note("backup", str(newest))
    mapper = apply.ResourceMapper(kube)
    rows, unequal = [], []
    for obj in config:
        result, returned = apply.apply_object(kube, obj, namespace, dry_run=dry_run, mapper=mapper)
        differs = changes.contains(returned, {"data": obj.get("data") or {}})
        rows.append({**result.row(), "equal": not differs})
        if differs:
            unequal.append(f"ConfigMap {result.name}: {', '.join(differs[:5])}")
    evidence.table("restored configuration", rows)
    assert config, f"{newest} holds no ConfigMap to restore"
    assert not unequal, "configuration differs from the backup: " + "; ".join(unequal)


@ready_check(
    purpose=(
        "Over a short window every Deployment is Available and the services' health "
        "endpoints fail no more often than the environment's rollback error rate allows."
    ),
    keywords=("stability", "stable", "system", "steady"),
    kube_access=("list deployments",),
)
def system_stable(
    target: Target,
    environment: str,
    rollback_policy: RollbackPolicy,
    cluster: ClusterSnapshot,
    evidence: Evidence,
    *,
    least_rounds: int = 3,
    most_rounds: int = 20,
    window_s: float = 10.0,
) -> None:
    """Over the stability window every Deployment is Available and the services' health
    endpoints fail no more often than the rollback criterion allows."""
    services = [s for s in target.services_in_dependency_order() if s.health_path]
    unavailable = [d.name for d in cluster.deployments() if not d.is_available]
    round_of_requests = [
        HttpRequest(s.name, url, timeout=5.0)
        for s in services
        if (url := target.health_url(s, environment))
    ]
    started = time.monotonic()
    results: list[HttpResult] = []
    for n in range(most_rounds):
        if n >= least_rounds and time.monotonic() - started >= window_s:
            break
        results += probe(round_of_requests, concurrency=16)
    window = time.monotonic() - started
    errors = [r for r in results if not r.ok]
    rate = len(errors) / len(results) if results else 1.0
    limit = rollback_policy.limit(ERROR_RATE)
    mean = sum(r.elapsed_s for r in results) / len(results) if results else 0.0
    evidence.measure(ERROR_RATE, rate, limit=limit)
    evidence.measure(MEAN_RESPONSE_S, mean, limit=rollback_policy.limit(MEAN_RESPONSE_S))
    evidence.note(
        "window", f"{len(results)} requests to {len(services)} services in {window:.1f} s"
    )
    assert not unavailable, f"Deployments not Available: {', '.join(unavailable)}"
    assert results, "no service has a health endpoint to measure"
    if limit is not None:
        assert rate <= limit, (
            f"error rate {rate:.1%} > {limit:.0%} over {len(results)} requests; "
            f"first errors: {'; '.join(r.summary() for r in errors[:3])}"
        )
