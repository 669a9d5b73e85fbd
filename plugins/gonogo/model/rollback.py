"""When to roll back, and to what: the trigger per environment and the plan.

This module decides; it never touches a cluster. The Kubernetes side answers
the ``pytest_gonogo_rollback_plan`` hook with revisions read from the cluster and
executes the plan in ``pytest_gonogo_rollback``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TRIGGERING_STAGES: frozenset[str] = frozenset({"deploy", "staging", "postdeploy"})
"""Stages whose failures can call for a rollback: before them nothing was deployed."""

ERROR_RATE = "error_rate"
"""The measurement a rollback criterion judges as a share of failed requests
(a fraction: 0.05 is 5 %). Name a measurement with this constant, never the
bare string: a misspelt name is a figure no criterion reads."""

MEAN_RESPONSE_S = "mean_response_s"
"""The measurement a rollback criterion judges as the mean response time, in seconds."""

CRITERIA: dict[str, tuple[str, str]] = {
    ERROR_RATE: ("error_rate_max", "error rate"),
    MEAN_RESPONSE_S: ("mean_response_max_s", "mean response"),
}
"""Measurement name -> (field of the environment's rollback criteria, words for people)."""


@dataclass(frozen=True)
class RollbackPolicy:
    """An environment's rollback criteria, asked by measurement name, so a check
    reads its limit the way the trigger will judge the figure:
    ``policy.limit(ERROR_RATE)``."""

    criteria: Any
    """The target file's ``environments.<env>.rollback`` (None: no criteria)."""

    def limit(self, measurement: str) -> float | None:
        """The highest ``measurement`` the criteria accept; None when they set none."""
        if measurement not in CRITERIA:
            raise ValueError(
                f"no rollback criterion judges {measurement!r}; "
                f"the criteria judge {', '.join(CRITERIA)}"
            )
        limit = getattr(self.criteria, CRITERIA[measurement][0], None)
        return None if limit is None else float(limit)


@dataclass(frozen=True)
class Measurement:
    """A figure a check measured that a rollback criterion may judge."""

    name: str
    value: float
    service: str | None = None
    check: str | None = None


@dataclass
class Failure:
    """What went wrong in one phase of one target's timeline."""

    target_id: str
    stage: str
    phase: str
    failed_items: list[str]
    measurements: list[Measurement] = field(default_factory=list)


@dataclass(frozen=True)
class Trigger:
    """Why the environment's criteria call for a rollback."""

    reason: str
    criterion: str
    """``ERROR_RATE``, ``MEAN_RESPONSE_S`` or "functional"."""
    measured: float | None = None
    limit: float | None = None


def _fmt(criterion: str, value: float) -> str:
    return f"{value:.1%}" if criterion == ERROR_RATE else f"{value:.2f} s"


def evaluate_trigger(criteria: Any, failure: Failure) -> Trigger | None:
    """The rollback trigger for ``failure`` under an environment's rollback
    ``criteria`` (the target file's ``environments.<env>.rollback``), or None.

    A breached numeric criterion wins over a plain functional failure, so the
    summary can name the figure. Environments that are not ``automatic``
    (development: developer discretion) never trigger."""
    if criteria is None or not getattr(criteria, "automatic", False):
        return None
    if failure.stage not in TRIGGERING_STAGES:
        return None
    for m in failure.measurements:
        if m.name not in CRITERIA:
            continue
        words = CRITERIA[m.name][1]
        limit = RollbackPolicy(criteria).limit(m.name)
        if limit is not None and m.value > limit:
            where = f" for {m.service}" if m.service else ""
            return Trigger(
                reason=f"{words}{where} {_fmt(m.name, m.value)} > {_fmt(m.name, limit)}",
                criterion=m.name,
                measured=m.value,
                limit=limit,
            )
    if getattr(criteria, "on_functional_failure", False) and failure.failed_items:
        return Trigger(
            reason=f"failed check in {failure.phase}: {', '.join(failure.failed_items)}",
            criterion="functional",
        )
    return None


@dataclass
class PlannedStep:
    """Return one Deployment to what it ran before the release."""

    service: str
    deployment: str
    namespace: str | None
    to_release: str
    from_revision: int | None = None
    to_revision: int | None = None


@dataclass
class RollbackPlan:
    """Deployments to return, already in the order to run them (reverse dependency order)."""

    target_id: str
    release: str
    to_release: str
    steps: list[PlannedStep]
    reason: str = ""

    def render(self) -> str:
        lines = [f"rollback plan for {self.target_id}: {self.release} -> {self.to_release}"]
        for i, s in enumerate(self.steps, 1):
            rev = ""
            if s.to_revision is not None:
                rev = f" (revision {s.from_revision} -> {s.to_revision})"
            ns = f" -n {s.namespace}" if s.namespace else ""
            lines.append(f"  {i}. deployment/{s.deployment}{ns} -> {s.to_release}{rev}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RollbackStep:
    """What one step of an executed rollback did."""

    deployment: str
    from_revision: int | None
    to_revision: int | None
    result: str
    """"rolled back", "already at target", "failed: <reason>", "not run: <reason>"."""
    duration_s: float

    @property
    def ok(self) -> bool:
        return not self.result.startswith(("failed", "not run"))


def plan_from_target(target: Any, environment: str | None, failure: Failure) -> RollbackPlan:
    """The plan the target file alone can give: every service, in reverse
    dependency order, back to the previous release; revisions unknown."""
    namespace = target.namespace_for(environment) if environment else None
    steps = [
        PlannedStep(
            service=svc.name,
            deployment=svc.deployment_name,
            namespace=namespace,
            to_release=target.previous_release,
        )
        for svc in target.reverse_dependency_order()
    ]
    return RollbackPlan(
        target_id=failure.target_id,
        release=target.release,
        to_release=target.previous_release,
        steps=steps,
    )
