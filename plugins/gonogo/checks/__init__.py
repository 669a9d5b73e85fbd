"""Everything a check may use, in one place: suites import gonogo only from here.

The contract: a check in ``suites/`` says ``from gonogo.checks import …`` and
nothing else of gonogo. What it finds here is stable for checks; where it
lives inside the package (model, integrations, engine, report, fixtures) may
change without touching a single check. ``.importlinter`` holds both sides of
it: the suites import gonogo only through this module, and nothing in the
product imports it (it sits on top of the layers).

What is here, by what a check does with it:

- **The target and its policy**, for typing fixtures and reading settings:
  ``Target`` and its sections (``Environment``, ``Service``, ``ExternalApi``,
  ``Workflow``, ``RollbackCriteria``…), ``Settings``, the checklist's ``Item``.
- **Proof**: ``Evidence`` (the ``evidence`` fixture), and the measurement
  names the rollback trigger judges, ``ERROR_RATE`` and ``MEAN_RESPONSE_S``.
  Measure those figures with these constants, never a bare string: a
  misspelt name is a figure the trigger never reads. ``RollbackPolicy`` asks
  an environment's criteria by the same names (``policy.limit(ERROR_RATE)``).
- **Failure**: ``ProbeError`` (a system could not be asked; its text names the
  remedy) and ``ConfigError``.
- **Kubernetes**: ``KubeClient``, ``ClusterSnapshot`` with its views
  (``cluster.claims()``, ``cluster.schedulable_nodes()``…),
  ``DeploymentView`` and friends; modules such as ``apply``, ``changes``,
  ``capacity`` or ``backup`` as modules (``apply.apply_object(...)``).
- **HTTP and the other systems**: ``probe``/``HttpRequest``/``HttpResult``,
  workflows, Prometheus and Alertmanager, Redis, GitHub, the record store,
  notifications.
- **Rollback**: ``RollbackPlan``, ``PlannedStep``, ``Failure``, the executor
  and the health checks it ends with.
- **Ready-made checks** (``gonogo.checks.library``), bound to a team's own
  checklist title with ``check``: ``test_cluster = check("Our cluster is
  fine", cluster_healthy)``. ``ready_checks()`` lists them with their purpose
  and keywords, and ``suggest_ready_check(title, description)`` names the one
  that fits an item, if any.
"""

from __future__ import annotations

from gonogo.checks.library import (
    cluster_healthy,
    configuration_restored,
    dependencies_reachable,
    dns_and_tls_valid,
    logs_aggregated,
    monitoring_operational,
    rollback_plan_for,
    rollback_verified,
    rolled_back_in_reverse_order,
    rolled_back_to_previous,
    rollouts_paused,
    storage_available,
    system_stable,
)
from gonogo.checks.library.sections import credential, not_applicable, present
from gonogo.checks.ready import ReadyCheck, bind, check, ready_checks
from gonogo.checks.suggest import suggest_ready_check
from gonogo.engine.evidence import Evidence
from gonogo.engine.markers import BINDING_KEY
from gonogo.engine.rbac.access import MARKER_HELP
from gonogo.engine.run import checklist_of
from gonogo.engine.settings import Settings, get_settings
from gonogo.errors import ConfigError, ProbeError
from gonogo.fixtures.load import LoadRun, NamedProfile, RunningRelease
from gonogo.integrations import dns, notify, records, scan, tls
from gonogo.integrations.github import GOOD_CONCLUSIONS, GitHub, latest_review_states
from gonogo.integrations.http import external
from gonogo.integrations.http import smoke_load as smoke_load
from gonogo.integrations.http.browser import check_page
from gonogo.integrations.http.client import HttpRequest, HttpResult, get_json, probe
from gonogo.integrations.http.external import endpoint, requests_for
from gonogo.integrations.http.workflows import run_workflow
from gonogo.integrations.kubernetes import (
    access,
    apply,
    backup,
    backup_writer,
    capacity,
    changes,
    config_scan,
    release,
    rollout,
)
from gonogo.integrations.kubernetes.access import required_secrets
from gonogo.integrations.kubernetes.apply import (
    Applied,
    ResourceMapper,
    apply_documents,
    apply_object,
    load_documents,
)
from gonogo.integrations.kubernetes.apply import summary as apply_summary
from gonogo.integrations.kubernetes.changes import Patcher
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.rollback import (
    RollbackExecutor,
    build_plan,
    check_health,
    check_health_many,
)
from gonogo.integrations.kubernetes.rollout import wait_for
from gonogo.integrations.kubernetes.serving import rollout_completed_at, serving
from gonogo.integrations.kubernetes.snapshot import (
    ClaimView,
    ClusterSnapshot,
    DeploymentView,
    NodeView,
    PodView,
)
from gonogo.integrations.kubernetes.usage import node_usage, pod_usage
from gonogo.integrations.load.judge import breaches, figures
from gonogo.integrations.monitoring import stack as monitoring_stack
from gonogo.integrations.monitoring.prometheus import (
    VERSION_LABEL,
    Alertmanager,
    Prometheus,
    error_ratio_query,
    mean_query,
    p95_query,
    range_of,
    requests_query,
    sample_age_query,
    samples_query,
)
from gonogo.integrations.monitoring.window import ReleaseWindow, ServiceFigures, release_window
from gonogo.integrations.records import PREDEPLOY_COMMAND, STAGING_COMMAND, RecordStore
from gonogo.integrations.redis import client as redis_probe
from gonogo.integrations.redis import consistency
from gonogo.integrations.registry import ManifestCheck, RegistryClient
from gonogo.integrations.secrets import SecretResolver, SecretUnavailable
from gonogo.model import loadresult
from gonogo.model.checklist import Checklist, Item
from gonogo.model.rollback import (
    ERROR_RATE,
    MEAN_RESPONSE_S,
    Failure,
    PlannedStep,
    RollbackPlan,
    RollbackPolicy,
    RollbackStep,
)
from gonogo.model.signoffs import SignOff
from gonogo.model.target import (
    Environment,
    ExternalApi,
    LoadProfile,
    RollbackCriteria,
    SecretRef,
    Service,
    Target,
    Workflow,
    dotted_get,
)
from gonogo.report.charts import TIMESERIES_MIME

__all__ = [
    "BINDING_KEY",
    "ERROR_RATE",
    "GOOD_CONCLUSIONS",
    "MARKER_HELP",
    "MEAN_RESPONSE_S",
    "PREDEPLOY_COMMAND",
    "STAGING_COMMAND",
    "TIMESERIES_MIME",
    "VERSION_LABEL",
    "Alertmanager",
    "Applied",
    "Checklist",
    "ClaimView",
    "ClusterSnapshot",
    "ConfigError",
    "DeploymentView",
    "Environment",
    "Evidence",
    "ExternalApi",
    "Failure",
    "GitHub",
    "HttpRequest",
    "HttpResult",
    "Item",
    "KubeClient",
    "LoadProfile",
    "LoadRun",
    "ManifestCheck",
    "NamedProfile",
    "NodeView",
    "Patcher",
    "PlannedStep",
    "PodView",
    "ProbeError",
    "Prometheus",
    "ReadyCheck",
    "RecordStore",
    "RegistryClient",
    "ReleaseWindow",
    "ResourceMapper",
    "RollbackCriteria",
    "RollbackExecutor",
    "RollbackPlan",
    "RollbackPolicy",
    "RollbackStep",
    "RunningRelease",
    "SecretRef",
    "SecretResolver",
    "SecretUnavailable",
    "Service",
    "ServiceFigures",
    "Settings",
    "SignOff",
    "Target",
    "Workflow",
    "access",
    "apply",
    "apply_documents",
    "apply_object",
    "apply_summary",
    "backup",
    "backup_writer",
    "bind",
    "breaches",
    "build_plan",
    "capacity",
    "changes",
    "check",
    "check_health",
    "check_health_many",
    "check_page",
    "checklist_of",
    "cluster_healthy",
    "config_scan",
    "configuration_restored",
    "consistency",
    "credential",
    "dependencies_reachable",
    "dns",
    "dns_and_tls_valid",
    "dotted_get",
    "endpoint",
    "error_ratio_query",
    "external",
    "figures",
    "get_json",
    "get_settings",
    "latest_review_states",
    "load_documents",
    "loadresult",
    "logs_aggregated",
    "mean_query",
    "monitoring_operational",
    "monitoring_stack",
    "node_usage",
    "not_applicable",
    "notify",
    "p95_query",
    "pod_usage",
    "present",
    "probe",
    "range_of",
    "ready_checks",
    "records",
    "redis_probe",
    "release",
    "release_window",
    "requests_for",
    "requests_query",
    "required_secrets",
    "rollback_plan_for",
    "rollback_verified",
    "rolled_back_in_reverse_order",
    "rolled_back_to_previous",
    "rollout",
    "rollout_completed_at",
    "rollouts_paused",
    "run_workflow",
    "sample_age_query",
    "samples_query",
    "scan",
    "serving",
    "smoke_load",
    "storage_available",
    "suggest_ready_check",
    "system_stable",
    "tls",
    "wait_for",
]
