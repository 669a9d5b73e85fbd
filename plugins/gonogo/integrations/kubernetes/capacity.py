"""Requested versus allocatable capacity, summed the way the scheduler does:
the requests of every pod that holds a node's resources, against the node's
allocatable, for CPU (cores) and memory (bytes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes.utils import parse_quantity

RESOURCES = ("cpu", "memory")


@dataclass(frozen=True)
class Capacity:
    allocatable: dict[str, float]
    requested: dict[str, float]

    def free_share(self, resource: str) -> float:
        total = self.allocatable.get(resource, 0.0)
        if total <= 0:
            return 0.0
        return (total - self.requested.get(resource, 0.0)) / total

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "resource": r,
                "allocatable": _fmt(r, self.allocatable.get(r, 0.0)),
                "requested": _fmt(r, self.requested.get(r, 0.0)),
                "free": f"{self.free_share(r):.1%}",
            }
            for r in RESOURCES
        ]


def _fmt(resource: str, value: float) -> str:
    return f"{value:.2f} cores" if resource == "cpu" else f"{value / 2**30:.2f} GiB"


def quantity(value: Any) -> float:
    return float(parse_quantity(str(value))) if value not in (None, "") else 0.0


def pod_requests(pod_spec: dict[str, Any], replicas: int = 1) -> dict[str, float]:
    """What a pod (or ``replicas`` of a template) asks of the scheduler: the sum
    of its containers' requests, or its largest init container if that is more."""
    totals = dict.fromkeys(RESOURCES, 0.0)
    for container in pod_spec.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        for r in RESOURCES:
            totals[r] += quantity(requests.get(r))
    for container in pod_spec.get("initContainers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        for r in RESOURCES:
            totals[r] = max(totals[r], quantity(requests.get(r)))
    return {r: v * replicas for r, v in totals.items()}


def holds_resources(pod: dict[str, Any]) -> bool:
    """Pods bound to a node and not finished."""
    return bool(pod.get("spec", {}).get("nodeName")) and pod.get("status", {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def sum_requests(pods: Iterable[dict[str, Any]]) -> dict[str, float]:
    totals = dict.fromkeys(RESOURCES, 0.0)
    for pod in pods:
        for r, v in pod_requests(pod.get("spec") or {}).items():
            totals[r] += v
    return totals


def allocatable(nodes: Iterable[dict[str, Any]]) -> dict[str, float]:
    totals = dict.fromkeys(RESOURCES, 0.0)
    for node in nodes:
        alloc = (node.get("status") or {}).get("allocatable") or {}
        for r in RESOURCES:
            totals[r] += quantity(alloc.get(r))
    return totals
