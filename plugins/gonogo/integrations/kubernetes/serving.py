"""What a Deployment really serves, and since when, read from the cluster.

A Deployment's spec says what should run; its ReplicaSets with available
replicas say what answers requests. A post-deploy check compares the image tag
of those with the release, and measures the new release's metrics from the
moment its rollout completed, not from a clock window that still holds the
previous release's traffic.

Objects are the API server's JSON, as
:class:`gonogo.integrations.kubernetes.snapshot.ClusterSnapshot` lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

REVISION = "deployment.kubernetes.io/revision"
COMPLETE_REASON = "NewReplicaSetAvailable"
"""The Progressing condition's reason once a rollout has completed."""

Obj = dict[str, Any]


def image_tag(image: str) -> str:
    """``registry:5000/name:v1.0.0`` -> ``v1.0.0``; no tag means ``latest``."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def parse_time(value: str | None) -> datetime | None:
    """An API server timestamp (``2026-12-02T05:40:00Z``), or None."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def owned_by(deployment: Obj, replicasets: list[Obj]) -> list[Obj]:
    """The ReplicaSets whose owner is ``deployment`` (by uid)."""
    uid = deployment["metadata"].get("uid")
    return [
        rs
        for rs in replicasets
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
    ]


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _container(template: Obj, name: str, container: str | None) -> Obj | None:
    containers = template.get("spec", {}).get("containers") or []
    if container is not None:
        return next((c for c in containers if c.get("name") == container), None)
    if len(containers) == 1:
        return dict(containers[0])
    return next((c for c in containers if c.get("name") == name), None)


@dataclass(frozen=True)
class Serving:
    """The ReplicaSets of one Deployment that have available replicas."""

    deployment: str
    tags: dict[str, str]
    """ReplicaSet name -> the image tag of the service's container, newest first."""
    problem: str | None = None
    """Why nothing can be said (no such Deployment, no available ReplicaSet)."""

    @property
    def versions(self) -> list[str]:
        return list(dict.fromkeys(self.tags.values()))


def serving(
    name: str,
    deployments: list[Obj],
    replicasets: list[Obj],
    *,
    container: str | None = None,
    namespace: str = "",
) -> Serving:
    """What Deployment ``name`` serves: the image tag of every ReplicaSet of it
    with available replicas (two during a rollout, one otherwise)."""
    deployment = next((d for d in deployments if d["metadata"]["name"] == name), None)
    if deployment is None:
        return Serving(
            name, {}, f"deployment/{name} not found (kubectl get deployments -n {namespace})"
        )
    live = [
        rs
        for rs in owned_by(deployment, replicasets)
        if (rs.get("status", {}).get("availableReplicas") or 0) > 0
    ]
    if not live:
        return Serving(
            name,
            {},
            f"deployment/{name} has no ReplicaSet with available replicas "
            f"(kubectl describe deployment {name} -n {namespace})",
        )
    tags = {}
    for rs in sorted(live, key=_revision, reverse=True):
        chosen = _container(rs["spec"]["template"], name, container)
        if chosen is None:
            return Serving(
                name,
                {},
                f"ReplicaSet {rs['metadata']['name']} has no container "
                f"{container or name!r}; set services[].container in the target",
            )
        tags[rs["metadata"]["name"]] = image_tag(str(chosen.get("image", "")))
    return Serving(name, tags)


def rollout_completed_at(deployment: Obj, replicasets: list[Obj]) -> datetime | None:
    """When the Deployment's current rollout completed; None while it has not.

    The Progressing condition turns to ``NewReplicaSetAvailable`` when a
    rollout completes and is not touched again until the next one, so its
    ``lastUpdateTime`` is the completion. A rollback or a re-release can
    reuse an older ReplicaSet (same pod template), whose creation time is
    old; a ReplicaSet created later than the condition (a condition that was
    not updated) moves the time forward, never back."""
    status = deployment.get("status") or {}
    spec_replicas = (deployment.get("spec") or {}).get("replicas", 1)
    generation = deployment["metadata"].get("generation", 0)
    complete = (
        status.get("observedGeneration", 0) >= generation
        and status.get("updatedReplicas", 0) == spec_replicas
        and status.get("replicas", 0) == spec_replicas
        and status.get("availableReplicas", 0) == spec_replicas
    )
    if not complete:
        return None
    times = []
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("reason") == COMPLETE_REASON:
            times.append(parse_time(condition.get("lastUpdateTime")))
    owned = owned_by(deployment, replicasets)
    if owned:
        newest = max(owned, key=_revision)
        times.append(parse_time(newest["metadata"].get("creationTimestamp")))
    known = [t for t in times if t is not None]
    return max(known) if known else None
