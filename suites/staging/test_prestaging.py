"""Pre-Staging Validation."""

from __future__ import annotations

from typing import Any

import pytest
import redis as redis_lib
from gonogo.checks import (
    ClusterSnapshot,
    Environment,
    Evidence,
    HttpRequest,
    KubeClient,
    Target,
    capacity,
    probe,
    redis_probe,
)

from suites.sections import required

pytestmark = pytest.mark.env("staging")


def _finished(job: dict[str, Any]) -> bool:
    status = job.get("status") or {}
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


@pytest.mark.mutating
@pytest.mark.item("Staging environment clean")
@pytest.mark.kube_access("list,delete jobs")
def test_environment_clean(
    target: Target,
    namespace: str,
    redis_client: redis_lib.Redis,
    kube: KubeClient,
    cluster: ClusterSnapshot,
    dry_run: bool,
    evidence: Evidence,
) -> None:
    """Remove the previous run's test data (Redis keys under the test prefixes,
    finished Jobs), then prove none is left."""
    prefixes = required(target.redis, "redis").test_prefixes
    leftovers = redis_probe.keys_with_prefixes(redis_client, prefixes)
    jobs = [j["metadata"]["name"] for j in cluster.where("jobs", _finished)]
    evidence.note("test prefixes", ", ".join(prefixes) or "none")
    evidence.table("leftover test data", [{"redis key": k} for k in leftovers[:200]])
    evidence.table("finished jobs", [{"job": j} for j in jobs])
    for job in jobs:
        kube.request(
            "DELETE",
            f"/apis/batch/v1/namespaces/{namespace}/jobs/{job}",
            {"propagationPolicy": "Background"},
            what=f"delete job {job}",
            dryRun="All" if dry_run else None,
        )
    if dry_run:
        evidence.note(
            "dry run",
            f"would remove {len(leftovers)} Redis keys and {len(jobs)} finished Jobs "
            "(Jobs checked by a server-side dry-run delete)",
        )
        assert not leftovers and not jobs, (
            f"staging holds {len(leftovers)} leftover test keys and {len(jobs)} finished Jobs; "
            "run with --execute to remove them"
        )
        return
    removed = redis_probe.delete(redis_client, leftovers)
    evidence.note("removed", f"{removed} Redis keys, {len(jobs)} Jobs")
    remaining = redis_probe.keys_with_prefixes(redis_client, prefixes)
    assert not remaining, f"test data still present after cleaning: {', '.join(remaining[:5])}"


@pytest.mark.item("Resource allocation")
@pytest.mark.kube_access("list nodes", "list pods in all namespaces", "list resourcequotas")
def test_resource_allocation(
    target: Target,
    env_policy: Environment,
    namespace: str,
    cluster: ClusterSnapshot,
    staging_manifests: list[dict[str, Any]],
    evidence: Evidence,
) -> None:
    """The staging release fits: quota room in the namespace and node headroom
    once its pods' requests are added to everything already running."""
    needed = dict.fromkeys(capacity.RESOURCES, 0.0)
    for doc in staging_manifests:
        if doc.get("kind") == "Deployment":
            for r, v in capacity.pod_requests(
                doc["spec"]["template"]["spec"], int(doc["spec"].get("replicas", 1))
            ).items():
                needed[r] += v
    nodes = [n.raw for n in cluster.schedulable_nodes()]
    running = [
        p
        for p in cluster.objects("pods", "")
        if capacity.holds_resources(p) and p["metadata"]["namespace"] != namespace
    ]
    requested = capacity.sum_requests(running)
    total = {r: requested[r] + needed[r] for r in capacity.RESOURCES}
    room = capacity.Capacity(capacity.allocatable(nodes), total)
    evidence.table(
        "staging release requests",
        [{"resource": r, "needed": capacity._fmt(r, needed[r])} for r in capacity.RESOURCES],
    )
    evidence.table("cluster after staging", room.rows())
    problems = []
    for r in capacity.RESOURCES:
        want = getattr(env_policy.headroom, r)
        free = room.free_share(r)
        evidence.measure(
            f"free_{r}_share_with_staging", round(free, 4), limit=want, ok=free >= want
        )
        if free < want:
            problems.append(f"{r}: {free:.1%} free with staging < {want:.0%} headroom")
    for quota in cluster.objects("resourcequotas"):
        hard = quota.get("status", {}).get("hard") or quota["spec"].get("hard") or {}
        for key, limit in hard.items():
            resource = key.removeprefix("requests.")
            if resource in capacity.RESOURCES and capacity.quantity(limit) < needed[resource]:
                problems.append(
                    f"ResourceQuota {quota['metadata']['name']} allows {key}={limit}, "
                    f"staging needs {capacity._fmt(resource, needed[resource])}"
                )
    assert not problems, "not enough resources for staging: " + "; ".join(problems)


@pytest.mark.mutating
@pytest.mark.item("Test data prepared")
def test_test_data_prepared(
    target: Target, redis_client: redis_lib.Redis, dry_run: bool, evidence: Evidence
) -> None:
    """Write the target's seed data and read it back."""
    seed = dict(required(target.redis, "redis").seed_data)
    assert seed, "the target has no redis.seed_data; list the representative test data"
    evidence.table("seed keys", [{"key": k, "bytes": len(v)} for k, v in seed.items()])
    if dry_run:
        evidence.note("dry run", f"would write {len(seed)} keys (Redis answered PING)")
        return
    back = redis_probe.write_and_read_back(redis_client, seed)
    wrong = [k for k, v in back.items() if v != seed[k]]
    assert not wrong, f"seed data not read back as written: {', '.join(wrong)}"


@pytest.mark.item("External dependencies")
def test_external_dependencies(target: Target, environment: str, evidence: Evidence) -> None:
    """Integrations use this environment's endpoints, never production's, and answer."""
    apis = [a for a in target.external_apis if not target.is_absent(a.name, environment)]
    if not apis:
        pytest.skip("not applicable: the target names no external API")
    rows, problems = [], []
    for api in apis:
        mine = api.url_for(environment)
        production = api.environment_urls.get("production", api.url)
        dedicated = environment in api.environment_urls
        if dedicated and mine == production and environment != "production":
            problems.append(f"{api.name}: {environment} points at the production endpoint {mine}")
        rows.append(
            {
                "api": api.name,
                "url": mine,
                "endpoint": "dedicated" if dedicated else "shared with every environment",
            }
        )
    evidence.table("integration endpoints", rows)
    results = probe(
        [
            HttpRequest(a.name, a.url_for(environment) + a.health_path, timeout=a.timeout_s)
            for a in apis
        ]
    )
    evidence.table(
        "answers", [{"api": r.name, "status": r.status, "error": r.error} for r in results]
    )
    problems += [r.summary() for r in results if r.error or (r.status or 0) >= 500]
    assert not problems, "; ".join(problems)
