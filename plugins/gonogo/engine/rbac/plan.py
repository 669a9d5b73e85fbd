"""What a selection of checks needs from Kubernetes, and why.

Built from the collected items (their ``kube_access`` declarations) plus what
the run itself does for them: keep its record in the target's store and, for
the stages the rollback criteria act on, plan or run a rollback. The same
plan feeds ``gonogo rbac`` (manifests) and the preflight (a refusal naming the
first missing permission), so what is granted and what is checked never
drift apart."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gonogo.engine.rbac.access import (
    KUBE_FIXTURES,
    MARKER,
    RESTORABLE,
    VERBS,
    Need,
    needs_of,
    records_needs,
    rollback_needs,
    secret_ref_needs,
)
from gonogo.errors import ConfigError


@dataclass
class AccessPlan:
    """Permissions one target's run needs, each with the checks that need it."""

    namespace: str
    reasons: dict[Need, list[str]] = field(default_factory=dict)

    def add(self, needs: Iterable[Need], *why: str) -> None:
        for need in needs:
            whys = self.reasons.setdefault(need, [])
            whys += [w for w in why if w not in whys]

    @property
    def needs(self) -> list[Need]:
        return sorted(self.reasons, key=_order)

    def namespaces(self) -> list[str]:
        """Namespaces with namespaced needs, the environment's first."""
        found = {n.namespace for n in self.reasons if n.namespace is not None}
        return sorted(found, key=lambda ns: (ns != self.namespace, ns))

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "needs": [
                {
                    "namespace": n.namespace,
                    "group": n.group,
                    "plural": n.plural,
                    "verb": n.verb,
                    "name": n.name,
                    "why": self.reasons[n],
                }
                for n in self.needs
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessPlan:
        plan = cls(str(data["namespace"]))
        for n in data.get("needs", []):
            need = Need(n["namespace"], n["group"], n["plural"], n["verb"], n.get("name"))
            plan.reasons[need] = list(n.get("why", []))
        return plan

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)

    @property
    def needs_discovery(self) -> bool:
        """Whether a need names ``restorable``, which only the cluster can expand."""
        return any(n.plural == RESTORABLE and n.group == "" for n in self.reasons)

    def expanded(self, kinds: Iterable[tuple[str, str]]) -> AccessPlan:
        """The plan with ``restorable`` replaced by each (group, plural) in ``kinds``."""
        plan = AccessPlan(self.namespace)
        for need, whys in self.reasons.items():
            if need.plural == RESTORABLE and need.group == "":
                for group, plural in kinds:
                    plan.add([Need(need.namespace, group, plural, need.verb)], *whys)
            else:
                plan.add([need], *whys)
        return plan


def _order(need: Need) -> tuple[Any, ...]:
    return (
        need.namespace is None,
        need.namespace or "",
        need.group,
        need.plural,
        VERBS.index(need.verb),
        need.name or "",
    )


def restorable_kinds(kube: Any) -> list[tuple[str, str]]:
    """(group, plural) of every kind ``restorable`` covers on this cluster, from
    the same discovery the backup itself uses."""
    from gonogo.integrations.kubernetes.backup_writer import listable_kinds

    kinds = []
    for version, _kind, plural in listable_kinds(kube):
        group = version.split("/")[0] if "/" in version else ""
        if (group, plural) not in kinds:
            kinds.append((group, plural))
    return kinds


def declared(item: Any) -> list[str]:
    """Every declaration sentence of a test, from all its kube_access markers."""
    return [text for mark in item.iter_markers(MARKER) for text in mark.args]


def is_check(item: Any) -> bool:
    """A checklist check (bound with item(...)), not one of the project's own tests."""
    return item.get_closest_marker("item") is not None


def touches_kubernetes(item: Any) -> str | None:
    """The fixture through which a check reaches the Kubernetes API, if any."""
    names = set(getattr(item, "fixturenames", ()))
    found = sorted(KUBE_FIXTURES & names)
    return found[0] if found else None


def undeclared(items: Iterable[Any]) -> list[str]:
    """Checks that reach Kubernetes without saying how: one line each, with the fix."""
    problems = []
    for item in items:
        if not is_check(item) or item.get_closest_marker(MARKER) is not None:
            continue
        fixture = touches_kubernetes(item)
        if fixture is not None:
            problems.append(
                f"{item.nodeid} uses the Kubernetes API (fixture {fixture!r}) but declares no "
                f'access; add @pytest.mark.kube_access("VERB RESOURCE", ...) naming what it '
                "reads and changes"
            )
    return problems


def check_name(item: Any) -> str:
    """How a check is named in reasons: its checklist title, else its test name."""
    mark = item.get_closest_marker("item")
    title = mark.args[0] if mark is not None and mark.args else item.name
    return str(title)


def stage_of(item: Any) -> str | None:
    from gonogo.engine.markers import STAGE_KEYS

    for key in STAGE_KEYS:
        if item.get_closest_marker(key) is not None:
            return key
    return None


def build(items: Iterable[Any], target: Any, namespace: str, rollback: str) -> AccessPlan:
    """The access plan of the selected items against one target.

    Raises ConfigError naming the check and the bad sentence when a
    declaration does not parse."""
    plan = AccessPlan(namespace)
    stages: set[str] = set()
    for item in items:
        if not is_check(item):
            continue
        stage = stage_of(item)
        if stage is not None:
            stages.add(stage)
        try:
            needs = needs_of(declared(item), namespace)
        except ConfigError as e:
            raise ConfigError(f"{item.nodeid}: {e}") from None
        plan.add(needs, check_name(item))
    if plan.reasons or stages:
        plan.add(records_needs(target), "the run record (records: in the target)")
        plan.add(
            secret_ref_needs(target, namespace), "a credential reference {secret: …} in the target"
        )
    plan.add(
        rollback_needs(stages, rollback, namespace),
        f"--rollback {rollback} of a failed deploy or post-deploy phase",
    )
    return plan


__all__ = ["AccessPlan", "build", "declared", "is_check", "touches_kubernetes", "undeclared"]
