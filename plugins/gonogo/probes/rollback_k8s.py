"""Rolling Deployments back to the previous release, read from and done in
the cluster.

What a Deployment returns to is the newest revision in its ReplicaSet history
whose pod template ran the target's ``previous_release`` — not merely the
revision before the current one, so a configuration change made during the
release never becomes the rollback target. Because it is read from the
cluster, a rollback planned in one run works after a deploy made in another.

Undoing is what ``kubectl rollout undo --to-revision`` does: the Deployment's
pod template is replaced by that ReplicaSet's template (its
``pod-template-hash`` label removed) and the rollout is resumed; the
controller then scales the old ReplicaSet back up. Each step is waited for,
health- and version-checked, and recorded.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from gonogo.errors import ProbeError
from gonogo.probes.changes import Patcher
from gonogo.probes.http import HttpRequest, probe
from gonogo.probes.kube import DeploymentView, KubeClient
from gonogo.probes.rollout import Progress, wait_for
from gonogo.rollback import PlannedStep, RollbackPlan, RollbackStep

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
HEALTH_DEADLINE_S = 30.0
"""How long a rolled-back service may take to report healthy at its old version."""


@dataclass(frozen=True)
class Revision:
    """One entry of a Deployment's rollout history (one ReplicaSet)."""

    number: int
    replicaset: str
    image: str
    template: dict[str, Any]

    @property
    def tag(self) -> str:
        return _tag(self.image)


def _tag(image: str) -> str:
    last = image.split("@")[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _container_image(template: dict[str, Any], container: str | None) -> str:
    for c in template.get("spec", {}).get("containers") or []:
        if container is None or c.get("name") == container:
            return str(c.get("image", ""))
    return ""


def history(
    deployment: dict[str, Any], replicasets: list[dict[str, Any]], container: str | None = None
) -> list[Revision]:
    """The Deployment's revisions, oldest first, from the ReplicaSets it owns."""
    uid = deployment["metadata"].get("uid")
    revisions = []
    for rs in replicasets:
        owners = rs["metadata"].get("ownerReferences") or []
        if not any(o.get("uid") == uid and o.get("kind") == "Deployment" for o in owners):
            continue
        number = (rs["metadata"].get("annotations") or {}).get(REVISION)
        if not number:
            continue
        template = rs["spec"]["template"]
        revisions.append(
            Revision(
                int(number), rs["metadata"]["name"], _container_image(template, container), template
            )
        )
    return sorted(revisions, key=lambda r: r.number)


def rollback_target(
    deployment: dict[str, Any],
    replicasets: list[dict[str, Any]],
    previous_release: str,
    container: str | None = None,
) -> Revision | None:
    """The newest revision that ran ``previous_release``, other than the current one."""
    current = DeploymentView(deployment).revision
    for revision in reversed(history(deployment, replicasets, container)):
        if revision.number != current and revision.tag == previous_release:
            return revision
    return None


def build_plan(kube: KubeClient, target: Any, environment: str, target_id: str) -> RollbackPlan:
    """Every Deployment now running the release, in reverse dependency order,
    with the revision it returns to (None when it has none)."""
    namespace = target.namespace_for(environment)
    deployments = {d["metadata"]["name"]: d for d in kube.list_all("deployments", namespace)}
    replicasets = kube.list_all("replicasets", namespace)
    steps = []
    for service in target.reverse_dependency_order():
        raw = deployments.get(service.deployment_name)
        if raw is None:
            continue
        view = DeploymentView(raw)
        if _tag(_container_image(raw["spec"]["template"], service.container)) != target.release:
            continue
        back = rollback_target(raw, replicasets, target.previous_release, service.container)
        steps.append(
            PlannedStep(
                service=service.name,
                deployment=service.deployment_name,
                namespace=namespace,
                to_release=target.previous_release,
                from_revision=view.revision,
                to_revision=back.number if back else None,
            )
        )
    return RollbackPlan(
        target_id=target_id,
        release=target.release,
        to_release=target.previous_release,
        steps=steps,
    )


def undo_patch(revision: Revision) -> list[dict[str, Any]]:
    """The JSON patch that puts ``revision``'s pod template back, unpaused."""
    template = copy.deepcopy(revision.template)
    labels = template.get("metadata", {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    return [
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "add", "path": "/spec/paused", "value": False},
    ]


class RollbackExecutor:
    """Runs a plan step by step; stops at the first step that cannot be done."""

    def __init__(
        self,
        kube: KubeClient,
        target: Any,
        environment: str,
        *,
        dry_run: bool,
        progress: Progress | None = None,
        health_deadline_s: float = HEALTH_DEADLINE_S,
    ) -> None:
        self.kube = kube
        self.target = target
        self.environment = environment
        self.dry_run = dry_run
        self.progress = progress
        self.health_deadline_s = health_deadline_s
        self.patcher = Patcher(kube, dry_run=dry_run)

    def run(self, plan: RollbackPlan) -> list[RollbackStep]:
        done: list[RollbackStep] = []
        for index, step in enumerate(plan.steps):
            result = self.undo(step)
            done.append(result)
            if not result.ok:
                for rest in plan.steps[index + 1 :]:
                    done.append(
                        RollbackStep(
                            rest.deployment,
                            rest.from_revision,
                            rest.to_revision,
                            f"not run: stopped after deployment/{step.deployment}",
                            0.0,
                        )
                    )
                break
        return done

    def undo(self, step: PlannedStep) -> RollbackStep:
        started = time.monotonic()

        def finish(result: str, from_rev: int | None, to_rev: int | None) -> RollbackStep:
            return RollbackStep(
                step.deployment, from_rev, to_rev, result, time.monotonic() - started
            )

        namespace = step.namespace or self.target.namespace_for(self.environment)
        service = self.target.service(step.service)
        try:
            raw = self.kube.get(
                f"/apis/apps/v1/namespaces/{namespace}/deployments/{step.deployment}",
                what=f"get deployment/{step.deployment}",
            )
        except ProbeError as e:
            return finish(f"failed: {e}", step.from_revision, step.to_revision)
        view = DeploymentView(raw)
        current_tag = _tag(_container_image(raw["spec"]["template"], service.container))
        if current_tag == step.to_release and not view.paused and view.rollout_complete:
            return finish("already at target", view.revision, view.revision)
        replicasets = self.kube.list_all(
            "replicasets", namespace, labelSelector=_selector(view.selector)
        )
        revisions = {r.number: r for r in history(raw, replicasets, service.container)}
        revision = revisions.get(step.to_revision or -1)
        if revision is None or revision.tag != step.to_release:
            revision = rollback_target(raw, replicasets, step.to_release, service.container)
        if revision is None and current_tag == step.to_release:
            revision = revisions.get(view.revision or -1)
        if revision is None:
            known = ", ".join(f"{r.number} ({r.tag})" for r in revisions.values()) or "none"
            return finish(
                f"not run: deployment/{step.deployment} has no earlier revision running "
                f"{step.to_release} (revisions: {known}); roll it back by hand",
                view.revision,
                None,
            )
        try:
            self.patcher.patch(raw, namespace, undo_patch(revision), kind="json")
        except ProbeError as e:
            return finish(f"failed: {e}", view.revision, revision.number)
        if self.dry_run:
            return finish(
                f"would roll back to revision {revision.number} ({revision.tag}) (dry run)",
                view.revision,
                revision.number,
            )
        outcome = wait_for(
            self.kube,
            namespace,
            {step.deployment: service.rollout_timeout_s},
            progress=self.progress,
        )
        if not outcome.ok:
            return finish(f"failed: {'; '.join(outcome.failures)}", view.revision, revision.number)
        problem = self.check_service(service, step.to_release)
        if problem:
            return finish(f"failed: {problem}", view.revision, revision.number)
        return finish("rolled back", view.revision, revision.number)

    def check_service(self, service: Any, release: str) -> str | None:
        """None when the service answers healthy at ``release`` within the deadline;
        otherwise what was last seen."""
        return check_health(self.target, self.environment, service, release, self.health_deadline_s)


def check_health(
    target: Any, environment: str, service: Any, release: str | None, deadline_s: float
) -> str | None:
    """Poll the service's health (and version, when it has a version path) until
    both are right or ``deadline_s`` passes; None when right."""
    health = target.health_url(service, environment)
    version = target.version_url(service, environment)
    if health is None:
        return None
    deadline = time.monotonic() + deadline_s
    while True:
        requests = [HttpRequest("health", health, timeout=5.0)]
        if version and release:
            requests.append(HttpRequest("version", version, timeout=5.0))
        results = probe(requests)
        problem: str | None = _health_problem(results, release)
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.5)


def _health_problem(results: list[Any], release: str | None) -> str | None:
    health = results[0]
    if not health.ok:
        return f"health {health.summary()}"
    if len(results) > 1:
        seen = (results[1].json or {}).get("version") if results[1].ok else None
        if seen != release:
            return f"version is {seen!r}, expected {release!r}"
    return None


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())
