"""Staging Deployment Steps."""

from __future__ import annotations

import time
from typing import Any

import pytest
from gonogo.checks import (
    ClusterSnapshot,
    Evidence,
    HttpRequest,
    HttpResult,
    KubeClient,
    ResourceMapper,
    Target,
    apply_documents,
    apply_object,
    apply_summary,
    load_documents,
    probe,
)

pytestmark = pytest.mark.env("staging")


@pytest.mark.mutating
@pytest.mark.item("Deploy to staging namespace")
@pytest.mark.kube_access(
    "get,create,patch namespaces",
    "get,create,patch deployments,services,serviceaccounts,configmaps,secrets",
    "get,create,patch networkpolicies,roles,rolebindings,horizontalpodautoscalers,ingresses",
    "get,create,patch certificates,clusterissuers,prometheusrules",
    "bind,escalate roles",
)
def test_deploy_to_staging_namespace(
    namespace: str,
    kube: KubeClient,
    staging_manifests: list[dict[str, Any]],
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """Create the namespace idempotently, then apply the release's manifests to it."""
    mapper = ResourceMapper(kube)
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": {"gonogo.dev/environment": "staging"}},
    }
    created, _ = apply_object(kube, ns, None, dry_run=dry_run, mapper=mapper)
    evidence.note("namespace", f"{namespace}: {created.row()['result']}")
    if dry_run and created.action == "created":
        evidence.note(
            "dry run",
            f"namespace {namespace} does not exist yet, so the server cannot dry-run objects "
            f"inside it; {len(staging_manifests)} objects would be applied",
        )
        evidence.table(
            "would apply",
            [{"object": f"{d['kind']} {d['metadata']['name']}"} for d in staging_manifests],
        )
        return
    results = apply_documents(kube, staging_manifests, namespace, dry_run=dry_run, mapper=mapper)
    evidence.table("applied", [r.row() for r in results])
    evidence.note("result", apply_summary(results))
    assert len(results) == len(staging_manifests)


@pytest.mark.mutating
@pytest.mark.item("Configure staging-specific settings")
@pytest.mark.kube_access("get,create,patch configmaps")
def test_configure_staging_settings(
    target: Target,
    environment: str,
    namespace: str,
    kube: KubeClient,
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """Apply the environment's ConfigMaps, then read them back equal to the files."""
    paths = target.configmap_paths(environment)
    assert paths, f"environment {environment} lists no configmaps in the target"
    documents = load_documents(paths)
    results = apply_documents(kube, documents, namespace, dry_run=dry_run)
    evidence.table("applied", [r.row() for r in results])
    if dry_run:
        evidence.note("dry run", apply_summary(results))
        return
    different = []
    for doc in documents:
        name = doc["metadata"]["name"]
        live = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}", what=f"read {name}")
        want = {k: str(v) for k, v in (doc.get("data") or {}).items()}
        if live.get("data") != want:
            keys = sorted(set(want) ^ set(live.get("data") or {})) or sorted(
                k for k in want if want[k] != (live.get("data") or {}).get(k)
            )
            different.append(f"ConfigMap {name} differs in {', '.join(keys)}")
    assert not different, "; ".join(different)


@pytest.mark.item("Validate staging deployment")
@pytest.mark.kube_access("list deployments")
def test_validate_staging_deployment(
    target: Target, environment: str, namespace: str, cluster: ClusterSnapshot, evidence: Evidence
) -> None:
    """Every Deployment of the release Available at the release, health endpoints OK."""
    services = target.services_in_dependency_order()
    deadline = time.monotonic() + max(s.rollout_timeout_s for s in services)
    waiting: list[str] = []
    while True:
        cluster.invalidate()
        found = {d.name: d for d in cluster.deployments()}
        waiting = [
            s.deployment_name
            for s in services
            if s.deployment_name not in found
            or not (
                found[s.deployment_name].is_available and found[s.deployment_name].rollout_complete
            )
        ]
        stuck = [
            f"{n}: {found[n].progress_deadline_exceeded}"
            for n in waiting
            if n in found and found[n].progress_deadline_exceeded
        ]
        assert not stuck, "rollouts failed in staging: " + "; ".join(stuck)
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    evidence.table(
        "deployments",
        [
            {
                "deployment": n,
                "image": v.image(),
                "available": v.is_available,
                "complete": v.rollout_complete,
            }
            for n, v in found.items()
        ],
    )
    missing = [n for n in waiting if n not in found]
    assert not missing, f"not deployed in {namespace}: {', '.join(missing)}"
    assert not waiting, f"not Available in {namespace}: {', '.join(waiting)}"
    wrong = [
        f"{s.deployment_name} runs {found[s.deployment_name].image_tag(s.container)}"
        for s in target.release_services()
        if found[s.deployment_name].image_tag(s.container) != target.release
    ]
    assert not wrong, f"staging does not run {target.release}: {', '.join(wrong)}"
    requests = [
        HttpRequest(s.name, url, timeout=5.0)
        for s in services
        if (url := target.health_url(s, environment))
    ]
    results = _until_healthy(requests, deadline)
    evidence.table(
        "health", [{"service": r.name, "status": r.status, "error": r.error} for r in results]
    )
    failed = [r.summary() for r in results if not r.ok]
    assert not failed, "staging health endpoints failing: " + "; ".join(failed)


def _until_healthy(requests: list[HttpRequest], deadline: float) -> list[HttpResult]:
    """The HTTP side may lag the cluster by a moment; poll until all are OK or time is up."""
    while True:
        results = probe(requests)
        if all(r.ok for r in results) or time.monotonic() > deadline:
            return results
        time.sleep(1.0)
