"""Reading the monitoring stack: only this release's targets are judged, no
data is never a pass, critical alerts for the target block the gate, and the
post-deploy window holds the new release only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from gonogo.errors import ProbeError
from gonogo.integrations.http.client import HttpResult
from gonogo.integrations.kubernetes.serving import rollout_completed_at, serving
from gonogo.integrations.monitoring.prometheus import Alertmanager, Prometheus, range_of
from gonogo.integrations.monitoring.stack import blocking_alerts, current_error_rates, targets_up
from gonogo.integrations.monitoring.window import ReleaseWindow, ServiceFigures, release_window

from tests.support.local_http import serving as serving_http
from tests.support.local_http import url_of


def _targets(*targets: tuple[dict[str, str], str]) -> HttpResult:
    active = [
        {"labels": labels, "health": health, "lastError": "" if health == "up" else "503"}
        for labels, health in targets
    ]
    return HttpResult(
        "prometheus targets",
        "http://prom/api/v1/targets",
        status=200,
        json={"status": "success", "data": {"activeTargets": active}},
    )


def test_other_namespaces_do_not_count_but_unlabelled_targets_do() -> None:
    result = _targets(
        ({"job": "demo", "service": "api", "namespace": "shop"}, "up"),
        ({"job": "demo", "service": "web", "namespace": "shop"}, "down"),
        ({"job": "demo", "service": "web", "namespace": "other-team"}, "down"),
        ({"job": "prometheus", "instance": "127.0.0.1:9090"}, "up"),
    )
    up = targets_up(result, "shop")
    assert (up.up, up.total) == (2, 3)
    assert up.down == ["demo/web: 503"]
    everything = targets_up(result)
    assert (everything.up, everything.total) == (2, 4)


def test_no_targets_is_a_ratio_of_zero() -> None:
    up = targets_up(HttpResult("prometheus targets", "http://prom", status=200, json={}))
    assert up.total == 0 and up.ratio == 0.0


# -- answers of a Prometheus and an Alertmanager API on loopback ---------------


class _Api(BaseHTTPRequestHandler):
    """Answers ``routes[path]`` as JSON and records each query string."""

    routes: dict[str, Any] = {}
    seen: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.seen.append(parse_qs(url.query))
        body = self.routes.get(url.path)
        payload = json.dumps(body).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _api(routes: dict[str, Any]) -> type[_Api]:
    return type("Api", (_Api,), {"routes": routes, "seen": []})


def _vector(*rows: tuple[str, str]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": {"service": name}, "value": [1767000000.0, value]}
                for name, value in rows
            ],
        },
    }


def test_a_nan_sample_is_no_measurement() -> None:
    """0/0 (a service without requests) answers NaN; compared with a limit it
    is False, so kept as a value it passed every check."""
    handler = _api({"/api/v1/query": _vector(("api", "NaN"), ("web", "0.2"))})
    with serving_http(handler) as server, Prometheus(url_of(server), timeout_s=2) as prometheus:
        ratios = prometheus.by_label("anything")
    assert ratios == {"web": 0.2}


def test_an_idle_service_is_measured_but_one_without_series_is_no_data() -> None:
    handler = _api({"/api/v1/query": _vector(("api", "0"), ("web", "40"), ("db", "NaN"))})
    with serving_http(handler) as server, Prometheus(url_of(server), timeout_s=2) as prometheus:
        requests = prometheus.by_label("requests")
    rates = current_error_rates(
        ["api", "web", "db", "gone"], {"web": 0.2}, requests, limit=0.05, window="2m"
    )
    assert rates.no_data == ["db", "gone"]
    assert rates.over == ["web error rate 20.0% over the last 2m > 5.0% (error_rate_max)"]
    assert [r["error_rate"] for r in rates.rows] == ["idle", 0.2, "no series", "no series"]


PROMETHEUS_ALERTS = {
    "status": "success",
    "data": {
        "alerts": [
            {
                "labels": {
                    "alertname": "DemoHighErrorRatio",
                    "namespace": "shop",
                    "service": "cart",
                    "severity": "critical",
                },
                "annotations": {"summary": "cart answers 20% errors."},
                "state": "firing",
                "activeAt": "2026-12-02T05:40:00Z",
            },
            {
                "labels": {"alertname": "Pending", "namespace": "shop", "severity": "critical"},
                "state": "pending",
            },
            {
                "labels": {"alertname": "OtherTeam", "namespace": "other", "severity": "critical"},
                "state": "firing",
            },
            {"labels": {"alertname": "Watchdog", "severity": "none"}, "state": "firing"},
            {"labels": {"alertname": "NodeDown", "severity": "critical"}, "state": "firing"},
        ]
    },
}
ALERTMANAGER_ALERTS = [
    {
        "labels": {
            "alertname": "DemoHighErrorRatio",
            "namespace": "shop",
            "service": "cart",
            "severity": "critical",
        },
        "annotations": {"summary": "cart answers 20% errors."},
        "status": {"state": "active"},
        "startsAt": "2026-12-02T05:40:02Z",
    },
    {
        "labels": {"alertname": "Silenced", "namespace": "shop", "severity": "critical"},
        "status": {"state": "suppressed"},
    },
]


def test_critical_alerts_firing_for_the_target_block_the_gate() -> None:
    prometheus_api = _api({"/api/v1/alerts": PROMETHEUS_ALERTS})
    alertmanager_api = _api({"/api/v2/alerts": ALERTMANAGER_ALERTS})
    with serving_http(prometheus_api) as p, serving_http(alertmanager_api) as a:
        with Prometheus(url_of(p), timeout_s=2) as prometheus:
            from_prometheus = prometheus.firing_alerts()
        with Alertmanager(url_of(a), timeout_s=2) as alertmanager:
            from_alertmanager = alertmanager.active_alerts()
    assert alertmanager_api.seen[0] == {
        "active": ["true"],
        "silenced": ["false"],
        "inhibited": ["false"],
    }
    firing = blocking_alerts(
        {"Prometheus": from_prometheus, "Alertmanager": from_alertmanager}, "shop", {"cart"}
    )
    assert [a.describe() for a in firing] == [
        "DemoHighErrorRatio {namespace=shop, service=cart, severity=critical} firing since "
        "2026-12-02T05:40:00Z (Prometheus and Alertmanager)",
        "NodeDown {severity=critical} firing (Prometheus)",
    ]


def test_no_alert_list_is_an_error_not_a_quiet_system() -> None:
    handler = _api({"/api/v1/alerts": {"status": "success", "data": {}}})
    with (
        serving_http(handler) as server,
        Prometheus(url_of(server), timeout_s=2) as prometheus,
        pytest.raises(ProbeError, match="no alert list"),
    ):
        prometheus.firing_alerts()


# -- the release's window ------------------------------------------------------

T0 = datetime(2026, 12, 2, 5, 40, 0, tzinfo=UTC)


def _deployment(name: str, *, complete: bool = True, progressed: datetime | None = None) -> dict:
    conditions = []
    if progressed is not None:
        conditions.append(
            {
                "type": "Progressing",
                "status": "True",
                "reason": "NewReplicaSetAvailable",
                "lastUpdateTime": progressed.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    ready = 2 if complete else 1
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": 3},
        "spec": {"replicas": 2},
        "status": {
            "observedGeneration": 3,
            "replicas": 2,
            "updatedReplicas": ready,
            "availableReplicas": ready,
            "conditions": conditions,
        },
    }


def _replicaset(
    owner: str, name: str, revision: int, created: datetime, tag: str, available: int
) -> dict:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"uid": f"uid-{owner}"}],
        },
        "spec": {
            "template": {
                "spec": {"containers": [{"name": owner, "image": f"reg:5000/{owner}:{tag}"}]}
            }
        },
        "status": {"availableReplicas": available},
    }


def test_a_re_release_on_an_old_replicaset_dates_from_its_completion() -> None:
    """Clearing a fault returns to the pod template of an older ReplicaSet,
    created long ago: the window starts when the rollout completed."""
    completed = T0 + timedelta(minutes=3)
    deployment = _deployment("cart", progressed=completed)
    replicasets = [
        _replicaset("cart", "cart-a", 4, T0 - timedelta(minutes=10), "v1.1.0", 2),
        _replicaset("cart", "cart-b", 3, T0, "v1.1.0", 0),
    ]
    assert rollout_completed_at(deployment, replicasets) == completed


def test_an_unfinished_rollout_has_no_window() -> None:
    deployment = _deployment("cart", complete=False, progressed=T0)
    assert rollout_completed_at(deployment, []) is None
    window = release_window({"cart": None, "web": T0}, now=T0 + timedelta(minutes=1), max_s=300)
    assert isinstance(window, str)
    assert window.startswith("no data: the rollout of cart has not completed")


def test_the_window_starts_at_the_last_rollout_and_is_capped() -> None:
    fresh = release_window(
        {"cart": T0, "web": T0 + timedelta(seconds=30)}, T0 + timedelta(seconds=100), 300
    )
    assert isinstance(fresh, ReleaseWindow)
    assert (fresh.seconds, fresh.last_deployment, fresh.from_rollout) == (70, "web", True)
    assert range_of(fresh.seconds) == "70s"
    old = release_window({"cart": T0}, T0 + timedelta(hours=2), 300)
    assert isinstance(old, ReleaseWindow)
    assert (old.seconds, old.from_rollout) == (300, False)


def test_too_few_samples_since_the_rollout_is_no_data_with_when_to_rerun() -> None:
    window = release_window({"cart": T0}, T0 + timedelta(seconds=8), 300)
    assert isinstance(window, ReleaseWindow)
    figures = ServiceFigures("cart", samples=2, requests=40, values={"error_rate": 0.0})
    assert figures.missing(window) == (
        "cart has 2 samples and 40 requests in the 8 s since the rollout completed at "
        "05:40:00Z (deployment/cart) (need 3 samples and 5 requests)"
    )
    assert window.rerun_hint() == (
        "rerun this check after 05:41:00Z, once traffic has reached the release"
    )
    later = release_window({"cart": T0}, T0 + timedelta(seconds=90), 300)
    assert isinstance(later, ReleaseWindow)
    enough = ServiceFigures("cart", samples=40, requests=300, values={"error_rate": None})
    assert enough.missing(later) == (
        "cart has no error_rate in the 90 s since the rollout completed at 05:40:00Z "
        "(deployment/cart)"
    )
    judged = ServiceFigures("cart", samples=40, requests=300, values={"error_rate": 0.3})
    assert judged.missing(later) is None


def test_what_serves_is_every_replicaset_with_available_replicas() -> None:
    deployment = _deployment("cart", complete=False)
    replicasets = [
        _replicaset("cart", "cart-new", 2, T0, "v1.1.0", 1),
        _replicaset("cart", "cart-old", 1, T0 - timedelta(days=1), "v1.0.0", 1),
        _replicaset("cart", "cart-older", 0, T0 - timedelta(days=2), "v0.9.0", 0),
        _replicaset("web", "web-x", 1, T0, "v1.1.0", 1),
    ]
    live = serving("cart", [deployment], replicasets, namespace="shop")
    assert live.tags == {"cart-new": "v1.1.0", "cart-old": "v1.0.0"}
    assert live.versions == ["v1.1.0", "v1.0.0"]
    none = serving("cart", [deployment], replicasets[2:3], namespace="shop")
    assert none.tags == {}
    assert none.problem is not None and "no ReplicaSet with available replicas" in none.problem
    missing = serving("gone", [deployment], replicasets, namespace="shop")
    assert missing.problem == "deployment/gone not found (kubectl get deployments -n shop)"
