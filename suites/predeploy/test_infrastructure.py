"""Infrastructure Readiness: the ready-made checks of gonogo.checks, bound to
the Sophia checklist's titles."""

from __future__ import annotations

from gonogo.checks import (
    check,
    cluster_healthy,
    dependencies_reachable,
    dns_and_tls_valid,
    logs_aggregated,
    monitoring_operational,
    storage_available,
)

test_cluster_healthy = check("Kubernetes cluster healthy", cluster_healthy)
test_storage_availability = check("Storage availability", storage_available)
test_network_connectivity = check("Network connectivity", dependencies_reachable)
test_dns_configuration = check("DNS configuration", dns_and_tls_valid)
test_monitoring_systems = check("Monitoring systems", monitoring_operational)
test_log_aggregation = check("Log aggregation", logs_aggregated)
