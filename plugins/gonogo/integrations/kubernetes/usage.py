"""Current CPU and memory use from the metrics API (what ``kubectl top``
shows), set against each pod's limits and each node's allocatable capacity.

Two list requests in all: one for the namespace's pod metrics, one for the
node metrics; limits and capacity come from objects the caller has already
listed (the phase's shared snapshot)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gonogo.errors import ProbeError
from gonogo.integrations.kubernetes.capacity import quantity
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.snapshot import NodeView

METRICS = "/apis/metrics.k8s.io/v1beta1"


@dataclass(frozen=True)
class Usage:
    """One pod's or node's use, and the share of its limit or capacity."""

    name: str
    cpu: float
    memory: float
    cpu_limit: float | None
    memory_limit: float | None

    @property
    def cpu_share(self) -> float | None:
        return self.cpu / self.cpu_limit if self.cpu_limit else None

    @property
    def memory_share(self) -> float | None:
        return self.memory / self.memory_limit if self.memory_limit else None

    def row(self) -> dict[str, Any]:
        def share(value: float | None) -> str:
            return f"{value:.0%}" if value is not None else "no limit"

        return {
            "name": self.name,
            "cpu_m": round(self.cpu * 1000),
            "cpu_share": share(self.cpu_share),
            "memory_mi": round(self.memory / 2**20),
            "memory_share": share(self.memory_share),
        }


def _metrics(kube: KubeClient, path: str, what: str) -> list[dict[str, Any]]:
    try:
        return list(kube.get(METRICS + path, what=what).get("items", []))
    except ProbeError as e:
        raise ProbeError(f"{e}; is metrics-server running? (kubectl top nodes)") from e


def pod_usage(kube: KubeClient, namespace: str, pods: list[dict[str, Any]]) -> list[Usage]:
    """Each pod's summed container use against its summed container limits."""
    limits: dict[str, tuple[float | None, float | None]] = {}
    for pod in pods:
        cpu: float | None = 0.0
        memory: float | None = 0.0
        for container in pod.get("spec", {}).get("containers") or []:
            lim = (container.get("resources") or {}).get("limits") or {}
            cpu = cpu + quantity(lim["cpu"]) if cpu is not None and "cpu" in lim else None
            memory = (
                memory + quantity(lim["memory"]) if memory is not None and "memory" in lim else None
            )
        limits[pod["metadata"]["name"]] = (cpu, memory)
    found = []
    for item in _metrics(kube, f"/namespaces/{namespace}/pods", f"pod metrics in {namespace}"):
        name = item["metadata"]["name"]
        containers = item.get("containers") or []
        cpu_use = sum(quantity(c["usage"].get("cpu", "0")) for c in containers)
        mem_use = sum(quantity(c["usage"].get("memory", "0")) for c in containers)
        cpu_limit, mem_limit = limits.get(name, (None, None))
        found.append(Usage(name, cpu_use, mem_use, cpu_limit, mem_limit))
    return sorted(found, key=lambda u: u.name)


def node_usage(kube: KubeClient, nodes: list[NodeView]) -> list[Usage]:
    """Each node's use against its allocatable CPU and memory."""
    capacity = {n.name: n.allocatable for n in nodes}
    found = []
    for item in _metrics(kube, "/nodes", "node metrics"):
        name = item["metadata"]["name"]
        alloc = capacity.get(name, {})
        found.append(
            Usage(
                name,
                quantity(item["usage"].get("cpu", "0")),
                quantity(item["usage"].get("memory", "0")),
                quantity(alloc["cpu"]) if "cpu" in alloc else None,
                quantity(alloc["memory"]) if "memory" in alloc else None,
            )
        )
    return sorted(found, key=lambda u: u.name)
