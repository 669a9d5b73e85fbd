"""Immediate validation (T+10): every service healthy and on the release,
Redis reachable from here and from each service, external APIs reachable."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import redis as redis_lib
from gonogo.checks import ClusterSnapshot, Evidence, SecretResolver, Target, probe

from suites.postdeploy.conftest import HealthRound, external_requests, release_versions
from suites.sections import required


@pytest.mark.item("Service health checks", stage="postdeploy")
@pytest.mark.kube_access("list deployments,replicasets")
def test_service_health(
    target: Target,
    environment: str,
    evidence: Evidence,
    health_round_factory: Callable[[], HealthRound],
    cluster: ClusterSnapshot,
):
    """Every service is healthy by a majority of its health answers, and every released service
    runs the release, by its version URL and its serving image tags."""
    health = health_round_factory()
    rows = health.rows()
    evidence.table("health", rows)
    assert health.services, (
        f"no data: no service in {target.source} has a health_path; add one per service"
    )
    unhealthy = [health.verdict(r["service"])[1].summary() for r in rows if not r["healthy"]]
    versions = release_versions(target, environment, cluster)
    evidence.table(f"running release (release is {target.release})", versions.rows)
    problems = []
    if unhealthy:
        problems.append(
            f"{len(unhealthy)} of {len(rows)} services unhealthy: {'; '.join(unhealthy)}; "
            f"see their logs and kubectl get pods -n {target.namespace_for(environment)}"
        )
    if versions.wrong:
        problems.append(
            f"{'; '.join(versions.wrong)}; finish or redo the rollout of the release "
            f"(kubectl rollout status -n {target.namespace_for(environment)} deployment/...)"
        )
    if versions.unknown:
        problems.append(f"no data: {'; '.join(versions.unknown)}")
    assert not problems, "; ".join(problems)


@pytest.mark.item("Database connectivity", stage="postdeploy")
def test_database_connectivity(
    target: Target,
    environment: str,
    evidence: Evidence,
    redis_client: redis_lib.Redis,
    health_round_factory: Callable[[], HealthRound],
):
    """Redis takes a write, read and delete from here, and every service reports it can use
    Redis."""
    prefix = required(target.redis, "redis").key_prefix
    key = f"{prefix}postdeploy:roundtrip:{uuid.uuid4().hex[:12]}"
    value = uuid.uuid4().hex
    redis_client.set(key, value, ex=60)
    read_back = redis_client.get(key)
    removed = redis_client.delete(key)
    gone = redis_client.exists(key) == 0
    evidence.data(
        "redis round trip",
        {"key": key, "read_back_equal": read_back == value, "deleted": removed, "gone": gone},
    )
    assert read_back == value and removed == 1 and gone, (
        f"Redis round trip under {prefix!r} failed: read back "
        f"{'the value' if read_back == value else repr(read_back)}, deleted {removed}, "
        f"gone {gone}; check the server's memory policy and ACLs"
    )

    health = health_round_factory()
    rows = [
        {"service": r["service"], "redis": r["redis"]}
        for r in health.rows()
        if r["redis"] is not None
    ]
    evidence.table("redis as each service sees it", rows)
    broken = [f"{r['service']} reports redis {r['redis']!r}" for r in rows if r["redis"] != "ok"]
    assert not broken, f"services cannot use Redis: {'; '.join(broken)}; check REDIS_HOST/PORT"


@pytest.mark.item("External API connectivity", stage="postdeploy")
def test_external_api_connectivity(
    target: Target, environment: str, secrets: SecretResolver, evidence: Evidence
):
    """Every external API the target lists answers from the released environment, authenticated
    as the target says."""
    apis, requests = external_requests(target, environment, secrets)
    if not apis:
        evidence.note("not applicable", f"{target.source} lists no external API for {environment}")
        pytest.skip(f"not applicable: {target.name} calls no external API in {environment}")
    results = probe(requests, deadline=30.0)
    evidence.table(
        "external APIs",
        [
            {
                "api": api.name,
                "url": r.url,
                "status": r.status,
                "error": r.error,
                "ms": round(r.elapsed_s * 1000),
            }
            for api, r in zip(apis, results, strict=True)
        ],
    )
    failed = [r.summary() for r in results if not r.ok]
    assert not failed, (
        f"external APIs unreachable: {'; '.join(failed)}; check egress, DNS and the tokens "
        "the target references"
    )
