"""The target file: one YAML description of the system a release is checked against.

Every check reads its addresses, limits and policies from here, so the model is
strict: unknown keys are refused, references between sections (``depends_on``,
workflow environments, placeholders) are resolved at load time, and every
problem becomes a :class:`~gonogo.errors.ConfigError` that names the file, the
line and the fix. Credentials are never written in the file; a field that holds
one takes a reference (``{env: NAME}``, ``{file: PATH}`` or ``{secret: {name,
key}}``) and a plain string there is refused.

This module holds the :class:`Target` itself: its sections, the checks that
span sections, and the lookups checks use. The value types, the sections, the
environment policy, workflows, the dependency sort, the error wording and the
loader each have their own module in this package.

Paths written in the file are relative to the file's directory; the run's own
output directories (``load_results_dir``, ``backups_dir``) are relative to the
working directory, like pytest's ``--junitxml``. Paths and URLs may use ``~``
and ``${VAR}`` / ``${VAR:-default}``.

A secret can reach a string of the target without a reference, through
``${VAR}`` in a URL; so the redactor learns, as the file loads, the value of
every ``${VAR}`` whose name reads like a credential (``*_TOKEN``, ``*_PASSWORD``,
``*_SECRET``, ``*_KEY``, ``*_AUTH``, ``*_CREDENTIALS``) and of every variable the
target references as a secret, and every value a reference resolves to.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from gonogo.errors import ConfigError
from gonogo.model.target.environment import Environment, LoadProfile, RollbackCriteria
from gonogo.model.target.graph import dependency_order
from gonogo.model.target.sections import (
    ExternalApi,
    GitHub,
    Ingress,
    Kube,
    Monitoring,
    Records,
    Redis,
    Registry,
    ReleaseNotes,
    SecurityScan,
    Service,
)
from gonogo.model.target.values import (
    FieldProblem,
    FilePath,
    Name,
    SecretRef,
    StrictModel,
    Tag,
    WorkPath,
    did_you_mean,
)
from gonogo.model.target.workflows import Workflow

SYSTEMS: tuple[str, ...] = (
    "kube",
    "registry",
    "redis",
    "prometheus",
    "alertmanager",
    "grafana",
    "loki",
    "ingress",
    "tls",
    "github",
    "release_notes",
    "security_scan",
    "configmaps",
    "dashboard",
    "external_apis",
)
"""Names an environment may list under ``absent`` (besides external API names);
``external_apis`` marks every external API absent at once."""


class Target(StrictModel):
    """One system to check, as described by its target file."""

    name: str
    description: str = ""
    release: Tag
    previous_release: Tag | None = None
    """The release a rollback returns to."""
    kube: Kube = Field(default_factory=Kube)
    namespaces: dict[str, Name] = Field(min_length=1)
    """Environment -> Kubernetes namespace."""
    registry: Registry | None = None
    services: list[Service] = Field(min_length=1)
    redis: Redis | None = None
    monitoring: Monitoring = Field(default_factory=Monitoring)
    ingress: Ingress = Field(default_factory=Ingress)
    external_apis: list[ExternalApi] = Field(default_factory=list)
    github: GitHub | None = None
    release_notes: ReleaseNotes | None = None
    security_scan: SecurityScan | None = None
    manifests_dir: FilePath | None = None
    secrets_dir: FilePath | None = None
    load_results_dir: WorkPath | None = None
    """Where load results are kept; default: ``<reports dir>/load`` (``--reports-dir``)."""
    backups_dir: WorkPath | None = None
    """Where pre-deployment backups are kept; default: ``<reports dir>/backups``."""
    records: Records = Field(default_factory=Records)
    """Where run records are kept; default: a directory store in ``<reports dir>/records``."""
    environments: dict[str, Environment] = Field(min_length=1)
    workflows: list[Workflow] = Field(default_factory=list)

    _source: Path = PrivateAttr(default=Path("<target>"))

    # -- validation across sections ---------------------------------------- #

    @model_validator(mode="after")
    def _references(self) -> Target:
        self._check_services()
        dependency_order(self.services)
        self._check_environments()
        self._check_external_apis()
        self._check_workflows()
        if self.previous_release is not None and self.previous_release == self.release:
            raise FieldProblem(
                "equals release; name the release a rollback returns to", ("previous_release",)
            )
        return self

    def _check_services(self) -> None:
        first_by_name: dict[str, int] = {}
        first_by_deployment: dict[str, int] = {}
        for index, service in enumerate(self.services):
            if service.name in first_by_name:
                raise FieldProblem(
                    f"{service.name!r} is already services[{first_by_name[service.name]}]; "
                    "service names must be unique",
                    ("services", index, "name"),
                )
            first_by_name[service.name] = index
            if service.deployment_name in first_by_deployment:
                other = first_by_deployment[service.deployment_name]
                raise FieldProblem(
                    f"deployment {service.deployment_name!r} is already used by services[{other}]",
                    ("services", index, "deployment" if service.deployment else "name"),
                )
            first_by_deployment[service.deployment_name] = index
        names = ", ".join(first_by_name)
        for index, service in enumerate(self.services):
            for position, dependency in enumerate(service.depends_on):
                loc = ("services", index, "depends_on", position)
                if dependency not in first_by_name:
                    raise FieldProblem(
                        f"names {dependency!r}, which is not a service"
                        f"{did_you_mean(dependency, first_by_name)}; services are: {names}",
                        loc,
                    )
                if service.depends_on.index(dependency) != position:
                    raise FieldProblem(f"lists {dependency!r} twice; keep one", loc)

    def _check_environments(self) -> None:
        known = ", ".join(self.environments)
        for name in self.namespaces:
            if name not in self.environments:
                raise FieldProblem(
                    f"environment {name!r} has a namespace but no entry under "
                    f"environments; environments are: {known}",
                    ("namespaces", name),
                )
        allowed = set(SYSTEMS) | {api.name for api in self.external_apis}
        for name, environment in self.environments.items():
            if name not in self.namespaces:
                raise FieldProblem(
                    f"environment {name!r} has no namespace; add namespaces.{name}",
                    ("environments", name),
                )
            for index, system in enumerate(environment.absent):
                if system not in allowed:
                    raise FieldProblem(
                        f"names {system!r}, which gonogo does not know"
                        f"{did_you_mean(system, allowed)}; use one of: "
                        f"{', '.join(sorted(allowed))}",
                        ("environments", name, "absent", index),
                    )

    def _check_external_apis(self) -> None:
        services = {service.name for service in self.services}
        seen: set[str] = set()
        for index, api in enumerate(self.external_apis):
            if api.name in seen:
                raise FieldProblem(
                    f"{api.name!r} is listed twice", ("external_apis", index, "name")
                )
            seen.add(api.name)
            for environment in api.environment_urls:
                if environment not in self.environments:
                    raise FieldProblem(
                        f"names environment {environment!r}; environments are: "
                        f"{', '.join(self.environments)}",
                        ("external_apis", index, "environment_urls", environment),
                    )
            for position, service in enumerate(api.used_by):
                if service not in services:
                    raise FieldProblem(
                        f"names {service!r}, which is not a service"
                        f"{did_you_mean(service, services)}",
                        ("external_apis", index, "used_by", position),
                    )

    def _check_workflows(self) -> None:
        seen: set[str] = set()
        for index, workflow in enumerate(self.workflows):
            if workflow.name in seen:
                raise FieldProblem(
                    f"{workflow.name!r} is listed twice; workflow names must be unique",
                    ("workflows", index, "name"),
                )
            seen.add(workflow.name)
            for position, environment in enumerate(workflow.environments or ()):
                if environment not in self.environments:
                    raise FieldProblem(
                        f"names environment {environment!r}; environments are: "
                        f"{', '.join(self.environments)}",
                        ("workflows", index, "environments", position),
                    )

    # -- lookups ------------------------------------------------------------ #

    @property
    def source(self) -> Path:
        """The file this target was loaded from."""
        return self._source

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        names = [service.name for service in self.services]
        raise ConfigError(
            f"no service {name!r}{did_you_mean(name, names)}; services are: {', '.join(names)}",
            file=self.source,
        )

    @cached_property
    def _dependency_order(self) -> tuple[Service, ...]:
        return tuple(dependency_order(self.services))

    def services_in_dependency_order(self) -> list[Service]:
        """Dependencies first; services with no order between them keep file order."""
        return list(self._dependency_order)

    def reverse_dependency_order(self) -> list[Service]:
        """Dependents first: the order to take a release back out."""
        return list(reversed(self._dependency_order))

    def tiers(self) -> list[tuple[str, list[Service]]]:
        """The services grouped by tier, tiers in the order their first service
        deploys, services in dependency order. The tiers are the target's own
        words; when no service names one, tier N holds the services whose
        longest chain of dependencies is N - 1 long ("tier-1" needs nothing)."""
        named = any("tier" in service.model_fields_set for service in self.services)
        depth: dict[str, int] = {}
        groups: dict[str, list[Service]] = {}
        for service in self._dependency_order:
            depth[service.name] = 1 + max(
                (depth[d] for d in service.depends_on if d in depth), default=0
            )
            tier = service.tier if named else f"tier-{depth[service.name]}"
            groups.setdefault(tier, []).append(service)
        if not named:
            return sorted(groups.items(), key=lambda group: int(group[0].split("-")[1]))
        return list(groups.items())

    def dashboard_service(self) -> Service | None:
        """The service whose UI the dashboard check opens: the one marked
        ``dashboard: true``; when no service says either way, the first whose
        name says dashboard; None when the system has no UI."""
        marked = [s for s in self.services if s.dashboard is not None]
        if marked:
            return next((s for s in marked if s.dashboard), None)
        return next((s for s in self.services if "dashboard" in s.name), None)

    def release_services(self) -> list[Service]:
        """Services whose image this release builds, in dependency order."""
        return [service for service in self._dependency_order if service.image]

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(
                f"no environment {name!r}{did_you_mean(name, self.environments)}; "
                f"environments are: {known}; pass one with --env",
                file=self.source,
            ) from None

    def namespace_for(self, environment: str) -> str:
        self.environment(environment)
        return self.namespaces[environment]

    def base_url_for(self, environment: str) -> str:
        url = self.environment(environment).base_url or self.ingress.base_url
        if url is None:
            raise ConfigError(
                f"no base URL for environment {environment!r}; set ingress.base_url "
                f"or environments.{environment}.base_url",
                file=self.source,
            )
        return url

    def health_url(self, service: str | Service, environment: str) -> str | None:
        """Full health URL of ``service`` in ``environment``; None when it has none."""
        svc = self.service(service) if isinstance(service, str) else service
        return self.base_url_for(environment) + svc.health_path if svc.health_path else None

    def version_url(self, service: str | Service, environment: str) -> str | None:
        svc = self.service(service) if isinstance(service, str) else service
        return self.base_url_for(environment) + svc.version_path if svc.version_path else None

    def image_ref(self, service: str | Service, release: str | None = None) -> str:
        """``<repository_prefix>/<image>:<release>`` (default: this release)."""
        svc = self.service(service) if isinstance(service, str) else service
        if self.registry is None:
            raise ConfigError(
                "no registry section; add registry.url and repository_prefix", file=self.source
            )
        if svc.image is None:
            raise ConfigError(
                f"service {svc.name!r} has no image this release builds; add services[].image",
                file=self.source,
            )
        return f"{self.registry.repository_prefix}/{svc.image}:{release or self.release}"

    def rollback_criteria(self, environment: str) -> RollbackCriteria:
        return self.environment(environment).rollback

    def load_profile(self, environment: str, name: str) -> LoadProfile:
        profiles = self.environment(environment).load_profiles
        try:
            return profiles[name]
        except KeyError:
            raise ConfigError(
                f"environment {environment!r} has no load profile {name!r}; "
                f"profiles are: {', '.join(profiles) or 'none'}",
                file=self.source,
            ) from None

    def workflows_for(self, environment: str, *, business_critical: bool = False) -> list[Workflow]:
        self.environment(environment)
        return [
            workflow
            for workflow in self.workflows
            if workflow.applies_to(environment)
            and (workflow.business_critical or not business_critical)
        ]

    def configmap_paths(self, environment: str) -> list[Path]:
        """The environment's ConfigMap manifests, under ``manifests_dir``."""
        names = self.environment(environment).configmaps
        if names and self.manifests_dir is None:
            raise ConfigError(
                "configmaps are listed but manifests_dir is not set", file=self.source
            )
        return [self.manifests_dir / name for name in names] if self.manifests_dir else []

    def is_absent(self, system: str, environment: str) -> bool:
        """Whether ``system`` does not exist for ``environment``: listed under
        ``absent``, or its section or URL is missing from the target."""
        absent = self.environment(environment).absent
        if system in absent:
            return True
        if system == "external_apis":
            return not [a for a in self.external_apis if a.name not in absent]
        if system in {api.name for api in self.external_apis} and "external_apis" in absent:
            return True
        if system == "configmaps":
            return not self.environment(environment).configmaps
        if system == "dashboard":
            return self.dashboard_service() is None
        if system in ("prometheus", "alertmanager", "grafana", "loki"):
            return getattr(self.monitoring, system) is None
        sections: dict[str, object] = {
            "registry": self.registry,
            "redis": self.redis,
            "github": self.github,
            "release_notes": self.release_notes,
            "security_scan": self.security_scan,
            "tls": self.ingress.tls_hosts or None,
        }
        return system in sections and sections[system] is None

    def secret_refs(self) -> list[SecretRef]:
        """Every credential reference in the target, in file order."""
        return list(_secret_refs(self))

    def secret_env_names(self) -> frozenset[str]:
        """Every environment variable this target marks as secret."""
        return frozenset(ref.env for ref in _secret_refs(self) if ref.env)


def _secret_refs(value: Any) -> Iterator[SecretRef]:
    if isinstance(value, SecretRef):
        yield value
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            yield from _secret_refs(getattr(value, field))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secret_refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_refs(item)
