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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gonogo.errors import ProbeError
from gonogo.integrations.http.client import HttpRequest, probe
from gonogo.integrations.kubernetes.changes import Patcher
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.integrations.kubernetes.rollout import Progress, wait_for
from gonogo.integrations.kubernetes.snapshot import DeploymentView
from gonogo.model.rollback import PlannedStep, RollbackPlan, RollbackStep

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
HEALTH_DEADLINE_S = 30.0
"""How long a rolled-back service may take to report healthy at its old version."""
BATCH_SIZE = 50
"""Deployments of one wave rolled back at once. The controller works through
a large wave at its own pace; in batches, each Deployment's rollout timeout
measures its own rollout rather than its place in the controller's queue."""


ALREADY = "already at target"
"""A step's result when its Deployment already runs the previous release."""


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


def dependency_waves(steps: list[PlannedStep], target: Any) -> list[list[PlannedStep]]:
    """The plan's steps grouped so that every Deployment comes after all the
    Deployments that depend on it, and Deployments that do not depend on each
    other share a wave. ``steps`` are in reverse dependency order already."""
    names = {s.service for s in steps}
    dependents: dict[str, list[str]] = {name: [] for name in names}
    for step in steps:  # one lookup per step: this runs over hundreds of services
        for dependency in set(target.service(step.service).depends_on) & names:
            dependents[dependency].append(step.service)
    level: dict[str, int] = {}
    for step in steps:
        level[step.service] = 1 + max(
            (level.get(d, 0) for d in dependents[step.service]), default=-1
        )
    waves: list[list[PlannedStep]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for step in steps:
        waves[level[step.service]].append(step)
    return waves


@dataclass
class _Prepared:
    step: PlannedStep
    service: Any
    namespace: str
    raw: dict[str, Any]
    from_revision: int | None
    revision: Revision


class RollbackExecutor:
    """Runs a plan wave by wave (see ``dependency_waves``), a large wave in
    batches of ``batch_size``: each batch's Deployments are patched together,
    watched together, health-checked together. A step that cannot be done
    stops the rollback before its batch changes anything, and the steps after
    it are reported as not run."""

    def __init__(
        self,
        kube: KubeClient,
        target: Any,
        environment: str,
        *,
        dry_run: bool,
        progress: Progress | None = None,
        health_deadline_s: float = HEALTH_DEADLINE_S,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.kube = kube
        self.target = target
        self.environment = environment
        self.dry_run = dry_run
        self.progress = progress
        self.health_deadline_s = health_deadline_s
        self.batch_size = max(1, batch_size)
        self.patcher = Patcher(kube, dry_run=dry_run)

    def run(self, plan: RollbackPlan) -> list[RollbackStep]:
        done: list[RollbackStep] = []
        batches = [
            wave[at : at + self.batch_size]
            for wave in dependency_waves(plan.steps, self.target)
            for at in range(0, len(wave), self.batch_size)
        ]
        for n, batch in enumerate(batches):
            results, stopped_by = self.run_batch(batch)
            done.extend(results)
            if stopped_by is not None:
                done.extend(
                    RollbackStep(
                        rest.deployment,
                        rest.from_revision,
                        rest.to_revision,
                        f"not run: stopped after deployment/{stopped_by}",
                        0.0,
                    )
                    for later in batches[n + 1 :]
                    for rest in later
                )
                break
        return done

    def run_batch(self, wave: list[PlannedStep]) -> tuple[list[RollbackStep], str | None]:
        """Roll back one batch (a wave, or part of a large one); also return the
        Deployment that stopped the plan, if any."""
        started = time.monotonic()
        finished: dict[str, RollbackStep] = {}
        prepared: list[_Prepared] = []
        already: list[tuple[PlannedStep, int | None]] = []
        listings: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}

        def finish(
            step: PlannedStep, result: str, from_rev: int | None, to_rev: int | None
        ) -> None:
            finished[step.deployment] = RollbackStep(
                step.deployment, from_rev, to_rev, result, time.monotonic() - started
            )

        for step in wave:
            namespace = step.namespace or self.target.namespace_for(self.environment)
            try:
                if namespace not in listings:
                    deployments = self.kube.list_all("deployments", namespace)
                    listings[namespace] = (
                        {d["metadata"]["name"]: d for d in deployments},
                        self.kube.list_all("replicasets", namespace),
                    )
            except ProbeError as e:
                finish(step, f"failed: {e}", step.from_revision, step.to_revision)
                continue
            by_name, replicasets = listings[namespace]
            raw = by_name.get(step.deployment)
            if raw is not None:
                # items of a list carry no type of their own; a patch needs it
                raw = {"apiVersion": "apps/v1", "kind": "Deployment", **raw}
            outcome = self._prepare(step, namespace, raw, replicasets)
            if isinstance(outcome, _Prepared):
                prepared.append(outcome)
            elif outcome[0] == ALREADY and not self.dry_run:
                already.append((step, outcome[1]))
            else:
                finish(step, *outcome)

        blocking = [r for r in finished.values() if not r.ok]
        if blocking:
            for step, rev in already:
                finish(step, ALREADY, rev, rev)
            # Leave this wave as it was: nothing in it is patched.
            for p in prepared:
                finish(
                    p.step,
                    f"not run: stopped after deployment/{blocking[0].deployment}",
                    p.from_revision,
                    p.revision.number,
                )
            return [finished[s.deployment] for s in wave], blocking[0].deployment

        patched: list[_Prepared] = []
        for p in prepared:
            try:
                self.patcher.patch(p.raw, p.namespace, undo_patch(p.revision), kind="json")
            except ProbeError as e:
                finish(p.step, f"failed: {e}", p.from_revision, p.revision.number)
                continue
            if self.dry_run:
                finish(
                    p.step,
                    f"would roll back to revision {p.revision.number} ({p.revision.tag}) (dry run)",
                    p.from_revision,
                    p.revision.number,
                )
            else:
                patched.append(p)
        self._await(patched, finish)
        self._verify_already(already, finish)
        stopped = [s.deployment for s in wave if not finished[s.deployment].ok]
        return [finished[s.deployment] for s in wave], (stopped[0] if stopped else None)

    def _prepare(
        self,
        step: PlannedStep,
        namespace: str,
        raw: dict[str, Any] | None,
        replicasets: list[dict[str, Any]],
    ) -> _Prepared | tuple[str, int | None, int | None]:
        """What to patch, or the step's final (result, from, to) when nothing is to do."""
        service = self.target.service(step.service)
        if raw is None:
            return (
                f"failed: deployment/{step.deployment} not found in {namespace}",
                step.from_revision,
                step.to_revision,
            )
        view = DeploymentView(raw)
        current_tag = _tag(_container_image(raw["spec"]["template"], service.container))
        if current_tag == step.to_release and not view.paused and view.rollout_complete:
            return (ALREADY, view.revision, view.revision)
        owned = [rs for rs in replicasets if _matches(rs, view.selector)]
        revisions = {r.number: r for r in history(raw, owned, service.container)}
        revision = revisions.get(step.to_revision or -1)
        if revision is None or revision.tag != step.to_release:
            revision = rollback_target(raw, owned, step.to_release, service.container)
        if revision is None and current_tag == step.to_release:
            revision = revisions.get(view.revision or -1)
        if revision is None:
            known = ", ".join(f"{r.number} ({r.tag})" for r in revisions.values()) or "none"
            return (
                f"not run: deployment/{step.deployment} has no earlier revision running "
                f"{step.to_release} (revisions: {known}); roll it back by hand",
                view.revision,
                None,
            )
        return _Prepared(step, service, namespace, raw, view.revision, revision)

    def _await(self, patched: list[_Prepared], finish: Any) -> None:
        """One watch for the whole wave, then every service's health, concurrently."""
        if not patched:
            return
        by_namespace: dict[str, list[_Prepared]] = {}
        for p in patched:
            by_namespace.setdefault(p.namespace, []).append(p)
        healthy: list[_Prepared] = []
        for namespace, group in by_namespace.items():
            outcome = wait_for(
                self.kube,
                namespace,
                {p.step.deployment: p.service.rollout_timeout_s for p in group},
                progress=self.progress,
            )
            states = {s.name: s for s in outcome.states}
            for p in group:
                state = states.get(p.step.deployment)
                if state is None or not state.complete:
                    why = state.failure if state is not None and state.failure else "not complete"
                    finish(
                        p.step,
                        f"failed: deployment/{p.step.deployment}: {why}",
                        p.from_revision,
                        p.revision.number,
                    )
                else:
                    healthy.append(p)
        problems = check_health_many(
            self.target,
            self.environment,
            [(p.service, p.step.to_release) for p in healthy],
            self.health_deadline_s,
        )
        for p, problem in zip(healthy, problems, strict=True):
            result = (
                f"failed: {problem}" if problem else "rolled back, " + self._seen(p.step, p.service)
            )
            finish(p.step, result, p.from_revision, p.revision.number)

    def _verify_already(self, already: list[tuple[PlannedStep, int | None]], finish: Any) -> None:
        """A Deployment already on the previous release is checked like a rolled
        back one: "done" means seen running it, not merely specified."""
        if not already:
            return
        services = [self.target.service(step.service) for step, _ in already]
        problems = check_health_many(
            self.target,
            self.environment,
            [(svc, step.to_release) for svc, (step, _) in zip(services, already, strict=True)],
            self.health_deadline_s,
        )
        for (step, rev), svc, problem in zip(already, services, problems, strict=True):
            result = f"failed: {problem}" if problem else f"{ALREADY}, {self._seen(step, svc)}"
            finish(step, result, rev, rev)

    def _seen(self, step: PlannedStep, service: Any) -> str:
        """What proves the previous release runs: the rollout to its revision
        completed (the cluster's word), and, where the service has one, its
        version URL answered that release in the health round."""
        if self.target.version_url(service, self.environment):
            return f"verified on {step.to_release}"
        return f"verified on {step.to_release} by its completed rollout (no version URL)"


def check_health(
    target: Any, environment: str, service: Any, release: str | None, deadline_s: float
) -> str | None:
    """Poll one service's health (and version); None when right. See ``check_health_many``."""
    return check_health_many(target, environment, [(service, release)], deadline_s)[0]


def check_health_many(
    target: Any,
    environment: str,
    checks: Sequence[tuple[Any, str | None]],
    deadline_s: float,
) -> list[str | None]:
    """Poll every ``(service, release)`` pair's health (and version, when the
    service has a version path) until all are right or ``deadline_s`` passes.

    Each round is one concurrent probe of the services not yet right, so
    five hundred services cost a few rounds, not five hundred polling loops.
    Returns, in the order given, None for a right service or what was last
    seen for the others."""
    problems: list[str | None] = [None] * len(checks)
    pending: dict[int, list[HttpRequest]] = {}
    for n, (service, release) in enumerate(checks):
        health = target.health_url(service, environment)
        if health is None:
            continue
        requests = [HttpRequest("health", health, timeout=5.0)]
        version = target.version_url(service, environment)
        if version and release:
            requests.append(HttpRequest("version", version, timeout=5.0))
        pending[n] = requests
    deadline = time.monotonic() + deadline_s
    while pending:
        order = list(pending)
        results = probe([r for n in order for r in pending[n]])
        at = 0
        for n in order:
            mine = results[at : at + len(pending[n])]
            at += len(mine)
            problems[n] = _health_problem(mine, checks[n][1])
            if problems[n] is None:
                del pending[n]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    return problems


def _health_problem(results: list[Any], release: str | None) -> str | None:
    health = results[0]
    if not health.ok:
        return f"health {health.summary()}"
    if len(results) > 1:
        seen = (results[1].json or {}).get("version") if results[1].ok else None
        if seen != release:
            return f"version is {seen!r}, expected {release!r}"
    return None


def _matches(obj: dict[str, Any], selector: dict[str, str]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
