"""Ready-made checks of what the release reaches over the network: its
external dependencies, and the names and certificates it is reached by."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gonogo.checks.ready import ready_check
from gonogo.engine.evidence import Evidence
from gonogo.integrations import dns, tls
from gonogo.integrations.http.client import HttpRequest, probe
from gonogo.model.target import Environment, Target


def dependency_requests(target: Target, environment: str, timeout_s: float) -> list[HttpRequest]:
    """One request per external dependency the target names for ``environment``:
    each external API's health path (its own timeout), the image registry and
    the GitHub API (``timeout_s``); what the target says is absent is left out."""
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
        requests.append(
            HttpRequest("image registry", target.registry.url + "/v2/", timeout=timeout_s)
        )
    if target.github is not None and not target.is_absent("github", environment):
        requests.append(HttpRequest("GitHub API", target.github.api_url + "/", timeout=timeout_s))
    return requests


@ready_check(
    purpose=(
        "Each external dependency the target names (external APIs, the image registry, "
        "GitHub) answers below HTTP 500 within its timeout."
    ),
    keywords=("network", "connectivity", "external", "dependency", "api", "reachable"),
)
def dependencies_reachable(
    target: Target, environment: str, evidence: Evidence, *, timeout_s: float = 5.0
) -> None:
    """Each external dependency answers (any HTTP answer below 500) within its timeout."""
    requests = dependency_requests(target, environment, timeout_s)
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


@ready_check(
    purpose=(
        "Every host the release is reached by resolves, and each TLS host's certificate "
        "matches, chains to a trusted CA and lives at least the environment's minimum days."
    ),
    keywords=("dns", "domain", "configuration", "ssl", "tls", "certificate"),
)
def dns_and_tls_valid(
    target: Target,
    environment: str,
    env_policy: Environment,
    evidence: Evidence,
    *,
    check_tls: bool = True,
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
    if not check_tls:
        evidence.note("tls", "not checked (check_tls=False)")
        return
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
