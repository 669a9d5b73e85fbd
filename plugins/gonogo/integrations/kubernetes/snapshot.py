"""What checks read of the cluster: a phase's snapshot (each kind listed once,
on first use, shared by every check of the phase) and views that name what a
check asks of an object (``node.takes_pods``, ``pod.ready``, ``claim.bound``,
``deployment.image_tag``) instead of nested dictionary lookups.

Kept apart from :mod:`gonogo.integrations.kubernetes.client`, which talks to
the API server: this module only reads what the client listed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gonogo.errors import ProbeError
from gonogo.integrations.kubernetes.client import KINDS, KubeClient


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


@dataclass(frozen=True)
class ObjectView:
    """One object of a list, read through named properties instead of nested
    dictionary lookups in every check."""

    raw: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.raw["metadata"]["name"])

    @property
    def phase(self) -> str | None:
        """``status.phase`` (pods, claims); None for kinds without one."""
        return self.raw.get("status", {}).get("phase")


@dataclass(frozen=True)
class NodeView(ObjectView):
    """A Node: ready, under pressure, schedulable, what it can allocate."""

    @property
    def ready(self) -> bool:
        c = condition(self.raw, "Ready")
        return bool(c and c.get("status") == "True")

    @property
    def pressure(self) -> list[str]:
        """Conditions such as MemoryPressure that are True."""
        return [
            c["type"]
            for c in self.raw.get("status", {}).get("conditions") or []
            if c.get("type", "").endswith("Pressure") or c.get("type") == "NetworkUnavailable"
            if c.get("status") == "True"
        ]

    @property
    def allocatable(self) -> dict[str, str]:
        return dict(self.raw.get("status", {}).get("allocatable") or {})

    @property
    def unschedulable(self) -> bool:
        return bool(self.raw.get("spec", {}).get("unschedulable"))

    @property
    def takes_pods(self) -> bool:
        """Ready and schedulable: a node the scheduler may place new pods on."""
        return self.ready and not self.unschedulable


@dataclass(frozen=True)
class PodView(ObjectView):
    """A Pod: whether it serves."""

    @property
    def ready(self) -> bool:
        """Running with its Ready condition True: a pod that serves."""
        c = condition(self.raw, "Ready")
        return self.phase == "Running" and bool(c and c.get("status") == "True")


@dataclass(frozen=True)
class ClaimView(ObjectView):
    """A PersistentVolumeClaim; ``storage_class`` is the cluster default when
    the claim names none."""

    default_class: str | None = None

    @property
    def bound(self) -> bool:
        return self.phase == "Bound"

    @property
    def requested(self) -> str | None:
        return self.raw["spec"].get("resources", {}).get("requests", {}).get("storage")

    @property
    def capacity(self) -> str | None:
        return self.raw.get("status", {}).get("capacity", {}).get("storage")

    @property
    def storage_class(self) -> str | None:
        return self.raw["spec"].get("storageClassName", self.default_class)


@dataclass(frozen=True)
class DeploymentView(ObjectView):
    """A Deployment: what it should run, what it runs, and its rollout."""

    @property
    def uid(self) -> str | None:
        return self.raw["metadata"].get("uid")

    @property
    def generation(self) -> int:
        return int(self.raw["metadata"].get("generation", 0))

    @property
    def revision_history_limit(self) -> int:
        """How many old ReplicaSets the Deployment keeps (the API's default is 10)."""
        return int(self.raw["spec"].get("revisionHistoryLimit", 10))

    @property
    def revision(self) -> int | None:
        value = self.raw["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision")
        return int(value) if value else None

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.raw.get("status") or {})

    @property
    def replicas(self) -> int:
        return int(self.raw.get("spec", {}).get("replicas", 1))

    @property
    def is_available(self) -> bool:
        c = condition(self.raw, "Available")
        return bool(c and c.get("status") == "True")

    @property
    def rollout_complete(self) -> bool:
        """What ``kubectl rollout status`` waits for."""
        s = self.status
        return (
            s.get("observedGeneration", 0) >= self.generation
            and s.get("updatedReplicas", 0) == self.replicas
            and s.get("replicas", 0) == self.replicas
            and s.get("availableReplicas", 0) == self.replicas
        )

    @property
    def progress_deadline_exceeded(self) -> str | None:
        c = condition(self.raw, "Progressing")
        if c and c.get("reason") == "ProgressDeadlineExceeded":
            return str(c.get("message") or "ProgressDeadlineExceeded")
        return None

    @property
    def paused(self) -> bool:
        return bool(self.raw.get("spec", {}).get("paused"))

    @property
    def containers(self) -> list[dict[str, Any]]:
        return list(self.raw["spec"]["template"]["spec"].get("containers") or [])

    def image(self, container: str | None = None) -> str:
        for c in self.containers:
            if container is None or c["name"] == container:
                return str(c["image"])
        raise ProbeError(f"deployment/{self.name} has no container {container!r}")

    def image_tag(self, container: str | None = None) -> str:
        image = self.image(container).split("@")[0]
        last = image.rsplit("/", 1)[-1]
        return last.split(":", 1)[1] if ":" in last else "latest"

    @property
    def selector(self) -> dict[str, str]:
        return dict(self.raw["spec"]["selector"].get("matchLabels") or {})


class ClusterSnapshot:
    """A phase's view of the cluster: each kind listed once, on first use.

    Thread-safe, so concurrent checks share one list. ``invalidate()`` after
    anything changes the cluster."""

    def __init__(self, kube: KubeClient, namespace: str | None):
        self.kube = kube
        self.namespace = namespace
        self._cache: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        ns = namespace if namespace is not None else self.namespace
        key = (kind, ns if KINDS[kind][2] else None)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self.kube.list_all(kind, key[1])
                self.requests += 1
            return self._cache[key]

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def nodes(self) -> list[NodeView]:
        return [NodeView(n) for n in self.objects("nodes")]

    def deployments(self, namespace: str | None = None) -> list[DeploymentView]:
        return [DeploymentView(d) for d in self.objects("deployments", namespace)]

    def deployment(self, name: str, namespace: str | None = None) -> DeploymentView:
        for d in self.deployments(namespace):
            if d.name == name:
                return d
        ns = namespace or self.namespace
        raise ProbeError(
            f"deployment/{name} not found in namespace {ns}; kubectl get deployments -n {ns}"
        )

    def pods(
        self, namespace: str | None = None, selector: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        pods = self.objects("pods", namespace)
        if not selector:
            return pods
        return [
            p
            for p in pods
            if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
        ]

    def find(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        for obj in self.objects(kind, namespace):
            if obj["metadata"]["name"] == name:
                return obj
        return None

    def where(
        self, kind: str, predicate: Callable[[dict[str, Any]], bool], namespace: str | None = None
    ) -> list[dict[str, Any]]:
        return [o for o in self.objects(kind, namespace) if predicate(o)]

    # -- views: what checks ask, so they read as sentences ---------------------

    def names(self, kind: str, namespace: str | None = None) -> set[str]:
        """The names of every object of ``kind``."""
        return {o["metadata"]["name"] for o in self.objects(kind, namespace)}

    def schedulable_nodes(self) -> list[NodeView]:
        """Nodes that are Ready and not cordoned: where the pods' requests must fit."""
        return [n for n in self.nodes() if n.takes_pods]

    def pod_views(
        self, namespace: str | None = None, selector: dict[str, str] | None = None
    ) -> list[PodView]:
        """``pods()`` as views."""
        return [PodView(p) for p in self.pods(namespace, selector)]

    def storage_classes(self) -> list[str]:
        """The names of the cluster's StorageClasses, in the order the API listed them."""
        return [c["metadata"]["name"] for c in self.objects("storageclasses")]

    def default_storage_class(self) -> str | None:
        """The StorageClass a claim that names none gets, or None when none is the default."""
        for c in self.objects("storageclasses"):
            annotations = c["metadata"].get("annotations", {})
            if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
                return str(c["metadata"]["name"])
        return None

    def claims(self, namespace: str | None = None) -> list[ClaimView]:
        """The PersistentVolumeClaims, each knowing the class it gets."""
        claims = self.objects("persistentvolumeclaims", namespace)
        default = self.default_storage_class()
        return [ClaimView(c, default) for c in claims]

    def replicasets_of(
        self, deployment: DeploymentView, namespace: str | None = None
    ) -> dict[int, dict[str, Any]]:
        """Revision -> ReplicaSet, for the ReplicaSets ``deployment`` owns (a
        ReplicaSet without a revision annotation counts as revision 0)."""
        owned = [
            rs
            for rs in self.objects("replicasets", namespace)
            if any(
                ref.get("uid") == deployment.uid
                for ref in rs["metadata"].get("ownerReferences", [])
            )
        ]
        return {
            int(
                rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", 0)
            ): rs
            for rs in owned
        }
