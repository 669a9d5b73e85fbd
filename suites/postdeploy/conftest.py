"""Fixtures of the post-deployment checks: the services' HTTP side, Redis and
the monitoring clients, each bounded in time and closed after the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from gonogo.checks import (
    ClusterSnapshot,
    ExternalApi,
    HttpRequest,
    HttpResult,
    ProbeError,
    SecretResolver,
    Service,
    Target,
    probe,
    serving,
)

from suites.predeploy.support import token

HEALTH_SAMPLES = 3
"""Health requests per service. A service is healthy when most of them answer
OK: one unlucky request must not fail the gate (error rates are judged by the
load and performance-metrics checks, on many requests), a down service fails
them all."""


class HealthRound:
    """Every service's health endpoint, probed ``HEALTH_SAMPLES`` times, concurrently."""

    def __init__(self, target: Target, environment: str) -> None:
        self.services = [s for s in target.services_in_dependency_order() if s.health_path]
        requests = [
            HttpRequest(name=s.name, url=url, timeout=5.0)
            for s in self.services
            if (url := target.health_url(s, environment))
            for _ in range(HEALTH_SAMPLES)
        ]
        self.results: dict[str, list[HttpResult]] = {}
        for result in probe(requests, deadline=30.0):
            self.results.setdefault(result.name, []).append(result)

    @staticmethod
    def healthy(result: HttpResult) -> bool:
        body = result.json if isinstance(result.json, dict) else {}
        return result.ok and body.get("status", "ok") in ("ok", "healthy", "pass", "UP", "up")

    def verdict(self, name: str) -> tuple[bool, HttpResult]:
        """(healthy by majority, the most telling answer: a bad one when there is one)."""
        answers = self.results.get(name, [])
        good = [r for r in answers if self.healthy(r)]
        bad = [r for r in answers if not self.healthy(r)]
        return len(good) > len(answers) / 2, (bad or good)[0]

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for service in self.services:
            answers = self.results.get(service.name, [])
            ok, shown = self.verdict(service.name)
            body = shown.json if isinstance(shown.json, dict) else {}
            rows.append(
                {
                    "service": service.name,
                    "healthy": ok,
                    "answers": ", ".join(str(r.status or r.error) for r in answers),
                    "version": body.get("version"),
                    "redis": (body.get("dependencies") or {}).get("redis"),
                    "ms": round(max((r.elapsed_s for r in answers), default=0) * 1000),
                }
            )
        return rows


@pytest.fixture(scope="session")
def health_round_factory(target: Target, environment: str) -> Callable[[], HealthRound]:
    """A fresh health round on each call (the phases are minutes apart)."""
    return lambda: HealthRound(target, environment)


def dashboard_service(target: Target, environment: str) -> Service | None:
    """The service that serves the UI, as the target says (``dashboard: true``
    on a service, else one whose name says dashboard); None where the system
    has none or the environment lists ``dashboard`` as absent."""
    if target.is_absent("dashboard", environment):
        return None
    return target.dashboard_service()


def external_requests(
    target: Target, environment: str, secrets: SecretResolver
) -> tuple[list[ExternalApi], list[HttpRequest]]:
    """One authenticated request per external API the target lists, to the
    endpoint the API documents (see gonogo.integrations.http.external). A token the target
    references but that cannot be read fails the check by name."""
    from gonogo.checks import requests_for

    apis = [a for a in target.external_apis if not target.is_absent(a.name, environment)]
    requests = [requests_for(a, environment, token(secrets, a.token, a.name))[1] for a in apis]
    return apis, requests


@dataclass(frozen=True)
class ReleaseVersions:
    """Each released service's running version against the target's release."""

    rows: list[dict[str, Any]]
    wrong: list[str]
    """``<service> runs <version>, release is <release> (...)`` per service on another release."""
    unknown: list[str]
    """Services whose running version could not be read, and why."""


def release_versions(target: Target, environment: str, cluster: ClusterSnapshot) -> ReleaseVersions:
    """What each service the release builds runs, by two witnesses: the
    version its version URL reports, and the image tag of the ReplicaSets of
    its Deployment that have available replicas (what serves, not what the
    spec asks for). Either one on another release is a service left behind."""
    services = target.release_services()
    namespace = target.namespace_for(environment)
    # As many asks as health samples: one unlucky answer must not hide the version.
    requests = [
        HttpRequest(name=s.name, url=url, timeout=5.0)
        for s in services
        if (url := target.version_url(s, environment))
        for _ in range(HEALTH_SAMPLES)
    ]
    reported: dict[str, list[HttpResult]] = {}
    for result in probe(requests, deadline=30.0):
        reported.setdefault(result.name, []).append(result)
    try:
        deployments = cluster.objects("deployments")
        replicasets = cluster.objects("replicasets")
    except ProbeError as e:
        deployments, replicasets = [], []
        cluster_error: str | None = str(e)
    else:
        cluster_error = None
    rows, wrong, unknown = [], [], []
    for service in services:
        seen: dict[str, list[str]] = {}
        answers = reported.get(service.name, [])
        said = [
            str(a.json["version"])
            for a in answers
            if a.ok and isinstance(a.json, dict) and a.json.get("version") is not None
        ]
        for version in dict.fromkeys(said):
            seen.setdefault(version, []).append(f"{answers[0].url} reports {version}")
        if answers and not said:
            bad = next((a for a in answers if not a.ok), answers[0])
            unknown.append(
                f"{service.name}: {bad.url} gave no version in {len(answers)} asks "
                f"({bad.summary() if not bad.ok else 'no version field'})"
            )
        if cluster_error is not None:
            unknown.append(f"{service.name}: {cluster_error}")
            tags: dict[str, str] = {}
        else:
            live = serving(
                service.deployment_name,
                deployments,
                replicasets,
                container=service.container,
                namespace=namespace,
            )
            if live.problem:
                unknown.append(f"{service.name}: {live.problem}")
            tags = live.tags
            for replicaset, tag in tags.items():
                seen.setdefault(tag, []).append(f"image tag {tag} on ReplicaSet {replicaset}")
        rows.append(
            {
                "service": service.name,
                "reports": ", ".join(dict.fromkeys(said)) or None,
                "serving image tags": ", ".join(f"{rs}: {t}" for rs, t in tags.items()) or None,
                "on release": bool(seen) and set(seen) == {target.release},
            }
        )
        others = [v for v in seen if v != target.release]
        if others:
            evidence = "; ".join(e for v in others for e in seen[v])
            wrong.append(
                f"{service.name} runs {' and '.join(others)}, release is {target.release} "
                f"({evidence})"
            )
    return ReleaseVersions(rows, wrong, unknown)
