"""Credentials read from where a target's references say they are.

A target never holds a credential; it holds a reference (``{env: NAME}``,
``{file: PATH}`` or ``{secret: {name, key, namespace}}``). Every client that
needs one (workflows, the registry, webhooks, Redis, the suites' APIs) reads it
through :class:`SecretResolver`, so each form is read the same way everywhere,
a value that cannot be read fails as one line naming where it was looked for
and how to fix that, and every value is registered with the redactor before
any caller sees it.

The model (:class:`gonogo.model.target.SecretRef`) only says where a value is:
reading a Kubernetes Secret needs the cluster client, which the model may not
import. The client is made only when a Secret reference is resolved, so a run
whose credentials all come from the environment never touches the cluster for
them. A Secret is read with one GET under the kube client's timeout, like any
other Kubernetes call.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gonogo.errors import ConfigError, ProbeError
from gonogo.model.target import SecretRef
from gonogo.redact import redactor

if TYPE_CHECKING:
    from gonogo.integrations.kubernetes.client import KubeClient


class SecretUnavailable(ProbeError):
    """A referenced credential could not be read; the message names where it
    was looked for and the fix, never a value."""


class SecretResolver:
    """Reads the value behind a :class:`SecretRef`.

    ``namespace`` is where a Secret reference without its own ``namespace``
    is looked up (the environment's namespace). ``kube`` is the cluster client,
    or a function that makes one when the first Secret is read; without it a
    Secret reference cannot be read and says so."""

    def __init__(
        self,
        *,
        namespace: str | None = None,
        kube: KubeClient | Callable[[], KubeClient] | None = None,
    ) -> None:
        self.namespace = namespace
        self._kube = kube
        self._owned: KubeClient | None = None

    def resolve(self, ref: SecretRef) -> str:
        """The value ``ref`` points at, registered with the redactor; raises
        :class:`SecretUnavailable` when it cannot be read."""
        if ref.env is not None:
            value = _from_env(ref.env)
        elif ref.file is not None:
            value = _from_file(ref.file)
        else:
            value = self._from_secret(ref)
        redactor.add_secret(value)
        return value

    def close(self) -> None:
        """Close the cluster client this resolver made itself, if any."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    def __enter__(self) -> SecretResolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _client(self, where: str) -> KubeClient:
        from gonogo.integrations.kubernetes.client import KubeClient

        if isinstance(self._kube, KubeClient):
            return self._kube
        if self._owned is not None:
            return self._owned
        if self._kube is None:
            raise SecretUnavailable(
                f"{where}: no cluster to read it from here; resolve it with "
                "gonogo.integrations.secrets.resolver_for(target, environment)"
            )
        try:
            self._owned = self._kube()
        except ConfigError as e:
            raise SecretUnavailable(f"{where}: cannot reach the cluster: {e}") from None
        return self._owned

    def _from_secret(self, ref: SecretRef) -> str:
        assert ref.secret is not None
        name, key = ref.secret.name, ref.secret.key
        namespace = ref.secret.namespace or self.namespace
        if namespace is None:
            raise SecretUnavailable(
                f"Secret {name} key {key}: no namespace to look in; write "
                f"secret: {{name: {name}, key: {key}, namespace: NS}} or run with --env"
            )
        where = f"Secret {namespace}/{name} key {key}"
        kube = self._client(where)
        try:
            secret = kube.get(
                f"/api/v1/namespaces/{namespace}/secrets/{name}", what=f"read {where}"
            )
        except ProbeError as e:
            raise SecretUnavailable(_secret_problem(e, where, namespace, name, key)) from None
        data = secret.get("data") or {}
        if key not in data:
            keys = ", ".join(sorted(data)) or "none"
            raise SecretUnavailable(
                f"{where}: the Secret has no key {key!r} (keys: {keys}); fix secret.key "
                f"in the target or add the key: kubectl -n {namespace} patch secret {name} ..."
            )
        try:
            return base64.b64decode(str(data[key]), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise SecretUnavailable(
                f"{where}: the value is not base64 of UTF-8 text; store the credential as text"
            ) from None


def _secret_problem(error: ProbeError, where: str, namespace: str, name: str, key: str) -> str:
    from gonogo.integrations.kubernetes.client import status_of

    status = status_of(error)
    if status == 404:
        return (
            f"{where}: no Secret {name!r} in namespace {namespace!r}; create it "
            f"(kubectl -n {namespace} create secret generic {name} --from-literal={key}=...) "
            "or fix secret.name/namespace in the target"
        )
    if status in (401, 403):
        return (
            f"{where}: the kube context may not read it ({status}); grant 'get' on "
            f"secrets in namespace {namespace} to the context's user (see gonogo rbac)"
        )
    return str(error)


def _from_env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise SecretUnavailable(f"environment variable {name} is not set; export it before the run")
    return value


def _from_file(path: Path) -> str:
    """The file's text without its trailing newline. A file group or others
    may read is refused: a credential there is already leaked to them."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SecretUnavailable(
            f"file {path} does not exist; create it (chmod 600) or fix the path, "
            "which is relative to the target file"
        ) from None
    except OSError as e:
        raise SecretUnavailable(f"file {path} cannot be read: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        raise SecretUnavailable(f"file {path} is not a regular file; name the file itself")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretUnavailable(
            f"file {path} is readable by group or others (mode {stat.S_IMODE(mode):o}); "
            f"run chmod 600 {path}"
        )
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SecretUnavailable(f"file {path} cannot be read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SecretUnavailable(f"file {path} is not UTF-8 text; save it as UTF-8") from None
    value = text.rstrip("\r\n")
    if not value:
        raise SecretUnavailable(f"file {path} is empty; write the credential into it")
    return value


def resolver_for(
    target: Any, environment: str | None = None, *, kube_context: str | None = None
) -> SecretResolver:
    """The resolver for ``target`` in ``environment``: Secrets without a
    namespace are looked up in the environment's namespace, through the
    target's cluster (``kube_context`` over its own context), made on first use."""
    namespace = None
    if environment is not None:
        namespace = getattr(target, "namespaces", {}).get(environment)

    def make() -> KubeClient:
        from gonogo.integrations.kubernetes.client import client_for

        return client_for(target, kube_context)

    return SecretResolver(namespace=namespace, kube=make)


def resolve(
    ref: SecretRef,
    *,
    target: Any = None,
    environment: str | None = None,
    kube_context: str | None = None,
) -> str:
    """One value, read once: :meth:`SecretResolver.resolve` with the resolver
    of ``target`` (or, without a target, one that reads env and file only)."""
    resolver = (
        resolver_for(target, environment, kube_context=kube_context)
        if target is not None
        else SecretResolver()
    )
    with resolver:
        return resolver.resolve(ref)
