"""Before anything runs: may this account do what the selected checks declare?

Each permission of the access plan is asked of the API server's own
authorizer with a SelfSubjectAccessReview, exactly as it will decide the real
request (aggregated roles, webhooks and all), and which every authenticated
user may create. The first permission denied refuses the run in one line
naming the verb, the resource, the namespace and the ``gonogo rbac`` command
that grants it; nothing has been changed at that point.

Only a definite "no" refuses. An API server that cannot be asked (no kube
context, unreachable, token rejected) leaves the decision to the checks, which
fail with their own one-line cause: the preflight must never turn an outage
into a configuration error. It asks with the client's own timeout: an API
server that does not answer is then remembered for the run with the same
cause the checks would have found, and costs the run that one timeout."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gonogo.engine.rbac.access import Need
from gonogo.engine.rbac.plan import AccessPlan, restorable_kinds
from gonogo.errors import GonogoError, ProbeError

SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SELF_REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True)
class Denied:
    """Permissions the account lacks, and who the account is."""

    missing: list[Need]
    user: str | None
    plan: AccessPlan
    """The plan asked, ``restorable`` expanded: it knows why each need is there."""

    def line(self, command: str) -> str:
        plan = self.plan
        first = self.missing[0]
        who = f"account {self.user}" if self.user else "run's account"
        whys = plan.reasons.get(first, [])
        checks = "; ".join(whys[:3]) + ("; ..." if len(whys) > 3 else "")
        needs = "needs" if len(whys) == 1 else "need"
        more = ""
        if len(self.missing) > 1:
            rest = ", ".join(n.describe() for n in self.missing[1:4])
            extra = len(self.missing) - 4
            more = f" (and {len(self.missing) - 1} more: {rest}{', ...' if extra > 0 else ''})"
        return (
            f"refused before any check ran: the {who} may not {first.describe()}{more}, "
            f"which {checks or 'the selected checks'} {needs}; grant it with: {command} "
            "| kubectl apply -f - "
            "(with an administrator's kubeconfig)"
        )


def _review(kube: Any, need: Need) -> bool:
    attributes: dict[str, Any] = {"verb": need.verb, "resource": need.plural, "group": need.group}
    if need.namespace is not None:
        attributes["namespace"] = need.namespace
    if need.name is not None:
        attributes["name"] = need.name
    answer = kube.request(
        "POST",
        SSAR_PATH,
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        },
        what=f"SelfSubjectAccessReview {need.describe()}",
    )
    return bool((answer.get("status") or {}).get("allowed"))


def _user(kube: Any) -> str | None:
    """Who the API server says we are (Kubernetes 1.28+); None when it cannot say."""
    try:
        answer = kube.request(
            "POST",
            SELF_REVIEW_PATH,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
            what="SelfSubjectReview",
        )
    except ProbeError:
        return None
    name = ((answer.get("status") or {}).get("userInfo") or {}).get("username")
    return str(name) if name else None


def check(target: Any, kube_context: str | None, plan: AccessPlan) -> Denied | None:
    """What the target's account may not do of the plan; None when it may do
    everything or the API server cannot be asked."""
    if not plan.reasons:
        return None
    from gonogo.integrations.kubernetes.client import client_for

    try:
        kube = client_for(target, kube_context)
    except GonogoError:
        return None
    try:
        try:
            if plan.needs_discovery:
                plan = plan.expanded(restorable_kinds(kube))
            needs = plan.needs
            with ThreadPoolExecutor(max_workers=8) as pool:
                allowed = list(pool.map(lambda n: _review(kube, n), needs))
        except GonogoError:
            return None
        missing = [n for n, ok in zip(needs, allowed, strict=True) if not ok]
        # A change the account may not make says more than a read it may not do.
        missing.sort(key=lambda n: n.verb in READ_VERBS)
        if not missing:
            return None
        return Denied(missing, _user(kube), plan)
    finally:
        kube.close()


def service_account_of(user: str | None, namespace: str) -> str | None:
    """The ServiceAccount name when ``user`` is one in ``namespace``."""
    prefix = f"system:serviceaccount:{namespace}:"
    if user and user.startswith(prefix):
        return user[len(prefix) :]
    return None


def grant_command(
    targets: Sequence[str],
    environment: str,
    markexpr: str,
    service_account: str | None,
    rollback: str,
) -> str:
    """The ``gonogo rbac`` command that prints what this run needs."""
    words = ["gonogo", "rbac"]
    for t in targets:
        words += ["--target", t]
    words += ["--env", environment]
    if markexpr:
        words += ["-m", markexpr]
    if service_account and service_account != "gonogo":
        words += ["--service-account", service_account]
    if rollback != "plan":
        words += ["--rollback", rollback]
    return shlex.join(words)


__all__ = ["Denied", "check", "grant_command", "service_account_of"]
