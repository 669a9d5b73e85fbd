"""What a check may do to Kubernetes, as it declares it, and what that asks of RBAC.

A check states its access in sentences, one verb list and one resource list
each, the way ``kubectl auth can-i`` reads::

    @pytest.mark.kube_access("list nodes,storageclasses", "list pods in all namespaces")
    @pytest.mark.kube_access("get,patch deployments", "watch deployments")

Namespaced resources are in the environment's namespace unless the sentence
ends with ``in all namespaces``; cluster-scoped ones (nodes, namespaces,
storageclasses...) need no namespace. The verbs are RBAC's own, so a sentence
becomes one rule with nothing added: a server-side dry run (``dryRun=All``) is
authorized as the real verb, which is why a mutating check declares the verbs
it would use with ``--execute`` whether or not it is given.

The resource table below names each resource's API group and scope. It is
deliberately a table, not discovery: ``gonogo rbac`` renders manifests
without reaching the cluster, and a resource not in it is a declaration error
that says how to name it (``plural.group``, as kubectl does)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gonogo.errors import ConfigError

MARKER = "kube_access"
MARKER_HELP = (
    "kube_access(*sentences): what the check reads and changes in Kubernetes, one sentence "
    "each: 'VERB[,VERB] RESOURCE[,RESOURCE] [in all namespaces]' with RBAC verbs "
    "(get, list, watch, create, patch, update, delete, bind, escalate); "
    "namespaced resources are in the environment's namespace; 'restorable' names every "
    "kind a backup of the namespace holds. 'gonogo rbac' derives the "
    "ServiceAccount's Roles from these, and a run whose account lacks one is refused before "
    'anything changes. Example: @pytest.mark.kube_access("list nodes", "get,patch '
    'deployments"). Provided by gonogo.'
)

VERBS = ("get", "list", "watch", "create", "patch", "update", "delete", "bind", "escalate")
"""RBAC verbs a check may declare, in the order rules print them. ``bind`` and
``escalate`` (on roles) are what applying Roles and RoleBindings asks for when
the account does not itself hold every permission they grant."""

ALL_NAMESPACES = "in all namespaces"

KUBE_FIXTURES = frozenset({"kube", "cluster", "running_release"})
"""Fixtures that reach the Kubernetes API: a check whose fixture closure holds
one must declare its access."""


@dataclass(frozen=True)
class Resource:
    """An API resource as RBAC names it."""

    plural: str
    group: str
    """API group; "" for the core group."""
    namespaced: bool


def _table(group: str, namespaced: bool, *plurals: str) -> dict[str, Resource]:
    suffix = f".{group}" if group else ""
    return {p + suffix: Resource(p, group, namespaced) for p in plurals}


RESOURCES: dict[str, Resource] = {
    **_table(
        "",
        True,
        "pods",
        "services",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "persistentvolumeclaims",
        "events",
        "resourcequotas",
        "limitranges",
        "endpoints",
        "replicationcontrollers",
        "podtemplates",
    ),
    **_table("", False, "nodes", "namespaces", "persistentvolumes"),
    **_table(
        "apps",
        True,
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "controllerrevisions",
    ),
    **_table("batch", True, "jobs", "cronjobs"),
    **_table("networking.k8s.io", True, "networkpolicies", "ingresses"),
    **_table("autoscaling", True, "horizontalpodautoscalers"),
    **_table("policy", True, "poddisruptionbudgets"),
    **_table("discovery.k8s.io", True, "endpointslices"),
    **_table("coordination.k8s.io", True, "leases"),
    **_table("rbac.authorization.k8s.io", True, "roles", "rolebindings"),
    **_table("storage.k8s.io", False, "storageclasses"),
    **_table("metrics.k8s.io", True, "pods"),
    **_table("metrics.k8s.io", False, "nodes"),
    **_table("authorization.k8s.io", False, "subjectaccessreviews"),
    **_table("velero.io", True, "backups"),
    **_table("cert-manager.io", True, "certificates", "issuers"),
    **_table("cert-manager.io", False, "clusterissuers"),
    **_table("monitoring.coreos.com", True, "prometheusrules", "servicemonitors", "podmonitors"),
}
"""Resources a declaration may name: core resources by plural, others by
plural alone when unambiguous or as ``plural.group``."""

RESTORABLE = "restorable"
"""Every namespaced kind the API server serves that can be listed and created
(CRDs included), less events, leases and endpoints: what a backup of the
namespace holds (``gonogo.integrations.kubernetes.backup_writer``). Which kinds those are only
the cluster's discovery knows, so ``gonogo rbac`` and the preflight ask it and
name each kind in the rules; the word is never granted as such."""
RESOURCES[RESTORABLE] = Resource(RESTORABLE, "", True)

_SHORT: dict[str, str] = {}
for _name, _res in RESOURCES.items():
    if "." in _name and _res.plural not in RESOURCES:
        _SHORT.setdefault(_res.plural, _name)


def resource(name: str) -> Resource:
    """The resource a declaration names; ConfigError listing what is known otherwise."""
    found = RESOURCES.get(name) or RESOURCES.get(_SHORT.get(name, ""))
    if found is None:
        known = ", ".join(sorted(RESOURCES))
        raise ConfigError(
            f"unknown resource {name!r}; name it as RBAC does (plural, or plural.group for a "
            f"resource outside the core group); known: {known}"
        )
    return found


@dataclass(frozen=True, order=True)
class Need:
    """One permission a run needs: RBAC's verb on a resource, in a namespace
    (None: cluster-wide, for a cluster-scoped resource or across all namespaces)."""

    namespace: str | None
    group: str
    plural: str
    verb: str
    name: str | None = None
    """One object only (RBAC's resourceNames), e.g. the Secret a credential
    reference names; None: every object of the resource."""

    @property
    def resource_name(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def describe(self) -> str:
        """``list pods in namespace sophia``: as the refusal and the comments say it."""
        if self.namespace is not None:
            where = f" in namespace {self.namespace}"
        elif RESOURCES.get(self.resource_name, Resource("", "", False)).namespaced:
            where = " in all namespaces"
        else:
            where = " (cluster-wide)"
        what = f"{self.resource_name}/{self.name}" if self.name else self.resource_name
        return f"{self.verb} {what}{where}"


@dataclass(frozen=True)
class Sentence:
    """One parsed declaration sentence."""

    verbs: tuple[str, ...]
    resources: tuple[Resource, ...]
    all_namespaces: bool

    def needs(self, namespace: str) -> set[Need]:
        """The permissions the sentence asks for, in ``namespace`` where namespaced."""
        return {
            Need(
                namespace if r.namespaced and not self.all_namespaces else None,
                r.group,
                r.plural,
                verb,
            )
            for r in self.resources
            for verb in self.verbs
        }


def parse(text: Any) -> Sentence:
    """A declaration sentence; ConfigError naming the form and an example otherwise."""
    form = (
        "write 'VERB[,VERB] RESOURCE[,RESOURCE] [in all namespaces]', "
        "e.g. 'get,list deployments' or 'list pods in all namespaces'"
    )
    if not isinstance(text, str):
        raise ConfigError(f"kube_access takes sentences (strings), not {text!r}; {form}")
    words = text.split()
    all_namespaces = text.strip().endswith(ALL_NAMESPACES)
    if all_namespaces:
        words = words[: -len(ALL_NAMESPACES.split())]
    if len(words) != 2:
        raise ConfigError(
            f"kube_access sentence {text!r} is not one verb list and one resource list; {form}"
        )
    verbs = tuple(v for v in words[0].split(",") if v)
    bad = [v for v in verbs if v not in VERBS]
    if bad or not verbs:
        raise ConfigError(
            f"kube_access sentence {text!r}: {', '.join(bad) or 'no verb'} is not an RBAC verb "
            f"gonogo grants ({', '.join(VERBS)}); {form}"
        )
    resources = tuple(resource(r) for r in words[1].split(",") if r)
    if not resources:
        raise ConfigError(f"kube_access sentence {text!r} names no resource; {form}")
    if all_namespaces and not all(r.namespaced for r in resources):
        cluster = [r.plural for r in resources if not r.namespaced]
        raise ConfigError(
            f"kube_access sentence {text!r}: {', '.join(cluster)} is cluster-scoped; "
            f"drop '{ALL_NAMESPACES}' for it"
        )
    return Sentence(verbs, resources, all_namespaces)


def needs_of(sentences: Iterable[Any], namespace: str) -> set[Need]:
    """Every permission the sentences of one check ask for."""
    found: set[Need] = set()
    for text in sentences:
        found |= parse(text).needs(namespace)
    return found


# -- what the run itself does, besides its checks ------------------------------

RECORDS_VERBS = ("list", "create")
"""A run reads earlier runs' records (list) and keeps its own (create)."""

ROLLBACK_PLAN = ("list deployments,replicasets",)
"""Planning a rollback reads each Deployment and its revisions (ReplicaSets)."""

ROLLBACK_RUN = (
    "list deployments,replicasets",
    "patch deployments",
    "watch deployments",
)
"""Running it patches each Deployment back to a revision and watches the rollouts."""

ROLLBACK_STAGES = frozenset({"deploy", "postdeploy"})
"""Stages whose failures the environments' rollback criteria act on."""


def records_needs(target: Any) -> set[Need]:
    """What the target's record store asks of the cluster: ConfigMaps in its
    namespace when the store is ``kubernetes``, nothing for a directory."""
    settings = getattr(target, "records", None)
    if getattr(settings, "store", None) != "kubernetes":
        return set()
    namespace = str(settings.namespace)  # type: ignore[union-attr]
    return {Need(namespace, "", "configmaps", verb) for verb in RECORDS_VERBS}


def secret_ref_needs(target: Any, namespace: str) -> set[Need]:
    """``get`` on exactly the Secrets the target's credential references name
    (``{secret: {name, key[, namespace]}}``), in their namespace or the
    environment's: nothing broader, because a credential is read by name."""
    refs = getattr(target, "secret_refs", None)
    if refs is None:
        return set()
    return {
        Need(ref.secret.namespace or namespace, "", "secrets", "get", ref.secret.name)
        for ref in refs()
        if ref.secret is not None
    }


def rollback_needs(stages: Iterable[str], mode: str, namespace: str) -> set[Need]:
    """What a rollback of the selected stages asks for under ``--rollback mode``."""
    if mode == "off" or not ROLLBACK_STAGES & set(stages):
        return set()
    return needs_of(ROLLBACK_RUN if mode == "auto" else ROLLBACK_PLAN, namespace)


__all__ = [
    "ALL_NAMESPACES",
    "KUBE_FIXTURES",
    "MARKER",
    "MARKER_HELP",
    "RESOURCES",
    "VERBS",
    "Need",
    "Resource",
    "Sentence",
    "needs_of",
    "parse",
    "records_needs",
    "resource",
    "rollback_needs",
    "secret_ref_needs",
]
