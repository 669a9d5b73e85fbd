"""The sandbox does what gonogo's checks rely on: a real control plane with
Ready nodes and metrics, the demo system Available at v1.0.0, and an HTTP side
that follows rollouts, rollbacks and fault annotations."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from gonogo_sandbox import cli, faults, stack
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.mirror import SELECTOR
from kubernetes import client as k8s

pytestmark = pytest.mark.sandbox

NAMESPACE = "sophia"
SEED_SERVICES = (
    "mcp-research",
    "mcp-context",
    "mcp-agents",
    "sophia-dashboard",
    "sophia-business",
    "sophia-hubspot",
    "sophia-github",
    "sophia-lambda",
    "mcp-business",
)
COPIED = "mcp-context"


def poll(what: str, check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.5) -> Any:
    """Return ``check()``'s first truthy value; fail naming ``what`` after ``timeout`` s."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what}: not true after {timeout:.0f} s (last: {last!r})", pytrace=False)


def sandbox(*argv: str) -> int:
    """Run ``gonogo sandbox ARGV`` in-process through the command's own parser."""
    parser = argparse.ArgumentParser(prog="gonogo")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sandbox", *argv])
    return int(args.func(args))


@pytest.fixture
def http() -> Any:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def copy_of_service(api_client: k8s.ApiClient, fresh_namespace: str) -> str:
    """The demo's mcp-context Deployment (and its ServiceAccount), copied into a
    fresh namespace and Available there; returns its URL prefix on the mirror."""
    apps, core = k8s.AppsV1Api(api_client), k8s.CoreV1Api(api_client)
    source = apps.read_namespaced_deployment(COPIED, NAMESPACE, _request_timeout=10)
    core.create_namespaced_service_account(
        fresh_namespace,
        k8s.V1ServiceAccount(metadata=k8s.V1ObjectMeta(name=COPIED)),
        _request_timeout=10,
    )
    body = k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=COPIED, labels=source.metadata.labels),
        spec=source.spec,
    )
    apps.create_namespaced_deployment(fresh_namespace, body, _request_timeout=10)
    wait_rolled_out(apps, fresh_namespace, COPIED)
    return f"/_ns/{fresh_namespace}/{COPIED}"


def wait_rolled_out(apps: k8s.AppsV1Api, namespace: str, name: str) -> None:
    """What 'kubectl rollout status' waits for: the new generation observed, all
    replicas updated and available, none of the old ones left."""

    def done() -> bool:
        d = apps.read_namespaced_deployment(name, namespace, _request_timeout=10)
        s, want = d.status, d.spec.replicas
        return bool(
            (s.observed_generation or 0) >= d.metadata.generation
            and s.updated_replicas == want
            and s.available_replicas == want
            and s.replicas == want
        )

    poll(f"rollout of {namespace}/{name}", done, timeout=90)


def answering(http: httpx.Client, url: str, code: int) -> Callable[[], httpx.Response | None]:
    """A poll check: the response when ``url`` answers ``code``, else None."""

    def check() -> httpx.Response | None:
        r = http.get(url)
        return r if r.status_code == code else None

    return check


def version_at(http: httpx.Client, demo_url: str, prefix: str) -> str | None:
    r = http.get(f"{demo_url}{prefix}/version")
    return r.json().get("version") if r.status_code == 200 else None


# -- the cluster ----------------------------------------------------------------


def test_every_node_is_ready(api_client: k8s.ApiClient, sandbox_cfg: SandboxConfig) -> None:
    nodes = k8s.CoreV1Api(api_client).list_node(_request_timeout=10).items
    ready = [
        n.metadata.name
        for n in nodes
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
    ]
    assert len(nodes) >= sandbox_cfg.nodes
    assert sorted(ready) == sorted(n.metadata.name for n in nodes), "nodes not Ready"
    cpu = {n.status.allocatable["cpu"] for n in nodes}
    assert cpu == {"8"}, f"allocatable cpu per node: {cpu}"


def test_every_demo_deployment_is_available(api_client: k8s.ApiClient) -> None:
    deployments = (
        k8s.AppsV1Api(api_client).list_namespaced_deployment(NAMESPACE, _request_timeout=10).items
    )
    names = {d.metadata.name for d in deployments}
    assert set(SEED_SERVICES) | {"redis", "maintenance"} <= names
    not_available = [
        d.metadata.name
        for d in deployments
        if not any(c.type == "Available" and c.status == "True" for c in d.status.conditions or [])
    ]
    assert not_available == []


def test_metrics_api_serves_node_and_pod_usage(api_client: k8s.ApiClient) -> None:
    metrics = k8s.CustomObjectsApi(api_client)

    def node_usage() -> list[dict[str, Any]]:
        try:
            items = metrics.list_cluster_custom_object(
                "metrics.k8s.io", "v1beta1", "nodes", _request_timeout=10
            )["items"]
        except k8s.ApiException:
            return []
        return [i for i in items if i.get("usage", {}).get("cpu")]

    def pod_usage() -> list[dict[str, Any]]:
        try:
            items = metrics.list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", NAMESPACE, "pods", _request_timeout=10
            )["items"]
        except k8s.ApiException:
            return []
        return [i for i in items if i.get("containers")]

    def running_pods() -> set[str]:
        pods = k8s.CoreV1Api(api_client).list_namespaced_pod(NAMESPACE, _request_timeout=10)
        return {p.metadata.name for p in pods.items}

    def mcp_research_usage() -> list[dict[str, Any]]:
        # Pods that a rollout just replaced get metrics on the next scrape (15 s).
        current = running_pods()
        return [
            p
            for p in pod_usage()
            if p["metadata"]["name"] in current
            and p["metadata"]["name"].startswith("mcp-research-")
        ]

    assert poll("node metrics from metrics-server", node_usage, timeout=90, every=3)
    pods = poll(
        "mcp-research pod metrics from metrics-server", mcp_research_usage, timeout=90, every=3
    )
    assert all(c["usage"]["cpu"] and c["usage"]["memory"] for p in pods for c in p["containers"])


# -- the HTTP mirror ------------------------------------------------------------


def test_every_service_is_healthy_at_v1_0_0(http: httpx.Client, demo_url: str) -> None:
    for name in SEED_SERVICES:
        r = http.get(f"{demo_url}/{name}/health")
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text}"
        body = r.json()
        assert body["status"] == "ok"
        assert body["service"] == name
        assert body["version"] == "v1.0.0"
        assert body["dependencies"] == {"redis": "ok"}


def test_unknown_deployment_is_404(http: httpx.Client, demo_url: str) -> None:
    assert http.get(f"{demo_url}/no-such-service/health").status_code == 404
    assert http.get(f"{demo_url}/_ns/no-such-namespace/mcp-research/health").status_code == 404


def test_mirror_follows_the_label_not_a_list(
    api_client: k8s.ApiClient, http: httpx.Client, demo_url: str
) -> None:
    labelled = (
        k8s.AppsV1Api(api_client)
        .list_deployment_for_all_namespaces(label_selector=SELECTOR, _request_timeout=10)
        .items
    )
    served = {(s["namespace"], s["name"]) for s in http.get(f"{demo_url}/_sandbox/services").json()}
    assert {(d.metadata.namespace, d.metadata.name) for d in labelled} == served
    assert (NAMESPACE, "redis") not in served


def test_prometheus_targets_file_lists_every_mirrored_deployment(
    sandbox_cfg: SandboxConfig, http: httpx.Client, demo_url: str
) -> None:
    groups = json.loads(stack.targets_file(sandbox_cfg).read_text())
    paths = {g["labels"]["__metrics_path__"] for g in groups}
    for name in SEED_SERVICES:
        assert f"/{name}/metrics" in paths
        r = http.get(f"{demo_url}/{name}/metrics")
        assert r.status_code == 200
        assert 'http_requests_total{version="v1.0.0",code="200"}' in r.text
        assert 'sophia_build_info{version="v1.0.0"' in r.text


def test_dashboard_page_is_self_contained(http: httpx.Client, demo_url: str) -> None:
    r = http.get(f"{demo_url}/sophia-dashboard/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for element in ('id="service-status"', 'id="overall-status"', 'id="release-version"'):
        assert element in r.text
    assert "http://" not in r.text and "https://" not in r.text, "page loads external resources"


def test_version_follows_rollout_and_undo(
    api_client: k8s.ApiClient,
    copy_of_service: str,
    fresh_namespace: str,
    http: httpx.Client,
    demo_url: str,
    kubectl: Callable[..., str],
) -> None:
    apps = k8s.AppsV1Api(api_client)
    assert (
        poll("copy serves v1.0.0", lambda: version_at(http, demo_url, copy_of_service)) == "v1.0.0"
    )

    image = "127.0.0.1:15000/sophia-mcp-context:v1.1.0"
    patch = {"spec": {"template": {"spec": {"containers": [{"name": COPIED, "image": image}]}}}}
    apps.patch_namespaced_deployment(COPIED, fresh_namespace, patch, _request_timeout=10)
    wait_rolled_out(apps, fresh_namespace, COPIED)
    poll(
        "version v1.1.0 after the rollout",
        lambda: version_at(http, demo_url, copy_of_service) == "v1.1.0",
        timeout=15,
    )

    kubectl("rollout", "undo", f"deployment/{COPIED}", "-n", fresh_namespace)
    wait_rolled_out(apps, fresh_namespace, COPIED)
    poll(
        "version v1.0.0 after rollout undo",
        lambda: version_at(http, demo_url, copy_of_service) == "v1.0.0",
        timeout=15,
    )


def test_error_rate_fault_is_measured_as_asked(
    copy_of_service: str, fresh_namespace: str, http: httpx.Client, demo_url: str
) -> None:
    assert sandbox("fault", COPIED, "-n", fresh_namespace, "--error-rate", "0.3") == 0
    url = f"{demo_url}{copy_of_service}/api/search"
    poll("the fault to serve", lambda: any(http.get(url).status_code == 500 for _ in range(10)))

    codes = [http.get(url).status_code for _ in range(400)]
    assert set(codes) <= {200, 500}
    rate = codes.count(500) / len(codes)
    assert abs(rate - 0.3) <= 0.05, f"measured error rate {rate:.3f}, asked 0.3"

    assert sandbox("fault", COPIED, "-n", fresh_namespace, "--clear") == 0
    codes = [http.get(url).status_code for _ in range(50)]
    assert codes.count(500) == 0, "errors remain after --clear"


def test_unavailable_fault_and_zero_replicas_answer_503(
    api_client: k8s.ApiClient,
    copy_of_service: str,
    fresh_namespace: str,
    http: httpx.Client,
    demo_url: str,
) -> None:
    assert sandbox("fault", COPIED, "-n", fresh_namespace, "--unavailable") == 0
    health = f"{demo_url}{copy_of_service}/health"
    r = poll("503 under the unavailable fault", answering(http, health, 503))
    assert faults.UNAVAILABLE in r.json()["reason"]

    assert sandbox("fault", COPIED, "-n", fresh_namespace, "--clear") == 0
    poll("200 after clearing", lambda: http.get(health).status_code == 200)

    k8s.AppsV1Api(api_client).patch_namespaced_deployment_scale(
        COPIED, fresh_namespace, {"spec": {"replicas": 0}}, _request_timeout=10
    )
    r = poll("503 with no replicas", answering(http, health, 503))
    assert "0 replicas" in r.json()["reason"]
