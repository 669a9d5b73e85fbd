"""The views checks read the cluster and the rollback criteria through: each
answers from the snapshot's one list per kind, and says what a check used to
spell out with a filtering loop."""

from __future__ import annotations

from typing import Any, cast

import pytest
from gonogo.checks import (
    ERROR_RATE,
    MEAN_RESPONSE_S,
    ClusterSnapshot,
    DeploymentView,
    KubeClient,
    RollbackPolicy,
)
from gonogo.model.rollback import CRITERIA, Failure, Measurement, evaluate_trigger


def _meta(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, **extra}


def _ready(status: str) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": status}]}


OBJECTS: dict[str, list[dict[str, Any]]] = {
    "nodes": [
        {"metadata": _meta("n1"), "status": _ready("True"), "spec": {}},
        {"metadata": _meta("n2"), "status": _ready("True"), "spec": {"unschedulable": True}},
        {"metadata": _meta("n3"), "status": _ready("False"), "spec": {}},
    ],
    "pods": [
        {
            "metadata": _meta("p1", labels={"app": "a"}),
            "status": {"phase": "Running", **_ready("True")},
        },
        {
            "metadata": _meta("p2", labels={"app": "a"}),
            "status": {"phase": "Running", **_ready("False")},
        },
        {"metadata": _meta("p3", labels={"app": "b"}), "status": {"phase": "Pending"}},
    ],
    "secrets": [{"metadata": _meta("db")}, {"metadata": _meta("api")}],
    "storageclasses": [
        {"metadata": _meta("slow")},
        {
            "metadata": _meta(
                "fast", annotations={"storageclass.kubernetes.io/is-default-class": "true"}
            )
        },
    ],
    "persistentvolumeclaims": [
        {
            "metadata": _meta("data"),
            "spec": {"resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "2Gi"}},
        },
        {
            "metadata": _meta("logs"),
            "spec": {"storageClassName": "slow", "resources": {"requests": {"storage": "5Gi"}}},
            "status": {"phase": "Pending"},
        },
    ],
    "deployments": [
        {
            "metadata": _meta("web", uid="u-web", generation=3),
            "spec": {"revisionHistoryLimit": 2, "template": {"spec": {"containers": []}}},
        },
        {"metadata": _meta("api", uid="u-api"), "spec": {}},
    ],
    "replicasets": [
        {
            "metadata": _meta(
                "web-1",
                ownerReferences=[{"uid": "u-web"}],
                annotations={"deployment.kubernetes.io/revision": "1"},
            )
        },
        {
            "metadata": _meta(
                "web-2",
                ownerReferences=[{"uid": "u-web"}],
                annotations={"deployment.kubernetes.io/revision": "2"},
            )
        },
        {"metadata": _meta("web-x", ownerReferences=[{"uid": "u-web"}])},
        {
            "metadata": _meta(
                "api-1",
                ownerReferences=[{"uid": "u-api"}],
                annotations={"deployment.kubernetes.io/revision": "1"},
            )
        },
    ],
}


class FakeKube:
    """Lists what OBJECTS holds, counting the calls."""

    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects = objects
        self.calls: list[tuple[str, str | None]] = []

    def list_all(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        self.calls.append((kind, namespace))
        return self.objects.get(kind, [])


def _snapshot(
    objects: dict[str, list[dict[str, Any]]] = OBJECTS,
) -> tuple[ClusterSnapshot, FakeKube]:
    kube = FakeKube(objects)
    return ClusterSnapshot(cast(KubeClient, kube), "shop"), kube


def test_names_are_the_objects_names() -> None:
    cluster, _ = _snapshot()
    assert cluster.names("secrets") == {"db", "api"}
    assert "web" in cluster.names("deployments")
    assert cluster.names("jobs") == set()


def test_schedulable_nodes_are_ready_and_not_cordoned() -> None:
    cluster, _ = _snapshot()
    assert [n.name for n in cluster.schedulable_nodes()] == ["n1"]
    assert [n.takes_pods for n in cluster.nodes()] == [True, False, False]


def test_a_pod_is_ready_when_running_with_its_ready_condition_true() -> None:
    cluster, _ = _snapshot()
    pods = cluster.pod_views()
    assert [(p.name, p.phase, p.ready) for p in pods] == [
        ("p1", "Running", True),
        ("p2", "Running", False),
        ("p3", "Pending", False),
    ]
    assert [p.name for p in cluster.pod_views(selector={"app": "a"})] == ["p1", "p2"]


def test_storage_classes_and_the_default() -> None:
    cluster, _ = _snapshot()
    assert cluster.storage_classes() == ["slow", "fast"]
    assert cluster.default_storage_class() == "fast"
    without_default, _ = _snapshot({"storageclasses": [{"metadata": _meta("slow")}]})
    assert without_default.default_storage_class() is None


def test_claims_know_their_class_request_and_capacity() -> None:
    cluster, _ = _snapshot()
    data, logs = cluster.claims()
    assert (data.name, data.phase, data.bound) == ("data", "Bound", True)
    assert (data.requested, data.capacity, data.storage_class) == ("1Gi", "2Gi", "fast")
    assert (logs.bound, logs.capacity, logs.storage_class) == (False, None, "slow")


def test_replicasets_of_a_deployment_by_revision() -> None:
    cluster, _ = _snapshot()
    web = cluster.deployment("web")
    owned = cluster.replicasets_of(web)
    assert {r: rs["metadata"]["name"] for r, rs in owned.items() if r} == {
        1: "web-1",
        2: "web-2",
    }
    assert owned[0]["metadata"]["name"] == "web-x"
    assert list(cluster.replicasets_of(cluster.deployment("api"))) == [1]
    assert web.uid == "u-web"
    assert web.revision_history_limit == 2
    assert DeploymentView(OBJECTS["deployments"][1]).revision_history_limit == 10


def test_the_views_share_one_list_per_kind() -> None:
    cluster, kube = _snapshot()
    cluster.claims()
    cluster.storage_classes()
    cluster.default_storage_class()
    cluster.names("secrets")
    cluster.names("secrets")
    cluster.replicasets_of(cluster.deployment("web"))
    cluster.replicasets_of(cluster.deployment("api"))
    assert sorted(kube.calls) == [
        ("deployments", "shop"),
        ("persistentvolumeclaims", "shop"),
        ("replicasets", "shop"),
        ("secrets", "shop"),
        ("storageclasses", None),
    ]


# -- the rollback criteria, by measurement name ----------------------------------


class Criteria:
    automatic = True
    on_functional_failure = False

    def __init__(self, error_rate_max: float | None, mean_response_max_s: float | None) -> None:
        self.error_rate_max = error_rate_max
        self.mean_response_max_s = mean_response_max_s


def test_the_measurement_names_are_the_ones_the_trigger_reads() -> None:
    assert ERROR_RATE == "error_rate"
    assert MEAN_RESPONSE_S == "mean_response_s"
    assert set(CRITERIA) == {ERROR_RATE, MEAN_RESPONSE_S}


def test_the_policy_gives_each_criterions_limit() -> None:
    policy = RollbackPolicy(Criteria(0.05, None))
    assert policy.limit(ERROR_RATE) == 0.05
    assert policy.limit(MEAN_RESPONSE_S) is None
    assert RollbackPolicy(None).limit(ERROR_RATE) is None


def test_the_policy_refuses_a_name_no_criterion_judges() -> None:
    with pytest.raises(ValueError, match=r"error_ratio.*judge error_rate, mean_response_s"):
        RollbackPolicy(Criteria(0.05, 2.0)).limit("error_ratio")


def test_the_trigger_judges_what_the_policy_gives() -> None:
    criteria = Criteria(0.05, 2.0)
    failure = Failure(
        "shop",
        "postdeploy",
        "T+60",
        ["Performance metrics"],
        [Measurement(MEAN_RESPONSE_S, 2.5, service="web")],
    )
    trigger = evaluate_trigger(criteria, failure)
    assert trigger is not None
    assert trigger.criterion == MEAN_RESPONSE_S
    assert trigger.limit == RollbackPolicy(criteria).limit(MEAN_RESPONSE_S)
    assert trigger.reason == "mean response for web 2.50 s > 2.00 s"
