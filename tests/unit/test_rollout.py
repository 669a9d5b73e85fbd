"""Rollout status, rollback targets and undo patches, from API objects."""

from __future__ import annotations

from typing import Any

from gonogo.integrations.kubernetes.rollback import (
    RollbackExecutor,
    build_plan,
    history,
    rollback_target,
    undo_patch,
)
from gonogo.integrations.kubernetes.rollout import RolloutState, state_of
from gonogo.model.rollback import PlannedStep, RollbackPlan, RollbackStep
from gonogo.model.target import load_target


def deployment(
    name: str = "web",
    *,
    generation: int = 2,
    observed: int = 2,
    updated: int = 2,
    available: int = 2,
    replicas: int = 2,
    progressing: str | None = None,
    paused: bool = False,
    image: str = "reg/web:v2",
    revision: int = 3,
    uid: str = "u1",
) -> dict[str, Any]:
    conditions = []
    if progressing:
        conditions.append(
            {
                "type": "Progressing",
                "status": "False",
                "reason": progressing,
                "message": "ReplicaSet web-2 has timed out progressing.",
            }
        )
    return {
        "metadata": {
            "name": name,
            "generation": generation,
            "uid": uid,
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {
            "replicas": 2,
            "paused": paused,
            "selector": {"matchLabels": {"app": name}},
            "template": {"spec": {"containers": [{"name": name, "image": image}]}},
        },
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
            "replicas": replicas,
            "conditions": conditions,
        },
    }


def replicaset(revision: int, image: str, uid: str = "u1", env: str = "a") -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"web-{revision}",
            "ownerReferences": [{"kind": "Deployment", "uid": uid}],
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
        },
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": f"h{revision}"}},
                "spec": {
                    "containers": [
                        {"name": "web", "image": image, "env": [{"name": "X", "value": env}]}
                    ]
                },
            }
        },
    }


def test_complete_rollout() -> None:
    assert state_of(deployment()).complete


def test_unobserved_generation_is_pending() -> None:
    state = state_of(deployment(generation=3, observed=2))
    assert not state.done


def test_old_pods_still_running_is_pending() -> None:
    assert not state_of(deployment(replicas=3)).done


def test_progress_deadline_fails_at_once_with_the_reason() -> None:
    state = state_of(deployment(updated=1, available=2, progressing="ProgressDeadlineExceeded"))
    assert state.done and not state.complete
    assert state.failure is not None and "ProgressDeadlineExceeded" in state.failure
    assert "timed out progressing" in state.failure


def test_stale_deadline_condition_of_an_older_generation_is_ignored() -> None:
    state = state_of(deployment(generation=4, observed=3, progressing="ProgressDeadlineExceeded"))
    assert state.failure is None and not state.done


def test_paused_unfinished_rollout_fails() -> None:
    state = state_of(deployment(updated=1, paused=True))
    assert state.failure is not None and "resume" in state.failure


def test_a_deployment_not_yet_seen_is_not_done() -> None:
    assert not RolloutState("web").done


def test_rollback_target_is_newest_revision_of_previous_release_not_previous_revision() -> None:
    sets = [
        replicaset(1, "reg/web:v1", env="a"),
        replicaset(2, "reg/web:v1", env="b"),
        replicaset(3, "reg/web:v2"),
        replicaset(4, "reg/web:v2", env="config-change"),
        replicaset(9, "reg/other:v1", uid="someone-else"),
    ]
    dep = deployment(revision=4)
    assert [r.number for r in history(dep, sets)] == [1, 2, 3, 4]
    target = rollback_target(dep, sets, "v1")
    assert target is not None and target.number == 2


def test_no_earlier_revision_of_previous_release() -> None:
    assert rollback_target(deployment(revision=3), [replicaset(3, "reg/web:v2")], "v1") is None


def test_undo_patch_drops_the_template_hash_and_resumes() -> None:
    patch = undo_patch(history(deployment(), [replicaset(2, "reg/web:v1")])[0])
    template = patch[0]["value"]
    assert template["metadata"]["labels"] == {"app": "web"}
    assert patch[1] == {"op": "add", "path": "/spec/paused", "value": False}


class FakeKube:
    def __init__(self, objects: dict[str, list[dict[str, Any]]]) -> None:
        self.objects = objects

    def list_all(
        self, kind: str, namespace: str | None = None, **query: Any
    ) -> list[dict[str, Any]]:
        return self.objects[kind]


def test_plan_lists_deployments_on_the_release_in_reverse_dependency_order() -> None:
    target = load_target("targets/sandbox.yaml")
    deployments, sets = [], []
    for n, service in enumerate(target.services):
        name = service.deployment_name
        on_release = service.tier in ("data", "core")
        image = f"reg/{name}:{'v1.1.0' if on_release else 'v1.0.0'}"
        dep = deployment(name, image=image, revision=2 if on_release else 1, uid=f"u{n}")
        dep["spec"]["template"]["spec"]["containers"][0]["name"] = name
        deployments.append(dep)
        for rev, tag in ((1, "v1.0.0"), (2, "v1.1.0")):
            rs = replicaset(rev, f"reg/{name}:{tag}", uid=f"u{n}")
            rs["spec"]["template"]["spec"]["containers"][0]["name"] = name
            sets.append(rs)
    plan = build_plan(
        FakeKube({"deployments": deployments, "replicasets": sets}),  # type: ignore[arg-type]
        target,
        "production",
        "t",
    )
    assert [s.deployment for s in plan.steps] == [
        "mcp-agents",
        "mcp-context",
        "mcp-research",
        "redis",
    ]
    assert {(s.from_revision, s.to_revision) for s in plan.steps} == {(2, 1)}
    assert plan.to_release == "v1.0.0"


class _RecordingExecutor(RollbackExecutor):
    """Records the batches it is given; the deployment named ``fails`` fails."""

    def __init__(self, target: Any, batch_size: int, fails: str | None = None) -> None:
        super().__init__(
            FakeKube({}),  # type: ignore[arg-type]
            target,
            "production",
            dry_run=True,
            batch_size=batch_size,
        )
        self.batches: list[list[str]] = []
        self.fails = fails

    def run_batch(self, wave: list[PlannedStep]) -> tuple[list[RollbackStep], str | None]:
        self.batches.append([s.deployment for s in wave])
        results = [
            RollbackStep(
                s.deployment,
                2,
                1,
                "failed: x" if s.deployment == self.fails else "rolled back",
                0.1,
            )
            for s in wave
        ]
        stopped = [s.deployment for s in wave if s.deployment == self.fails]
        return results, stopped[0] if stopped else None


def _independent_plan(target: Any) -> RollbackPlan:
    """Every service of the sandbox target with no dependency between them: one wave."""
    steps = [
        PlannedStep(
            service=s.name,
            deployment=s.deployment_name,
            namespace="ns",
            to_release="v1.0.0",
            from_revision=2,
            to_revision=1,
        )
        for s in target.services
    ]
    for s in target.services:
        s.depends_on.clear()
    return RollbackPlan(target_id="t", release="v1.1.0", to_release="v1.0.0", steps=steps)


def test_a_large_wave_is_rolled_back_in_batches_and_a_failure_stops_the_rest() -> None:
    target = load_target("targets/sandbox.yaml")
    plan = _independent_plan(target)
    names = [s.deployment for s in plan.steps]

    executor = _RecordingExecutor(target, batch_size=4)
    steps = executor.run(plan)
    assert executor.batches == [names[0:4], names[4:8], names[8:]]
    assert all(s.result == "rolled back" for s in steps)

    stopping = _RecordingExecutor(target, batch_size=4, fails=names[5])
    steps = stopping.run(plan)
    assert stopping.batches == [names[0:4], names[4:8]]
    assert [s.result for s in steps[8:]] == [f"not run: stopped after deployment/{names[5]}"] * (
        len(names) - 8
    )
