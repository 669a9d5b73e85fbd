"""The sections of a target file that describe the systems a release touches.

Each class here is one block of the file (``kube``, ``registry``, ``services``,
``redis``, ``monitoring``, ``ingress``, ``external_apis``, ``github``,
``release_notes``, ``security_scan``, ``records``): its fields, their defaults
and the checks that need only the block itself. Checks across blocks (a
``depends_on`` naming a service) belong to :mod:`gonogo.model.target.root`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from gonogo.model.target.values import (
    ExistingFile,
    FieldProblem,
    FilePath,
    Fraction,
    HttpUrl,
    Name,
    RedisUrl,
    Seconds,
    SecretRef,
    StrictModel,
    UrlPath,
    WorkPath,
)


class Kube(StrictModel):
    """How to reach the cluster."""

    kubeconfig: FilePath | None = None
    """Default: the client's usual lookup (KUBECONFIG, ~/.kube/config)."""
    context: str | None = None
    """Default: the kubeconfig's current context; ``--kube-context`` overrides."""


class Registry(StrictModel):
    """The OCI registry the release's images are pushed to."""

    url: HttpUrl
    """Base of the OCI distribution API, e.g. https://ghcr.io."""
    repository_prefix: str
    """Image name prefix used in manifests, e.g. ghcr.io/sophia-ai."""
    auth: SecretRef | None = None
    ca_bundle: ExistingFile | None = None
    insecure_http: bool = False
    """Allow a plain-http registry (loopback sandboxes only)."""

    @model_validator(mode="after")
    def _http_needs_consent(self) -> Registry:
        if self.url.startswith("http://") and not self.insecure_http:
            raise FieldProblem("is plain http; use https or set insecure_http: true", ("url",))
        return self


class Service(StrictModel):
    """One Deployment of the system and how to deploy and probe it."""

    name: Name
    deployment: Name | None = None
    """Deployment name; default: the service name."""
    container: str | None = None
    """Container whose image the release sets; default: the Deployment's only one."""
    image: str | None = None
    """Repository name without registry or tag; None for an image the release does
    not build (e.g. Redis runs an upstream image)."""
    tier: str = "core"
    """The target's own word for the group the service deploys with; when no
    service of the target names one, tiers come from the dependency graph."""
    depends_on: list[Name] = Field(default_factory=list)
    health_path: UrlPath | None = None
    version_path: UrlPath | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    rollout_timeout_s: Seconds = 300.0
    critical: bool = True
    dashboard: bool | None = None
    """Whether the service serves the UI the dashboard check opens; unset on
    every service: the one whose name says dashboard, if any."""

    @property
    def deployment_name(self) -> str:
        return self.deployment or self.name


class Redis(StrictModel):
    """The system's Redis, and the keys gonogo reads and writes there."""

    url: RedisUrl
    password: SecretRef | None = None
    key_prefix: str = "gonogo:"
    """Prefix of the keys gonogo itself writes (round trips, recorded checksums)."""
    test_prefixes: list[str] = Field(default_factory=list)
    """Key prefixes of staging test data; a clean staging has none."""
    consistency_keys: list[str] = Field(default_factory=list)
    """Keys whose checksums must survive the release."""
    seed_data: dict[str, str] = Field(default_factory=dict)
    """Test data written by the staging "Test data prepared" step."""
    timeout_s: Seconds = 5.0


class Monitoring(StrictModel):
    """Each URL is optional: an absent one means that system does not exist here."""

    prometheus: HttpUrl | None = None
    alertmanager: HttpUrl | None = None
    grafana: HttpUrl | None = None
    loki: HttpUrl | None = None
    required_targets_up_ratio: Fraction = 1.0
    grafana_token: SecretRef | None = None
    error_log_paths: list[FilePath] = Field(default_factory=list)
    """Log files the emergency "Assess impact" step searches for errors."""
    timeout_s: Seconds = 5.0


class TlsHost(StrictModel):
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    ca_bundle: ExistingFile | None = None
    """Trust this CA instead of the system store (private or sandbox CAs)."""


class Ingress(StrictModel):
    base_url: HttpUrl | None = None
    """Where ``/<service>/health`` lives; environments may override it."""
    tls_hosts: list[TlsHost] = Field(default_factory=list)


class ExternalApi(StrictModel):
    """A third-party API the integration services depend on."""

    name: str
    url: HttpUrl
    health_path: UrlPath = "/"
    timeout_s: Seconds = 5.0
    token: SecretRef | None = None
    environment_urls: dict[str, HttpUrl] = Field(default_factory=dict)
    """Endpoint per environment where it differs (staging must use staging endpoints)."""
    used_by: list[Name] = Field(default_factory=list)
    """Services that call this API."""

    def url_for(self, environment: str) -> str:
        return self.environment_urls.get(environment, self.url)


class GitHub(StrictModel):
    """Where the release's code review and CI results live."""

    api_url: HttpUrl
    repository: str
    token: SecretRef | None = None
    release_ref: str | None = None
    """Commit sha or tag of the release; default: the release tag."""
    pull_request: int | None = Field(default=None, ge=1)

    @field_validator("repository")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", value):
            raise ValueError(f"{value!r} is not owner/name")
        return value


class ReleaseNotes(StrictModel):
    path: FilePath | None = None
    github_release: bool = False

    @model_validator(mode="after")
    def _somewhere(self) -> ReleaseNotes:
        if self.path is None and not self.github_release:
            raise ValueError("name a path or set github_release: true")
        return self


class SecurityScan(StrictModel):
    report: FilePath
    format: Literal["trivy", "sarif"] = "trivy"


class Records(StrictModel):
    """Where run records are kept (``gonogo.integrations.records``): later runs read them as
    proof, so every job of a pipeline must name the same store."""

    store: Literal["directory", "kubernetes"] = "directory"
    path: WorkPath | None = None
    """directory store: where the records go; default ``<reports dir>/records``."""
    namespace: Name | None = None
    """kubernetes store: the namespace holding one ConfigMap per record."""

    @model_validator(mode="after")
    def _fields_of_the_store(self) -> Records:
        if self.store == "kubernetes" and self.namespace is None:
            raise FieldProblem(
                "the kubernetes store needs a namespace, e.g. namespace: gonogo-records",
                ("namespace",),
            )
        if self.store == "kubernetes" and self.path is not None:
            raise FieldProblem(
                "is for the directory store; remove it or set store: directory", ("path",)
            )
        if self.store == "directory" and self.namespace is not None:
            raise FieldProblem(
                "is for the kubernetes store; remove it or set store: kubernetes",
                ("namespace",),
            )
        return self
