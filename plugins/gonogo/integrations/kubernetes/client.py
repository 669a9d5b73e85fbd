"""Kubernetes, read the way a gate should: one list call per kind and namespace.

``KubeClient`` wraps the official client with a timeout on every request, no
retries inside a request, gonogo's own errors (one line each, the library's
frames left out), and a memory of API servers that did not answer, so a silent
cluster costs one timeout per run, not one (or four) per check.
``ClusterSnapshot`` lists each resource kind once and answers every question
a phase's checks ask from that list, so the number of API requests per phase
does not grow with the number of services.

Objects are kept as the API server's JSON (plain dicts), not the client's
generated models: deserialising hundreds of Deployments into models costs more
than the request itself.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from gonogo.errors import ConfigError, ProbeError, RetryableProbeError
from gonogo.integrations.kubernetes import kubeconfig as kubeconfig_file

DEFAULT_TIMEOUT = 10.0
"""Seconds for any single API request."""

# kind -> (API path prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "nodes": ("/api/v1", "nodes", False),
    "storageclasses": ("/apis/storage.k8s.io/v1", "storageclasses", False),
    "pods": ("/api/v1", "pods", True),
    "services": ("/api/v1", "services", True),
    "configmaps": ("/api/v1", "configmaps", True),
    "secrets": ("/api/v1", "secrets", True),
    "serviceaccounts": ("/api/v1", "serviceaccounts", True),
    "persistentvolumeclaims": ("/api/v1", "persistentvolumeclaims", True),
    "events": ("/api/v1", "events", True),
    "deployments": ("/apis/apps/v1", "deployments", True),
    "replicasets": ("/apis/apps/v1", "replicasets", True),
    "networkpolicies": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "ingresses": ("/apis/networking.k8s.io/v1", "ingresses", True),
    "horizontalpodautoscalers": ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    "roles": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "rolebindings": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "jobs": ("/apis/batch/v1", "jobs", True),
    "resourcequotas": ("/api/v1", "resourcequotas", True),
}


FIX = "check kube.kubeconfig/context or the network"

NO_RETRIES = urllib3.Retry(total=0, raise_on_redirect=False)
"""urllib3's default retries ask three more times, which made the documented
10 s timeout 40 s per request. A server that did not answer within the timeout
will not answer a second asking in time either, and one that refused the
connection is down; the memory of silent servers (below) then spares every
later request the wait. Redirects come back as answers."""


class ApiStatusError(ProbeError):
    """The API server answered with an error status."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.status = status


class RetryableApiStatusError(ApiStatusError, RetryableProbeError):
    """429 or 5xx: the same request may succeed later."""


class ApiServerUnreachable(RetryableProbeError):
    """No answer from the API server at all (timed out, refused, not HTTP, TLS)."""


def status_of(error: BaseException) -> int | None:
    """The HTTP status the API server answered, when that is why ``error`` was raised."""
    return error.status if isinstance(error, ApiStatusError) else None


REMEMBER_S = 300.0
"""Seconds an API server that did not answer within the timeout is not asked
again: longer than a phase's checks take to fail against it, short enough that
a server back from a restart is asked again within a long deploy."""

_SILENT: dict[str, tuple[str, float]] = {}
"""Server URL -> (why it did not answer, when), for ``REMEMBER_S``."""
_SILENT_LOCK = threading.Lock()


def forget_unreachable(server: str | None = None) -> None:
    """Ask ``server`` (every server when None) again on the next request: at
    the start of a run, and before a rollback, which is worth one more timeout."""
    with _SILENT_LOCK:
        if server is None:
            _SILENT.clear()
        else:
            _SILENT.pop(server, None)


def unreachable_cause(server: str) -> str | None:
    """Why ``server`` did not answer a request of the last ``REMEMBER_S`` seconds, or None."""
    with _SILENT_LOCK:
        remembered = _SILENT.get(server)
        if remembered is None:
            return None
        cause, since = remembered
        if time.monotonic() - since > REMEMBER_S:
            del _SILENT[server]
            return None
        return cause


def _did_not_answer(error: BaseException) -> bool:
    """A timeout: the failure that costs the whole timeout each time it is asked
    (a refused connection, TLS or protocol error costs nothing to ask again)."""
    reason = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return False
    return isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError)


def _remember(server: str, error: BaseException, cause: str) -> str:
    """``cause``, remembered when ``error`` was a timeout; the cause remembered
    first wins, so concurrent checks all show the same line."""
    if not _did_not_answer(error):
        return cause
    with _SILENT_LOCK:
        return _SILENT.setdefault(server, (cause, time.monotonic()))[0]


def _short(error: BaseException) -> str:
    """An exception's text without urllib3's pool and URL preamble."""
    if isinstance(error, urllib3.exceptions.ProtocolError) and len(error.args) == 2:
        inner = error.args[1]
        text = f"{error.args[0]} {inner.__class__.__name__}: {inner}".strip()
    else:
        text = str(error)
    for marker in ("Failed to establish a new connection: ", "): "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def unreachable_text(server: str, error: BaseException, timeout: float) -> str:
    """One line saying why ``server`` could not be asked, and what to check."""
    reason = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
    reason = reason or error
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        return f"cannot reach the API server {server}: its host name does not resolve; {FIX}"
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return f"cannot reach the API server {server} ({_short(reason)}); is the cluster up? {FIX}"
    if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        return f"API server {server} did not answer within {timeout:g} s (no connection); {FIX}"
    if isinstance(reason, urllib3.exceptions.TimeoutError | TimeoutError):
        return (
            f"API server {server} did not answer within {timeout:g} s (connected, no answer); {FIX}"
        )
    if isinstance(reason, urllib3.exceptions.SSLError | ssl.SSLError):
        return (
            f"API server {server}: TLS failed ({_short(reason)}); check the cluster's "
            f"server URL and certificate-authority in the kubeconfig"
        )
    if isinstance(reason, urllib3.exceptions.ProtocolError | ConnectionError):
        return (
            f"API server {server} broke off or did not answer in HTTP ({_short(reason)}); "
            f"is it the API server's address? {FIX}"
        )
    kind = reason.__class__.__name__
    return f"API server {server} could not be asked ({kind}: {_short(reason)}); {FIX}"


def translate(
    error: Exception, what: str, *, server: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> ProbeError:
    """gonogo's error for a client-library exception, naming what was asked.
    Raise it ``from None``: the library's frames say nothing the line does not."""
    if isinstance(error, ApiException):
        status = error.status or 0
        reason = error.reason or ""
        try:
            message = json.loads(error.body or "{}").get("message", "")
        except (ValueError, AttributeError, TypeError):
            message = ""
        who = f"API server {server}" if server else "API server"
        text = f"{what}: {who} answered {status} {reason}".rstrip() + (
            f": {_one_line(str(message))}" if message else ""
        )
        if status in (401, 403):
            text += "; check the kube context's credentials and RBAC"
        if status == 429 or status >= 500:
            return RetryableApiStatusError(text, status)
        return ApiStatusError(text, status)
    if isinstance(error, urllib3.exceptions.HTTPError | OSError):
        return ApiServerUnreachable(
            f"{what}: {unreachable_text(server or _server_of(error), error, timeout)}"
        )
    return ProbeError(f"{what}: {error.__class__.__name__}: {_one_line(str(error))}")


def _server_of(error: Exception) -> str:
    """The server a urllib3 error was about, from its connection pool."""
    pool = getattr(error, "pool", None)
    if pool is None:
        return "of the kube context"
    port = f":{pool.port}" if pool.port else ""
    return f"{pool.scheme}://{pool.host}{port}"


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


class KubeClient:
    """The Kubernetes API for one target: a timeout on every call, no retries
    inside a call, and an API server that did not answer within the timeout
    remembered (``REMEMBER_S``), so every later call, from this client or
    another, fails at once with the same cause."""

    def __init__(
        self,
        *,
        kubeconfig: Path | None = None,
        context: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.timeout = timeout
        found = kubeconfig_file.read(kubeconfig, context)
        self.context = found.context
        self.kubeconfig = found.source
        configuration = type.__call__(client.Configuration)
        try:
            config.load_kube_config(
                config_file=found.config_file,
                context=found.context,
                client_configuration=configuration,
            )
        except (ConfigException, ValueError, TypeError, KeyError, AttributeError, OSError) as e:
            raise ConfigError(
                f"{found.source}: context {found.context!r} cannot be used "
                f"({_one_line(str(e)) or e.__class__.__name__}); {kubeconfig_file.FIX_FILE}"
            ) from None
        configuration.retries = NO_RETRIES
        self.api = client.ApiClient(configuration=configuration)
        self.host: str = configuration.host

    def close(self) -> None:
        self.api.close()

    @contextmanager
    def _insecure_allowed(self) -> Iterator[None]:
        """A kubeconfig's ``insecure-skip-tls-verify: true`` is the user's
        choice; urllib3 warning about it on every request (an error where
        warnings are errors) is not news to them."""
        if self.api.configuration.verify_ssl:
            yield
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            yield

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any],
        body: Any,
        what: str,
        content_type: str | None = None,
    ) -> dict[str, Any]:
        cause = unreachable_cause(self.host)
        if cause is not None:
            raise ApiServerUnreachable(f"{what}: {cause}")
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            _, url, headers, body, _ = self.api.param_serialize(
                method,
                path,
                query_params=[(k, v) for k, v in query.items() if v is not None],
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            with self._insecure_allowed():
                response = self.api.call_api(
                    method, url, header_params=headers, body=body, _request_timeout=self.timeout
                )
                data = response.read()
            if not 200 <= response.status < 300:
                raise ApiException(http_resp=response.response)
        except ApiException as e:
            raise translate(e, what, server=self.host) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            cause = _remember(self.host, e, unreachable_text(self.host, e, self.timeout))
            raise ApiServerUnreachable(f"{what}: {cause}") from None
        try:
            decoded = json.loads(data or b"{}")
        except ValueError:
            raise ProbeError(
                f"{what}: API server {self.host} answered {response.status} with something "
                f"that is not JSON; is it the API server's address? {FIX}"
            ) from None
        if not isinstance(decoded, dict):
            raise ProbeError(
                f"{what}: API server {self.host} answered a JSON {type(decoded).__name__}, "
                f"not an object; is it the API server's address? {FIX}"
            )
        return decoded

    def get(self, path: str, *, what: str | None = None, **query: Any) -> dict[str, Any]:
        """GET ``path`` and return the decoded JSON."""
        return self._call("GET", path, query=query, body=None, what=what or f"GET {path}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        what: str,
        content_type: str = "application/json",
        **query: Any,
    ) -> dict[str, Any]:
        """Any other verb; ``body`` is JSON-encoded unless it is already text."""
        return self._call(
            method, path, query=query, body=body, what=what, content_type=content_type
        )

    def list_all(
        self, kind: str, namespace: str | None = None, **query: Any
    ) -> list[dict[str, Any]]:
        """Every object of ``kind`` (in ``namespace`` when namespaced), one request
        per page of 500."""
        prefix, plural, namespaced = KINDS[kind]
        path = (
            f"{prefix}/namespaces/{namespace}/{plural}"
            if namespaced and namespace
            else f"{prefix}/{plural}"
        )
        items: list[dict[str, Any]] = []
        cont = None
        while True:
            paging = {"limit": 500, "continue": cont}
            page = self.get(
                path,
                what=f"list {kind}" + (f" in {namespace}" if namespace else ""),
                **paging,
                **query,
            )
            items.extend(page.get("items", []))
            cont = page.get("metadata", {}).get("continue")
            if not cont:
                return items

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)


def client_for(target: Any, kube_context: str | None = None) -> KubeClient:
    """The client for a target: its kubeconfig, and --kube-context over its context."""
    kube = getattr(target, "kube", None)
    return KubeClient(
        kubeconfig=getattr(kube, "kubeconfig", None),
        context=kube_context or getattr(kube, "context", None),
    )


# -- views over raw objects ---------------------------------------------------
