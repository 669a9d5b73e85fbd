"""Who may read which Secret, asked of the API server's own authorizer.

Reading RBAC objects and reasoning about them misses aggregated roles,
webhooks and other authorizers; a SubjectAccessReview asks the authorizer
itself, exactly as it would decide a real request."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gonogo.integrations.kubernetes.client import KubeClient

SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


@dataclass(frozen=True)
class AccessAnswer:
    user: str
    verb: str
    resource: str
    name: str | None
    namespace: str
    allowed: bool
    reason: str

    def row(self) -> dict[str, Any]:
        target = f"{self.resource}/{self.name}" if self.name else self.resource
        return {
            "subject": self.user,
            "may": f"{self.verb} {target}",
            "allowed": self.allowed,
            "reason": self.reason,
        }


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def can(
    kube: KubeClient, user: str, verb: str, resource: str, namespace: str, name: str | None = None
) -> AccessAnswer:
    """Whether ``user`` (with the service-account groups) may ``verb`` the resource."""
    groups = ["system:authenticated"]
    if user.startswith("system:serviceaccount:"):
        groups += ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    attributes: dict[str, Any] = {"namespace": namespace, "verb": verb, "resource": resource}
    if name:
        attributes["name"] = name
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups, "resourceAttributes": attributes},
    }
    answer = kube.request("POST", SAR_PATH, review, what=f"SubjectAccessReview for {user}")
    status = answer.get("status") or {}
    return AccessAnswer(
        user,
        verb,
        resource,
        name,
        namespace,
        bool(status.get("allowed")),
        str(status.get("reason") or status.get("evaluationError") or ""),
    )


def ask_all(
    kube: KubeClient, questions: list[tuple[str, str, str, str, str | None]]
) -> list[AccessAnswer]:
    """Many reviews at once: (user, verb, resource, namespace, name) each."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda q: can(kube, q[0], q[1], q[2], q[3], q[4]), questions))


def referenced_secrets(pod_spec: dict[str, Any]) -> set[str]:
    """Secrets a pod template uses: env, envFrom, volumes, projected volumes,
    image pull secrets."""
    names: set[str] = set()
    for container in _containers(pod_spec):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref and ref.get("name"):
                names.add(ref["name"])
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref and ref.get("name"):
                names.add(ref["name"])
    for volume in pod_spec.get("volumes") or []:
        if (volume.get("secret") or {}).get("secretName"):
            names.add(volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name"):
                names.add(source["secret"]["name"])
    for pull in pod_spec.get("imagePullSecrets") or []:
        if pull.get("name"):
            names.add(pull["name"])
    return names


def required_secrets(pod_spec: dict[str, Any]) -> set[str]:
    """The referenced Secrets without which the pod cannot start (not ``optional``)."""
    names: set[str] = set()
    for container in _containers(pod_spec):
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref and ref.get("name") and not ref.get("optional"):
                names.add(ref["name"])
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if ref and ref.get("name") and not ref.get("optional"):
                names.add(ref["name"])
    for volume in pod_spec.get("volumes") or []:
        secret = volume.get("secret") or {}
        if secret.get("secretName") and not secret.get("optional"):
            names.add(secret["secretName"])
    return names


def _containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers") or []
    yield from pod_spec.get("containers") or []
