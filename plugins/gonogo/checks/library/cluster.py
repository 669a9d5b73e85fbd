"""Ready-made checks of the Kubernetes cluster: its nodes and room, its storage."""

from __future__ import annotations

from gonogo.checks.ready import ready_check
from gonogo.engine.evidence import Evidence
from gonogo.integrations.kubernetes import capacity
from gonogo.integrations.kubernetes.snapshot import ClusterSnapshot
from gonogo.model.target import Environment


@ready_check(
    purpose=(
        "Every node of the cluster is Ready and under no pressure, and the pods' requests "
        "leave the environment's headroom of CPU and memory free."
    ),
    keywords=("kubernetes", "cluster", "node", "healthy", "headroom", "capacity"),
    kube_access=("list nodes", "list pods in all namespaces"),
)
def cluster_healthy(
    env_policy: Environment,
    cluster: ClusterSnapshot,
    evidence: Evidence,
    *,
    check_headroom: bool = True,
) -> None:
    """All nodes Ready without pressure; requests leave the environment's headroom free."""
    nodes = cluster.nodes()
    evidence.table(
        "nodes",
        [
            {
                "node": n.name,
                "ready": n.ready,
                "pressure": ", ".join(n.pressure) or "none",
                "schedulable": not n.unschedulable,
                "cpu": n.allocatable.get("cpu"),
                "memory": n.allocatable.get("memory"),
            }
            for n in nodes
        ],
    )
    assert nodes, "the cluster has no nodes"
    not_ready = [n.name for n in nodes if not n.ready]
    pressured = [f"{n.name} ({', '.join(n.pressure)})" for n in nodes if n.pressure]
    assert not not_ready, (
        f"{len(not_ready)} of {len(nodes)} nodes not Ready: {', '.join(not_ready)}; "
        "kubectl describe node " + not_ready[0]
    )
    assert not pressured, f"nodes under pressure: {', '.join(pressured)}"
    if not check_headroom:
        return
    usable = [n.raw for n in cluster.schedulable_nodes()]
    pods = [p for p in cluster.objects("pods", "") if capacity.holds_resources(p)]
    room = capacity.Capacity(capacity.allocatable(usable), capacity.sum_requests(pods))
    evidence.table("capacity (all namespaces)", room.rows())
    short = []
    for resource in capacity.RESOURCES:
        need = getattr(env_policy.headroom, resource)
        free = room.free_share(resource)
        evidence.measure(f"free_{resource}_share", round(free, 4), limit=need, ok=free >= need)
        if free < need:
            short.append(f"{resource} {free:.1%} free < {need:.0%} headroom required")
    assert not short, f"not enough headroom after summing {len(pods)} pods' requests: " + "; ".join(
        short
    )


@ready_check(
    purpose=(
        "Every PersistentVolumeClaim of the environment's namespace is Bound, its "
        "StorageClass exists, and its capacity is at least what it requests."
    ),
    keywords=("storage", "availability", "persistent", "volume", "pvc", "disk"),
    kube_access=("list persistentvolumeclaims,storageclasses",),
)
def storage_available(namespace: str, cluster: ClusterSnapshot, evidence: Evidence) -> None:
    """Every PVC Bound, its StorageClass present, capacity at least the request."""
    claims = cluster.claims()
    classes = cluster.storage_classes()
    rows, problems = [], []
    for claim in claims:
        name, klass = claim.name, claim.storage_class
        rows.append(
            {
                "pvc": name,
                "phase": claim.phase,
                "class": klass,
                "requested": claim.requested,
                "capacity": claim.capacity,
            }
        )
        if not claim.bound:
            problems.append(
                f"PVC {name} is {claim.phase}, not Bound "
                f"(kubectl describe pvc {name} -n {namespace})"
            )
        if klass and klass not in classes:
            problems.append(f"PVC {name} uses StorageClass {klass}, which does not exist")
        if claim.bound and capacity.quantity(claim.capacity) < capacity.quantity(claim.requested):
            problems.append(
                f"PVC {name} has {claim.capacity}, less than the {claim.requested} requested"
            )
    evidence.table("persistent volume claims", rows)
    evidence.note("storage classes", ", ".join(classes) or "none")
    if not claims:
        evidence.note("result", f"namespace {namespace} has no PersistentVolumeClaims")
    assert not problems, "; ".join(problems)
