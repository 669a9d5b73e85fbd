"""End-to-end tests of the services around the sandbox's cluster: each talks to
the real running service (Redis, Prometheus, Alertmanager, the registry, the
TLS front) or to the fakes over HTTP, as gonogo's checks will.

They use the shared sandbox at the default state directory. ``services``
starts whatever of it is not running (``start`` is idempotent), so these tests
also run before, or without, the cluster side."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest
import redis
from gonogo_sandbox import process
from gonogo_sandbox.config import DEFAULT_PORTS, HOST, SandboxConfig
from gonogo_sandbox.services import ALL, oci, registry, tls
from gonogo_sandbox.services.fakes import github, hubspot, state
from gonogo_sandbox.services.images import RELEASES, REPOSITORIES, ImageRef

pytestmark = pytest.mark.sandbox

FIXTURES = Path(__file__).resolve().parents[2] / "sandbox" / "fixtures"
TIMEOUT = 5.0
START_TIMEOUT = 300.0
"""Seconds for starting every service from cold, pushes included (about 6 s here)."""
GITHUB_AUTH = {"Authorization": f"Bearer {github.token()}"}
HUBSPOT_AUTH = {"Authorization": f"Bearer {hubspot.token()}"}


@pytest.fixture(scope="module")
def cfg() -> SandboxConfig:
    return SandboxConfig()


def run_services(action: str, *args: str, env: dict[str, str] | None = None) -> str:
    """``python -m gonogo_sandbox.services <action>`` in a process of its own,
    as ``gonogo sandbox`` runs it: the services outlive the process that
    starts them, and this one never holds their handles."""
    result = subprocess.run(
        [sys.executable, "-m", "gonogo_sandbox.services", action, *args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"services {action} failed: {result.stderr.strip()}", pytrace=False)
    return result.stdout


@pytest.fixture(scope="module")
def services(cfg: SandboxConfig) -> SandboxConfig:
    run_services("start")
    return cfg


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=TIMEOUT) as client:
        yield client


def eventually(check: Callable[[], bool], *, what: str, timeout: float = 20.0) -> None:
    """Poll ``check`` until it holds; the services work on 1-2 s intervals."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s")
        time.sleep(0.5)


def test_every_service_reports_up(services: SandboxConfig) -> None:
    down = {s.NAME: s.status(services)[1] for s in ALL if not s.status(services)[0]}
    assert not down, f"services down: {down}"


def test_redis_answers_ping_and_round_trips(services: SandboxConfig) -> None:
    client = redis.Redis(host=HOST, port=services.port("redis"), socket_timeout=TIMEOUT)
    try:
        assert client.ping()
        key = f"gonogo:e2e:{uuid.uuid4()}"
        client.set(key, "v", ex=60)
        assert client.get(key) == b"v"
        client.delete(key)
        assert client.config_get("save") == {"save": ""}, "the sandbox's Redis must not persist"
    finally:
        client.close()


def test_prometheus_is_ready_with_rules_and_file_sd(
    services: SandboxConfig, http: httpx.Client
) -> None:
    base = services.url("prometheus")
    assert http.get(f"{base}/-/ready").status_code == 200
    groups = http.get(f"{base}/api/v1/rules").json()["data"]["groups"]
    rules = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"GonogoSandboxWatchdog", "DemoServiceDown", "DemoHighErrorRatio"} <= rules
    config = http.get(f"{base}/api/v1/status/config").json()["data"]["yaml"]
    assert str(services.state_dir / "prometheus" / "targets.json") in config

    def alertmanager_scraped() -> bool:
        targets = http.get(f"{base}/api/v1/targets").json()["data"]["activeTargets"]
        return any(t["labels"]["job"] == "alertmanager" and t["health"] == "up" for t in targets)

    eventually(alertmanager_scraped, what="Prometheus did not scrape Alertmanager")


def test_watchdog_alert_reaches_alertmanager(services: SandboxConfig, http: httpx.Client) -> None:
    def firing() -> bool:
        alerts = http.get(f"{services.url('alertmanager')}/api/v2/alerts").json()
        return any(a["labels"]["alertname"] == "GonogoSandboxWatchdog" for a in alerts)

    eventually(firing, what="the always-firing watchdog did not reach Alertmanager")


def test_alertmanager_accepts_an_alert_and_delivers_it_to_the_webhook(
    services: SandboxConfig, http: httpx.Client
) -> None:
    name = f"GonogoE2E{uuid.uuid4().hex[:8]}"
    alert = [{"labels": {"alertname": name, "severity": "warning"}, "annotations": {}}]
    base = services.url("alertmanager")
    assert http.post(f"{base}/api/v2/alerts", json=alert).status_code == 200
    listed = http.get(f"{base}/api/v2/alerts", params={"filter": f'alertname="{name}"'}).json()
    assert [a["labels"]["alertname"] for a in listed] == [name]

    def delivered() -> bool:
        received = http.get(
            f"{services.url('webhook')}/_sandbox/received", params={"name": "alertmanager"}
        ).json()["received"]
        return any(a["labels"]["alertname"] == name for m in received for a in m["body"]["alerts"])

    eventually(delivered, what=f"Alertmanager did not deliver {name} to the webhook receiver")


def test_registry_lists_both_releases_with_distinct_digests(services: SandboxConfig) -> None:
    for repository in REPOSITORIES:
        assert set(RELEASES) <= set(registry.tags(services, repository)), repository
        digests = {tag: registry.manifest_digest(services, repository, tag) for tag in RELEASES}
        assert len(set(digests.values())) == len(RELEASES), f"{repository}: {digests}"
        for tag, digest in digests.items():
            assert digest == oci.build(ImageRef(repository, tag)).digest, f"{repository}:{tag}"


def test_scan_reports_name_the_registry_digests(services: SandboxConfig) -> None:
    report = json.loads((FIXTURES / "trivy-v1.1.0.json").read_text())
    assert report["SchemaVersion"] == 2
    address = registry.address(services)
    served = {
        f"{address}/{repo}@{registry.manifest_digest(services, repo, 'v1.1.0')}"
        for repo in REPOSITORIES
    }
    if address == f"{HOST}:{DEFAULT_PORTS['registry']}":
        assert set(report["Metadata"]["RepoDigests"]) == served
    severities = {v["Severity"] for result in report["Results"] for v in result["Vulnerabilities"]}
    assert severities <= {"LOW", "MEDIUM"}
    sarif = json.loads((FIXTURES / "trivy-v1.1.0.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert {r["level"] for r in sarif["runs"][0]["results"]} <= {"note", "warning"}


def test_tls_front_verifies_with_the_sandbox_ca_only(
    services: SandboxConfig, http: httpx.Client
) -> None:
    with_ca = ssl.create_default_context(cafile=str(tls.ca_file(services)))
    with httpx.Client(verify=with_ca, timeout=TIMEOUT) as client:
        # 200 from the demo server, or the front's own 502 when it is not up:
        # either way an HTTP answer over a verified connection.
        response = client.get(f"{tls.url(services)}/")
    assert response.status_code in (200, 404, 502), response.text
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"{tls.url(services)}/")
    system_trust = ssl.create_default_context()
    with (
        socket.create_connection((HOST, services.port("tls")), timeout=TIMEOUT) as sock,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        system_trust.wrap_socket(sock, server_hostname=tls.INGRESS_HOST).close()


def test_tls_certificate_names_the_ingress_host_and_the_ca_is_kept(
    services: SandboxConfig,
) -> None:
    context = ssl.create_default_context(cafile=str(tls.ca_file(services)))
    with (
        socket.create_connection((HOST, services.port("tls")), timeout=TIMEOUT) as sock,
        context.wrap_socket(sock, server_hostname=HOST) as conn,
    ):
        cert = conn.getpeercert()
    assert cert is not None
    alt_names = cast(tuple[tuple[str, str], ...], cert["subjectAltName"])
    names = {value for _kind, value in alt_names}
    assert {"localhost", "127.0.0.1"} <= names
    before = tls.ca_file(services).read_bytes()
    tls.ensure_certificates(services)
    assert tls.ca_file(services).read_bytes() == before


def test_grafana_health(services: SandboxConfig, http: httpx.Client) -> None:
    response = http.get(f"{services.url('grafana')}/api/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["version"]


def test_loki_push_then_query_returns_the_line(services: SandboxConfig, http: httpx.Client) -> None:
    base = services.url("loki")
    assert http.get(f"{base}/ready").status_code == 200
    run = uuid.uuid4().hex
    line = f"gonogo e2e probe {run}"
    push = {"streams": [{"stream": {"job": "gonogo-e2e", "run": run},
                         "values": [[str(time.time_ns()), line]]}]}  # fmt: skip
    assert http.post(f"{base}/loki/api/v1/push", json=push).status_code == 204
    query = f'{{job="gonogo-e2e", run="{run}"}} |= "probe"'
    body = http.get(f"{base}/loki/api/v1/query_range", params={"query": query}).json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "streams"
    assert [v[1] for s in body["data"]["result"] for v in s["values"]] == [line]
    excluded = http.get(
        f"{base}/loki/api/v1/query", params={"query": f'{{run="{run}"}} != "probe"'}
    ).json()
    assert excluded["data"]["result"] == []
    bad = http.get(f"{base}/loki/api/v1/query_range", params={"query": "run=x"})
    assert bad.status_code == 400


def test_github_refuses_requests_without_the_token(
    services: SandboxConfig, http: httpx.Client
) -> None:
    url = f"{services.url('github')}/repos/{state.REPOSITORY}/commits/{state.RELEASE}/status"
    assert http.get(url).status_code == 401
    wrong = http.get(url, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Bad credentials"


def test_github_describes_a_healthy_release(services: SandboxConfig, http: httpx.Client) -> None:
    base = f"{services.url('github')}/repos/{state.REPOSITORY}"
    sha = state.release_sha(state.REPOSITORY, state.RELEASE)
    combined = http.get(f"{base}/commits/{state.RELEASE}/status", headers=GITHUB_AUTH).json()
    assert combined["state"] == "success"
    assert combined["sha"] == sha
    assert combined["total_count"] == len(combined["statuses"]) > 0
    assert {"context", "state", "description", "target_url"} <= set(combined["statuses"][0])

    checks = http.get(f"{base}/commits/{sha}/check-runs", headers=GITHUB_AUTH).json()
    assert checks["total_count"] == len(checks["check_runs"]) > 0
    assert {(r["status"], r["conclusion"]) for r in checks["check_runs"]} == {
        ("completed", "success")
    }

    pulls = http.get(f"{base}/commits/{sha}/pulls", headers=GITHUB_AUTH).json()
    assert [p["number"] for p in pulls] == [state.RELEASE_PULL]
    pull = http.get(f"{base}/pulls/{state.RELEASE_PULL}", headers=GITHUB_AUTH).json()
    assert pull["merged"] is True and pull["head"]["sha"] == sha
    reviews = http.get(f"{base}/pulls/{state.RELEASE_PULL}/reviews", headers=GITHUB_AUTH).json()
    assert [r["state"] for r in reviews] == ["APPROVED"]
    assert reviews[0]["user"]["login"]

    release = http.get(f"{base}/releases/tags/{state.RELEASE}", headers=GITHUB_AUTH).json()
    assert release["tag_name"] == state.RELEASE
    assert state.RELEASE in release["body"]
    assert release["draft"] is False

    missing = http.get(f"{base}/releases/tags/v9.9.9", headers=GITHUB_AUTH)
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    limits = http.get(f"{services.url('github')}/rate_limit", headers=GITHUB_AUTH)
    assert limits.json()["resources"]["core"]["remaining"] > 0
    assert limits.headers["X-RateLimit-Limit"] == str(github.RATE_LIMIT)


def test_github_state_edits_are_faults(services: SandboxConfig, http: httpx.Client) -> None:
    """A test injects a failing check by editing the state file; a repository
    of its own keeps the shared release untouched."""
    repository = f"gonogo-e2e/{uuid.uuid4().hex[:8]}"
    sha = "f" * 40
    state.update(
        services,
        github={"repositories": {repository: {
            "refs": {"v2.0.0": sha},
            "commits": {sha: {
                "statuses": [{"context": "ci/build", "state": "success"}],
                "check_runs": [{"name": "unit-tests", "status": "completed",
                                "conclusion": "failure"}],
                "pulls": [],
            }},
            "pulls": {"7": {"title": "t", "head_sha": sha,
                            "reviews": [{"user": "a", "state": "CHANGES_REQUESTED"}]}},
        }}},
    )  # fmt: skip
    try:
        base = f"{services.url('github')}/repos/{repository}"
        checks = http.get(f"{base}/commits/v2.0.0/check-runs", headers=GITHUB_AUTH).json()
        assert [r["conclusion"] for r in checks["check_runs"]] == ["failure"]
        reviews = http.get(f"{base}/pulls/7/reviews", headers=GITHUB_AUTH).json()
        assert [r["state"] for r in reviews] == ["CHANGES_REQUESTED"]
    finally:
        current = state.load(services)
        current["github"]["repositories"].pop(repository, None)
        state.save(services, current)


def test_hubspot_account_and_contacts(services: SandboxConfig, http: httpx.Client) -> None:
    base = services.url("hubspot")
    assert http.get(f"{base}/account-info/v3/details").status_code == 401
    account = http.get(f"{base}/account-info/v3/details", headers=HUBSPOT_AUTH).json()
    assert isinstance(account["portalId"], int)
    page = http.get(
        f"{base}/crm/v3/objects/contacts", params={"limit": 2}, headers=HUBSPOT_AUTH
    ).json()
    assert len(page["results"]) == 2
    assert page["results"][0]["properties"]["email"]
    assert page["paging"]["next"]["after"] == "2"


def test_webhook_records_what_it_receives(services: SandboxConfig, http: httpx.Client) -> None:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    message = {"text": "gonogo: GO for v1.1.0", "verdict": "GO"}
    response = http.post(f"{services.url('webhook')}/hooks/{name}", json=message)
    assert response.status_code == 200
    received = http.get(
        f"{services.url('webhook')}/_sandbox/received", params={"name": name}
    ).json()["received"]
    assert [m["body"] for m in received] == [message]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def test_stop_leaves_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private instance on other ports, so the shared sandbox keeps running."""
    ports = {f"GONOGO_SANDBOX_PORT_{name.upper()}": str(_free_port()) for name in DEFAULT_PORTS}
    for variable, port in ports.items():
        monkeypatch.setenv(variable, port)
    private = SandboxConfig(state_dir=tmp_path / "sandbox")
    state_dir = str(private.state_dir)
    started: dict[str, int | None] = {}
    try:
        run_services("start", "--state-dir", state_dir)
        started = {s.NAME: process.read_pid(private, s.NAME) for s in ALL}
        assert all(s.status(private)[0] for s in ALL)
    finally:
        run_services("stop", "--state-dir", state_dir)
    assert all(pid is not None for pid in started.values()), started
    alive = {name: pid for name, pid in started.items() if process.is_running(pid)}
    assert not alive, f"still running after stop(): {alive}"
    assert not any(s.status(private)[0] for s in ALL)
    children = [p for p in os.listdir("/proc") if p.isdigit() and _in_state_dir(int(p), private)]
    assert not children, f"processes still using {private.state_dir}: {children}"


def _in_state_dir(pid: int, cfg: SandboxConfig) -> bool:
    """True for a live process whose command line names ``cfg.state_dir``."""
    if not process.is_running(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return str(cfg.state_dir) in cmdline
