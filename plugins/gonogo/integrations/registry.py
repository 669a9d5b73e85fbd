"""Image existence and digests, asked of the registry through the OCI
distribution API (``HEAD /v2/<repository>/manifests/<tag>``).

A HEAD answers with the manifest's digest without downloading anything, so
checking every service's image costs one small request each, run
concurrently. Credentials come by reference (the target's ``registry.auth``)
and are sent as a bearer token; a registry that answers 401 with a token
service challenge gets the standard token exchange first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from gonogo.errors import ConfigError
from gonogo.integrations.http.client import tls_verify
from gonogo.integrations.secrets import SecretResolver, SecretUnavailable, resolver_for

ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
TIMEOUT = 10.0
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ImageRef:
    """``host[:port]/repository:tag`` or ``...@sha256:...`` split in parts."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        digest = None
        if "@" in ref:
            ref, digest = ref.split("@", 1)
        tag = None
        last = ref.rsplit("/", 1)[-1]
        if ":" in last:
            ref, tag = ref.rsplit(":", 1)
        host, _, repository = ref.partition("/")
        if not repository or ("." not in host and ":" not in host and host != "localhost"):
            host, repository = "docker.io", ref
        return cls(host, repository, tag if tag or digest else "latest", digest)

    @property
    def reference(self) -> str:
        """What the manifest request names: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        text += f":{self.tag}" if self.tag else ""
        return text + (f"@{self.digest}" if self.digest else "")


@dataclass
class ManifestCheck:
    """One HEAD: did the registry serve the manifest, and under which digest."""

    image: str
    status: int | None
    digest: str | None
    error: str | None = None

    @property
    def exists(self) -> bool:
        return self.status == 200 and self.digest is not None

    def row(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "status": self.status if self.status is not None else "-",
            "digest": self.digest or "",
            "error": self.error or "",
        }


class RegistryClient:
    """The OCI distribution API of one registry."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        ca_bundle: Path | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.url = url.rstrip("/")
        self.host = urlsplit(self.url).netloc
        self._token = token
        self._bearer: dict[str, str] = {}
        self._client = httpx.Client(
            timeout=timeout, verify=tls_verify(ca_bundle, True), follow_redirects=True
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self, image: str) -> ManifestCheck:
        """HEAD the manifest of ``image``; never raises for a network problem,
        the check carries the error instead."""
        ref = ImageRef.parse(image)
        path = f"/v2/{ref.repository}/manifests/{ref.reference}"
        try:
            response = self._request("HEAD", path, ref.repository)
        except httpx.HTTPError as e:
            return ManifestCheck(
                image, None, None, f"cannot reach {self.url} ({e.__class__.__name__}: {e})"
            )
        digest = response.headers.get("Docker-Content-Digest")
        error = None
        if response.status_code == 404:
            error = "manifest unknown: the tag is not in the registry; push it"
        elif response.status_code in (401, 403):
            error = f"{response.status_code}: check registry.auth in the target"
        elif response.status_code != 200:
            error = f"registry answered {response.status_code}"
        elif digest is None:
            error = "no Docker-Content-Digest header in the answer"
        return ManifestCheck(image, response.status_code, digest, error)

    def head_all(self, images: Sequence[str], *, workers: int = 8) -> list[ManifestCheck]:
        """Concurrent HEADs, answers in the order asked."""
        if not images:
            return []
        with ThreadPoolExecutor(max_workers=min(workers, len(images))) as pool:
            return list(pool.map(self.head, images))

    def _request(self, method: str, path: str, repository: str) -> httpx.Response:
        headers = {"Accept": ACCEPT}
        bearer = self._bearer.get(repository) or self._token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = self._client.request(method, self.url + path, headers=headers)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code == 401 and challenge.lower().startswith("bearer "):
            token = self._exchange(challenge, repository)
            if token:
                self._bearer[repository] = token
                headers["Authorization"] = f"Bearer {token}"
                response = self._client.request(method, self.url + path, headers=headers)
        return response

    def _exchange(self, challenge: str, repository: str) -> str | None:
        """The registry token service's answer for pulling ``repository``."""
        params = dict(_CHALLENGE.findall(challenge))
        realm = params.pop("realm", None)
        if not realm:
            return None
        params.setdefault("scope", f"repository:{repository}:pull")
        auth = ("gonogo", self._token) if self._token else None
        response = self._client.get(realm, params=params, auth=auth)
        if response.status_code != 200:
            return None
        body = response.json()
        token = body.get("token") or body.get("access_token")
        return str(token) if token else None


def client_for(
    target: Any,
    environment: str | None = None,
    *,
    kube_context: str | None = None,
    secrets: SecretResolver | None = None,
) -> RegistryClient:
    """The registry client of a target's ``registry`` section; its ``auth``
    reference is read through ``secrets`` (default: the target's resolver for
    ``environment``, through ``kube_context`` when it names a Secret)."""
    registry = getattr(target, "registry", None)
    if registry is None:
        raise ConfigError("the target has no registry section; add registry.url")
    token = None
    if registry.auth is not None:
        resolver = secrets or resolver_for(target, environment, kube_context=kube_context)
        try:
            token = resolver.resolve(registry.auth)
        except SecretUnavailable as e:
            raise SecretUnavailable(f"registry credentials: {e}") from None
        finally:
            if secrets is None:
                resolver.close()
    return RegistryClient(registry.url, token=token, ca_bundle=registry.ca_bundle)
