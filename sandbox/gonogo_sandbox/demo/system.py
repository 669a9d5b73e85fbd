"""The demo system on the sandbox, as the demo needs it: up, put back at its
starting point, and read back.

The demo does not take a run's word for what is deployed: after a release or
a rollback it reads each Deployment's image, revision and rollout from the
cluster and asks each service's own ``/version`` and ``/health``, and says
what does not match."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gonogo_sandbox import cluster, faults, manifests, stack
from gonogo_sandbox import reset as sandbox_reset
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import SandboxError

Out = Callable[[str], None]

HTTP_TIMEOUT_S = 5.0
SETTLE_TIMEOUT_S = 180.0
"""How long the demo system may take to settle on a release after a reset or
a rollback (rollouts done, the HTTP mirror serving the new pods)."""
NAMESPACE_GONE_TIMEOUT_S = 180


def ensure_up(cfg: SandboxConfig, out: Out) -> None:
    """Start the sandbox, or, when every component already answers, only make
    sure the registry holds every release's images (a release added since
    the sandbox started is pushed now)."""
    rows = stack.status(cfg)
    if rows and all(up for _, up, _ in rows):
        from gonogo_sandbox.services import registry
        from gonogo_sandbox.services._common import locked

        with locked(cfg, "registry-publish"):
            pushed = registry.publish(cfg)
        out("sandbox already up" + (f"; pushed {len(pushed)} release images" if pushed else ""))
        return
    stack.up(cfg, out=out)


def reset(cfg: SandboxConfig, out: Out) -> None:
    """Put the demo system back where the demo starts, whatever an earlier
    demo or test left: no staging namespace, then the sandbox's own reset
    (every fake node Ready, production on v1.0.0 with no fault annotation,
    no metric history for an earlier run's errors to linger in)."""
    bin_path = cluster.bin_dir(cluster.find_repo())
    done = cluster.kubectl(
        cfg, bin_path, "delete", "namespace", manifests.STAGING_NAMESPACE,
        "--ignore-not-found", f"--timeout={NAMESPACE_GONE_TIMEOUT_S}s",
        timeout=NAMESPACE_GONE_TIMEOUT_S + 30,
    )  # fmt: skip
    if done.returncode != 0:
        raise SandboxError(
            f"could not delete namespace {manifests.STAGING_NAMESPACE}: {done.stderr.strip()}; "
            f"kubectl get namespace {manifests.STAGING_NAMESPACE} -o yaml shows what holds it"
        )
    out(f"namespace {manifests.STAGING_NAMESPACE} removed")
    sandbox_reset.reset(cfg, out=out)


@dataclass(frozen=True)
class ServiceState:
    """One release service as the cluster and the service itself report it."""

    service: str
    deployment: str
    image_tag: str | None
    """The tag of the Deployment's image; None when the Deployment is missing."""
    revision: int | None
    rollout_complete: bool
    faults: str
    """The fault annotations on the pod template, ``none`` when there are none."""
    version: str | None
    """What ``/version`` answers; None without a version path or an answer."""
    health: int | str | None
    """The ``/health`` status code (or the error); None without a health path."""

    def problems(self, release: str) -> list[str]:
        """Why this service is not running ``release``, healthy; empty when it is."""
        if self.image_tag is None:
            return [f"{self.deployment}: no such Deployment"]
        found = []
        if self.image_tag != release:
            found.append(f"{self.deployment} image is {self.image_tag}")
        if not self.rollout_complete:
            found.append(f"{self.deployment} rollout not complete")
        if self.faults != "none":
            found.append(f"{self.deployment} pod template has faults ({self.faults})")
        if self.version is not None and self.version != release:
            found.append(f"{self.service} /version answers {self.version}")
        if self.health is not None and self.health != 200:
            found.append(f"{self.service} /health answers {self.health}")
        return found


def read_state(target: Any, environment: str) -> list[ServiceState]:
    """Every release service of ``target`` in ``environment``: image, revision
    and rollout from the cluster, version and health from the service."""
    from gonogo.integrations.kubernetes.client import client_for
    from gonogo.integrations.kubernetes.snapshot import DeploymentView

    namespace = target.namespace_for(environment)
    kube = client_for(target)
    try:
        found = {d["metadata"]["name"]: d for d in kube.list_all("deployments", namespace)}
    finally:
        kube.close()
    states = []
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as client:
        for service in target.release_services():
            raw = found.get(service.deployment_name)
            view = DeploymentView(raw) if raw is not None else None
            template = (raw or {}).get("spec", {}).get("template", {})
            states.append(
                ServiceState(
                    service=service.name,
                    deployment=service.deployment_name,
                    image_tag=view.image_tag(service.container) if view else None,
                    revision=view.revision if view else None,
                    rollout_complete=bool(view and view.rollout_complete),
                    faults=faults.parse(template.get("metadata", {}).get("annotations")).describe(),
                    version=_version(client, target.version_url(service, environment)),
                    health=_status(client, target.health_url(service, environment)),
                )
            )
    return states


def _version(client: httpx.Client, url: str | None) -> str | None:
    if url is None:
        return None
    try:
        body = client.get(url).json()
    except (httpx.HTTPError, ValueError) as e:
        return f"no answer ({e.__class__.__name__})"
    return str(body.get("version")) if isinstance(body, dict) else "no version in the answer"


def _status(client: httpx.Client, url: str | None) -> int | str | None:
    if url is None:
        return None
    try:
        return client.get(url).status_code
    except httpx.HTTPError as e:
        return f"no answer ({e.__class__.__name__})"


def settle_on(
    target: Any, environment: str, release: str, timeout_s: float = SETTLE_TIMEOUT_S
) -> tuple[list[ServiceState], list[str]]:
    """Read the release services until all run ``release``, healthy, or the
    time is up; returns the last reading and what was still wrong."""
    deadline = time.monotonic() + timeout_s
    while True:
        states = read_state(target, environment)
        problems = [problem for state in states for problem in state.problems(release)]
        if not states:
            problems = [f"no release services in {target.source}"]
        if not problems or time.monotonic() >= deadline:
            return states, problems
        time.sleep(1.0)


QUIET_WINDOW = "2m"
"""The window of the current error rate the pre-deployment gate's "Monitoring
systems" compares with the environment's error_rate_max."""
QUIET_TIMEOUT_S = 240.0
"""Long enough for an earlier demo's faulty candidate to leave that window."""


def incident(target: Any, environment: str) -> list[str]:
    """What the gate would call an incident in ``environment`` now: critical
    alerts firing for it (Prometheus, Alertmanager) and services whose error
    rate over ``QUIET_WINDOW`` is above the environment's error_rate_max."""
    from gonogo.integrations.monitoring import stack as monitoring
    from gonogo.integrations.monitoring.prometheus import (
        Alertmanager,
        Prometheus,
        error_ratio_query,
    )

    namespace = target.namespace_for(environment)
    services = {s.deployment_name for s in target.services if s.health_path}
    names = services | {s.name for s in target.services}
    timeout = target.monitoring.timeout_s
    sources: dict[str, list[dict[str, Any]]] = {}
    found = []
    if target.monitoring.prometheus:
        with Prometheus(target.monitoring.prometheus, timeout_s=timeout) as prometheus:
            sources["Prometheus"] = prometheus.firing_alerts()
            limit = target.environment(environment).rollback.error_rate_max
            if limit is not None:
                ratios = prometheus.by_label(error_ratio_query(namespace, QUIET_WINDOW))
                found += [
                    f"{name} error rate {ratio:.1%} over the last {QUIET_WINDOW} > {limit:.1%}"
                    for name, ratio in sorted(ratios.items())
                    if name in services and ratio > limit
                ]
    if target.monitoring.alertmanager:
        with Alertmanager(target.monitoring.alertmanager, timeout_s=timeout) as alertmanager:
            sources["Alertmanager"] = alertmanager.active_alerts()
    alerts = monitoring.blocking_alerts(sources, namespace, names)
    return [f"alert {a.describe()}" for a in alerts] + found


def wait_quiet(
    target: Any, environment: str, out: Out, timeout_s: float = QUIET_TIMEOUT_S
) -> list[str]:
    """Wait, with user traffic flowing, until ``environment`` is out of any
    incident an earlier run left (a faulty candidate's errors stay in the
    error-rate window for a while after its rollback); returns what is still
    wrong at the deadline (empty when quiet)."""
    deadline = time.monotonic() + timeout_s
    told = False
    while True:
        found = incident(target, environment)
        if not found or time.monotonic() >= deadline:
            return found
        if not told:
            out(f"waiting for an earlier incident in {environment} to clear: {'; '.join(found)}")
            told = True
        time.sleep(5.0)
