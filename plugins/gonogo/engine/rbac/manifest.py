"""An access plan as manifests for ``kubectl apply -f -``.

One ServiceAccount in the environment's namespace; per namespace with needs a
Role and a RoleBinding to it; for cluster-scoped resources and reads across
all namespaces one ClusterRole and ClusterRoleBinding. A rule lists resources
that share a group and exactly the same verbs, so no rule grants a verb one of
its resources does not need. Every Role says in a comment which checks need
each rule: the manifest can be reviewed line by line. Nothing is ever a
wildcard: the plan holds only named verbs and resources."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import yaml

from gonogo.engine.rbac.access import VERBS, Need
from gonogo.engine.rbac.plan import AccessPlan

RBAC_API = "rbac.authorization.k8s.io/v1"
LABELS = {"app.kubernetes.io/managed-by": "gonogo"}


def _rules(needs: list[Need]) -> list[tuple[dict[str, Any], list[Need]]]:
    """RBAC rules for needs of one scope, each with the needs it grants. A need
    of one named object gets a rule of its own with resourceNames."""
    named = [n for n in needs if n.name is not None]
    needs = [n for n in needs if n.name is None]
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for n in needs:
        verbs[(n.group, n.plural)].add(n.verb)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, plural), vs in verbs.items():
        ordered = tuple(v for v in VERBS if v in vs)
        grouped[(group, ordered)].append(plural)
    rules = []
    for (group, allowed), plurals in sorted(grouped.items()):
        granted = [
            n for n in needs if n.group == group and n.plural in plurals and n.verb in allowed
        ]
        rules.append(
            ({"apiGroups": [group], "resources": sorted(plurals), "verbs": list(allowed)}, granted)
        )
    by_object: dict[tuple[str, str, str], list[Need]] = defaultdict(list)
    for n in named:
        by_object[(n.group, n.plural, str(n.name))].append(n)
    for (group, plural, name), granted in sorted(by_object.items()):
        needed = {n.verb for n in granted}
        rule: dict[str, Any] = {
            "apiGroups": [group],
            "resources": [plural],
            "resourceNames": [name],
            "verbs": [v for v in VERBS if v in needed],
        }
        rules.append((rule, granted))
    return rules


def _why(plan: AccessPlan, rules: list[tuple[dict[str, Any], list[Need]]]) -> list[str]:
    lines = []
    for rule, granted in rules:
        checks: list[str] = []
        for n in granted:
            checks += [w for w in plan.reasons[n] if w not in checks]
        group = rule["apiGroups"][0] or "core"
        names = f"/{','.join(rule['resourceNames'])}" if "resourceNames" in rule else ""
        lines.append(
            f"# {','.join(rule['verbs'])} {','.join(rule['resources'])}{names} ({group}): "
            + "; ".join(checks)
        )
    return lines


def _doc(obj: dict[str, Any], comments: list[str] | None = None) -> str:
    text = yaml.safe_dump(obj, sort_keys=False, default_flow_style=None, width=100)
    return "".join(line + "\n" for line in comments or []) + text


def render(plan: AccessPlan, service_account: str, *, command: str = "") -> str:
    """The manifests, as one multi-document YAML text."""
    ns = plan.namespace
    subject = {"kind": "ServiceAccount", "name": service_account, "namespace": ns}
    meta = {"labels": dict(LABELS)}
    docs = []
    header = [
        f"# The ServiceAccount {ns}/{service_account} and exactly the permissions the "
        "selected checks declare (kube_access).",
    ]
    if command:
        header.append(f"# Made by: {command}")
    header.append("# Apply with an administrator's kubeconfig: ... | kubectl apply -f -")
    header.append(
        "# The namespaces must exist (kubectl create namespace NAME): "
        + ", ".join(dict.fromkeys([ns, *plan.namespaces()]))
        + ". No Namespace is in here, so 'kubectl delete -f' of this file deletes only the "
        "account and its permissions."
    )
    docs.append(
        _doc(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": service_account, "namespace": ns, **meta},
            },
            header,
        )
    )
    name = service_account
    for namespace in plan.namespaces():
        needs = [n for n in plan.needs if n.namespace == namespace]
        rules = _rules(needs)
        docs.append(
            _doc(
                {
                    "apiVersion": RBAC_API,
                    "kind": "Role",
                    "metadata": {"name": name, "namespace": namespace, **meta},
                    "rules": [r for r, _ in rules],
                },
                _why(plan, rules),
            )
        )
        docs.append(
            _doc(
                {
                    "apiVersion": RBAC_API,
                    "kind": "RoleBinding",
                    "metadata": {"name": name, "namespace": namespace, **meta},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "Role",
                        "name": name,
                    },
                    "subjects": [subject],
                }
            )
        )
    cluster = [n for n in plan.needs if n.namespace is None]
    if cluster:
        cluster_name = f"{ns}-{service_account}"
        rules = _rules(cluster)
        docs.append(
            _doc(
                {
                    "apiVersion": RBAC_API,
                    "kind": "ClusterRole",
                    "metadata": {"name": cluster_name, **meta},
                    "rules": [r for r, _ in rules],
                },
                _why(plan, rules),
            )
        )
        docs.append(
            _doc(
                {
                    "apiVersion": RBAC_API,
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": cluster_name, **meta},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": cluster_name,
                    },
                    "subjects": [subject],
                }
            )
        )
    return "---\n".join(docs)


__all__ = ["render"]
