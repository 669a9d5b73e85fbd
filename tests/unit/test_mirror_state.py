"""The HTTP mirror's bookkeeping, fed the list and watch events the API server
sends: each view follows its Deployment's serving ReplicaSet, a deleted
Deployment stops being a target, and one re-created under the same name is
not lost when the old one's deletion arrives late."""

from __future__ import annotations

from typing import Any

from gonogo_sandbox.mirror import Mirror, Serving
from kubernetes import client as k8s

NS = "sophia"


def _deployment(uid: str, name: str = "api", *, available: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"uid": uid, "name": name, "namespace": NS},
        "spec": {
            "replicas": 1,
            "template": {"spec": {"containers": [{"name": name, "image": f"r/{name}:v1.0.0"}]}},
        },
        "status": {"availableReplicas": available},
    }


def _replicaset(
    uid: str, owner: str, tag: str, revision: int, *, available: int = 1, name: str = "api"
) -> dict[str, Any]:
    return {
        "metadata": {
            "uid": uid,
            "name": f"{name}-{uid}",
            "namespace": NS,
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "ownerReferences": [{"uid": owner, "kind": "Deployment"}],
        },
        "spec": {
            "template": {"spec": {"containers": [{"name": name, "image": f"r/{name}:{tag}"}]}}
        },
        "status": {"availableReplicas": available},
    }


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, views: list[Serving]) -> None:
        self.calls.append([v.name for v in views])


def _mirror() -> tuple[Mirror, _Recorder]:
    recorder = _Recorder()
    return Mirror(k8s.ApiClient(), recorder), recorder


def test_view_follows_the_newest_available_replicaset() -> None:
    mirror, _ = _mirror()
    mirror._replace("deployments", [_deployment("d1")])
    mirror._replace("replicasets", [_replicaset("rs1", "d1", "v1.0.0", 1)])
    assert mirror.get(NS, "api").version == "v1.0.0"

    mirror._put("replicasets", _replicaset("rs2", "d1", "v1.1.0", 2, available=0))
    assert mirror.get(NS, "api").version == "v1.0.0", "new pods are not available yet"

    mirror._put("replicasets", _replicaset("rs2", "d1", "v1.1.0", 2))
    view = mirror.get(NS, "api")
    assert (view.version, view.revision) == ("v1.1.0", 2)

    mirror._put("replicasets", _replicaset("rs2", "d1", "v1.1.0", 2), delete=True)
    assert mirror.get(NS, "api").version == "v1.0.0"


def test_targets_change_only_when_the_set_of_deployments_does() -> None:
    mirror, recorder = _mirror()
    mirror._replace("replicasets", [])
    mirror._replace("deployments", [_deployment("d1")])
    assert recorder.calls[-1] == ["api"]
    calls = len(recorder.calls)
    mirror._put("replicasets", _replicaset("rs1", "d1", "v1.0.0", 1))
    assert len(recorder.calls) == calls

    mirror._put("deployments", _deployment("d2", "web"))
    assert recorder.calls[-1] == ["api", "web"]
    gone = _deployment("d1")
    gone["metadata"]["deletionTimestamp"] = "2026-11-27T00:00:00Z"
    mirror._put("deployments", gone)
    assert mirror.get(NS, "api") is None
    assert recorder.calls[-1] == ["web"]


def test_a_recreated_deployment_survives_the_late_deletion_of_the_old_one() -> None:
    mirror, _ = _mirror()
    mirror._replace("replicasets", [])
    mirror._replace("deployments", [_deployment("old")])
    mirror._put("deployments", _deployment("new"))
    mirror._put("replicasets", _replicaset("rs-new", "new", "v1.1.0", 1))
    mirror._put("deployments", _deployment("old"), delete=True)
    view = mirror.get(NS, "api")
    assert view is not None and view.version == "v1.1.0"
