"""The ready-made checks, one module per area. Importing this package declares
them all, in the order ``ready_checks()`` lists them: cluster, monitoring,
network, rollback (the modules in alphabetical order, as they are imported)."""

from __future__ import annotations

from gonogo.checks.library.cluster import cluster_healthy, storage_available
from gonogo.checks.library.monitoring import logs_aggregated, monitoring_operational
from gonogo.checks.library.network import dependencies_reachable, dns_and_tls_valid
from gonogo.checks.library.rollback import (
    configuration_restored,
    rollback_plan_for,
    rollback_verified,
    rolled_back_in_reverse_order,
    rolled_back_to_previous,
    rollouts_paused,
    system_stable,
)

__all__ = [
    "cluster_healthy",
    "configuration_restored",
    "dependencies_reachable",
    "dns_and_tls_valid",
    "logs_aggregated",
    "monitoring_operational",
    "rollback_plan_for",
    "rollback_verified",
    "rolled_back_in_reverse_order",
    "rolled_back_to_previous",
    "rollouts_paused",
    "storage_available",
    "system_stable",
]
