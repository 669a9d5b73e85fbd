"""The target file: one YAML description of the system a release is checked against.

Every check reads its addresses, limits and policies from here, so the model is
strict: unknown keys are refused, references between sections (``depends_on``,
workflow environments, placeholders) are resolved at load time, and every
problem becomes a :class:`~gonogo.errors.ConfigError` that names the file, the
line and the fix. Credentials are never written in the file; a field that holds
one takes a reference (``{env: NAME}`` or ``{secret: {name, key}}``) and a plain
string there is refused.

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

import difflib
import heapq
import os
import re
import types
import typing
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gonogo.errors import ConfigError
from gonogo.model.yamlsource import Document, Loc, load_yaml
from gonogo.redact import redactor

# --------------------------------------------------------------------------- #
# Value types shared by the sections
# --------------------------------------------------------------------------- #

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_SECRET_WORD = re.compile(
    r"(?i)(?:^|_)(?:[A-Z0-9]*(?:TOKEN|PASSWORD|PASSWD|SECRET|APIKEY|CREDENTIALS?)"
    r"|KEY|AUTH|PASS|PAT)(?:_|$)"
)

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
)
"""Names an environment may list under ``absent`` (besides external API names)."""

SEVERITIES: tuple[str, ...] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Scanner severities, lowest first; a limit blocks findings at or above it."""

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

BUILTIN_VARIABLES: tuple[str, ...] = ("release", "previous_release", "environment", "namespace")
"""Placeholders every workflow step may use without saving them first."""


def expand(text: str) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``, then a leading ``~``.

    An unset variable without a default is an error rather than an empty
    string: a kubeconfig path of ``/kubeconfig`` would fail far from its cause."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name)
        if value is not None:
            if is_secret_name(name):
                redactor.add_secret(value)
            return value
        if default is not None:
            return default
        raise ValueError(
            f"uses ${{{name}}}, which is not set; export {name} or write ${{{name}:-default}}"
        )

    return os.path.expanduser(_VAR.sub(substitute, text))


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a credential:
    GITHUB_TOKEN, REDIS_PASSWORD, HUBSPOT_API_KEY, CLIENT_SECRET, DB_PASS, but
    not PWD, KEYCLOAK_URL or AUTHOR."""
    return bool(_SECRET_WORD.search(name))


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    base = context.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def _file_path(value: Any, info: ValidationInfo) -> Any:
    """A path written in the target file, anchored at the file's directory."""
    if not isinstance(value, str | Path):
        return value
    path = Path(expand(str(value)))
    if not path.is_absolute():
        path = _base_dir(info) / path
    return Path(os.path.normpath(path))


def _existing_file(value: Any, info: ValidationInfo) -> Any:
    """A file that must be there when a run loads the target (a CA bundle):
    missing, it would fail in the middle of a check as an error naming no
    path. Loads that only read the description (``gonogo rbac``, the sandbox
    target before ``gonogo sandbox up`` made its CA) do not ask for it."""
    if not (info.context or {}).get("require_files"):
        return value
    if isinstance(value, Path) and not value.is_file():
        state = "is a directory" if value.is_dir() else "does not exist"
        raise PydanticCustomError(
            "file_missing",
            "names {path}, which {state}; fix the path (relative to the target file's "
            "directory), create the file first (the sandbox's CA: gonogo sandbox up) "
            "or remove the key",
            {"path": str(value), "state": state},
        )
    return value


def _work_path(value: Any) -> Any:
    """An output location of the run, left relative to the working directory."""
    if not isinstance(value, str | Path):
        return value
    return Path(expand(str(value)))


def _url(value: Any, schemes: tuple[str, ...]) -> Any:
    if not isinstance(value, str):
        return value
    url = expand(value).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        starts = " or ".join(f"{scheme}://" for scheme in schemes)
        raise PydanticCustomError("url_scheme", f"must be a URL starting with {starts}")
    if not parts.hostname:
        raise PydanticCustomError("url_host", f"must name a host, e.g. {schemes[0]}://host:port")
    if parts.password:
        raise PydanticCustomError(
            "inline_secret_url",
            "holds a password: inline secret refused; remove it from the URL and reference it "
            "from the section's password or token field, e.g. password: {env: REDIS_PASSWORD}",
        )
    return url


def _http_url(value: Any) -> Any:
    return _url(value, ("http", "https"))


def _redis_url(value: Any) -> Any:
    return _url(value, ("redis", "rediss"))


def _url_path(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith("/"):
        raise PydanticCustomError("url_path", f"must start with '/', e.g. /{value}")
    return value


def _dns_label(value: Any) -> Any:
    if isinstance(value, str) and not _DNS_LABEL.match(value):
        raise PydanticCustomError(
            "dns_label", f"{value!r} is not a Kubernetes name (lower-case letters, digits and '-')"
        )
    return value


def _tag(value: Any) -> Any:
    if isinstance(value, str) and not _TAG.match(value):
        raise PydanticCustomError("image_tag", f"{value!r} is not a valid image tag")
    return value


FilePath = Annotated[Path, BeforeValidator(_file_path)]
"""Relative to the target file's directory; absolute once loaded."""
ExistingFile = Annotated[Path, BeforeValidator(_file_path), AfterValidator(_existing_file)]
"""A :data:`FilePath` that must name an existing file when the target loads."""
WorkPath = Annotated[Path, BeforeValidator(_work_path)]
"""Relative to the working directory of the run."""
HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""``http://`` or ``https://`` URL without a trailing slash."""
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
UrlPath = Annotated[str, AfterValidator(_url_path)]
Name = Annotated[str, AfterValidator(_dns_label)]
Tag = Annotated[str, AfterValidator(_tag)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Field(gt=0)]


class FieldProblem(ValueError):
    """A cross-field problem found after parsing, located at ``loc`` below the
    model that raised it, so the loader can point at the offending line."""

    def __init__(self, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- #
# Secrets
# --------------------------------------------------------------------------- #


class SecretKeyRef(_Model):
    """One key of a Kubernetes Secret."""

    name: Name
    key: str
    namespace: Name | None = None
    """Default: the environment's namespace."""


class SecretRef(_Model):
    """Where a credential lives: an environment variable or a Kubernetes Secret.

    Exactly one of ``env`` and ``secret``. The value itself never enters the
    target, the logs or the report."""

    env: str | None = None
    secret: SecretKeyRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_inline(cls, data: Any) -> Any:
        if isinstance(data, str | int | float | bytes):
            raise PydanticCustomError("inline_secret", "inline secret refused")
        return data

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            # The value is not echoed: a mistaken credential may sit here.
            raise ValueError("is not an environment variable name (letters, digits and _)")
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.secret is None):
            raise ValueError(
                "give exactly one of env or secret: {env: NAME} or {secret: {name: ..., key: ...}}"
            )
        return self

    def resolve_env(self) -> str | None:
        """The value of the referenced environment variable; None when the
        reference is a Kubernetes Secret or the variable is unset. The value
        is masked wherever it turns up from now on."""
        value = os.environ.get(self.env) if self.env else None
        redactor.add_secret(value)
        return value

    def describe(self) -> str:
        """Where the secret lives, for messages; never the value."""
        if self.env:
            return f"environment variable {self.env}"
        assert self.secret is not None
        namespace = f"{self.secret.namespace}/" if self.secret.namespace else ""
        return f"Secret {namespace}{self.secret.name} key {self.secret.key}"


# --------------------------------------------------------------------------- #
# Sections
# --------------------------------------------------------------------------- #


class Kube(_Model):
    """How to reach the cluster."""

    kubeconfig: FilePath | None = None
    """Default: the client's usual lookup (KUBECONFIG, ~/.kube/config)."""
    context: str | None = None
    """Default: the kubeconfig's current context; ``--kube-context`` overrides."""


class Registry(_Model):
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


class Service(_Model):
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
    depends_on: list[Name] = Field(default_factory=list)
    health_path: UrlPath | None = None
    version_path: UrlPath | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    rollout_timeout_s: Seconds = 300.0
    critical: bool = True

    @property
    def deployment_name(self) -> str:
        return self.deployment or self.name


class Redis(_Model):
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


class Monitoring(_Model):
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


class TlsHost(_Model):
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    ca_bundle: ExistingFile | None = None
    """Trust this CA instead of the system store (private or sandbox CAs)."""


class Ingress(_Model):
    base_url: HttpUrl | None = None
    """Where ``/<service>/health`` lives; environments may override it."""
    tls_hosts: list[TlsHost] = Field(default_factory=list)


class ExternalApi(_Model):
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


class GitHub(_Model):
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


class ReleaseNotes(_Model):
    path: FilePath | None = None
    github_release: bool = False

    @model_validator(mode="after")
    def _somewhere(self) -> ReleaseNotes:
        if self.path is None and not self.github_release:
            raise ValueError("name a path or set github_release: true")
        return self


class SecurityScan(_Model):
    report: FilePath
    format: Literal["trivy", "sarif"] = "trivy"


def _window_input(value: Any) -> Any:
    if isinstance(value, str):
        if value.strip().lower() == "any":
            return {}
        raise PydanticCustomError("window", "write 'any' or {start: 'HH:MM', end: 'HH:MM'} (UTC)")
    return value


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise PydanticCustomError("clock", "write the time as 'HH:MM' (UTC), e.g. '02:00'")
    return time(int(match.group(1)), int(match.group(2)))


def _weekdays(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    days = []
    for day in value:
        short = str(day).strip().lower()[:3]
        if short not in WEEKDAYS:
            raise PydanticCustomError(
                "weekday", f"{day!r} is not a weekday; use {', '.join(WEEKDAYS)}"
            )
        days.append(short)
    return days


Clock = Annotated[time, BeforeValidator(_clock)]


class Window(_Model):
    """When a deployment may start, in UTC. No start and end means any time."""

    start: Clock | None = None
    end: Clock | None = None
    days: Annotated[list[str], BeforeValidator(_weekdays)] = Field(
        default_factory=lambda: list(WEEKDAYS)
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _window_input(data)

    @model_validator(mode="after")
    def _both_ends(self) -> Window:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or write 'any'")
        if self.start is not None and self.start == self.end:
            raise ValueError("start and end are equal; write 'any' for no limit")
        return self

    @property
    def is_any(self) -> bool:
        return self.start is None and len(self.days) == len(WEEKDAYS)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` (naive means UTC) falls inside the window.

        A window that ends before it starts runs overnight; its day is the day
        it started on."""
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        now, day = moment.time(), WEEKDAYS[moment.weekday()]
        if self.start is None or self.end is None:
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= now < self.end
        if now >= self.start:
            return day in self.days
        yesterday = WEEKDAYS[(moment - timedelta(days=1)).weekday()]
        return now < self.end and yesterday in self.days

    def describe(self) -> str:
        days = "" if len(self.days) == len(WEEKDAYS) else " " + ",".join(self.days)
        if self.start is None or self.end is None:
            return "any time" + (f" on{days}" if days else "")
        return f"{self.start:%H:%M}-{self.end:%H:%M} UTC{days}"


class Approval(_Model):
    required: bool = False
    role: str = "self-service"
    """Who approves: change-management, technical-lead, self-service."""


class Webhook(_Model):
    url: HttpUrl
    token: SecretRef | None = None
    timeout_s: Seconds = 5.0


class Notification(_Model):
    audience: list[str] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)


class RollbackCriteria(_Model):
    automatic: bool = False
    """Whether a trip rolls back by itself (with ``--rollback=auto``)."""
    error_rate_max: Fraction | None = None
    mean_response_max_s: Seconds | None = None
    on_functional_failure: bool = False
    """Any failed functional check is a trip."""
    description: str = ""


class LoadThresholds(_Model):
    error_rate_max: Fraction | None = None
    mean_ms_max: Seconds | None = None
    p95_ms_max: Seconds | None = None
    rps_min: float | None = Field(default=None, ge=0)


class LoadProfile(_Model):
    """One load run: how many users, for how long, on which paths, judged how."""

    users: int = Field(ge=1)
    spawn_rate: float = Field(gt=0)
    duration_s: Seconds
    paths: dict[str, Annotated[int, Field(ge=1)]] = Field(min_length=1)
    """Request path -> relative weight."""
    thresholds: LoadThresholds = Field(default_factory=LoadThresholds)

    @field_validator("paths")
    @classmethod
    def _absolute_paths(cls, value: dict[str, int]) -> dict[str, int]:
        for path in value:
            if not path.startswith("/"):
                raise FieldProblem(f"path {path!r} must start with '/'", (path,))
        return value


class Headroom(_Model):
    """Share of allocatable capacity that must stay free after summing requests."""

    cpu: Fraction = 0.0
    memory: Fraction = 0.0


class ResourceLimits(_Model):
    """Highest utilisation accepted, as a share of the limit (pods) or capacity (nodes)."""

    pod_cpu: Fraction = 0.9
    pod_memory: Fraction = 0.9
    node_cpu: Fraction = 0.85
    node_memory: Fraction = 0.85


Severity = Annotated[
    Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]


class Environment(_Model):
    """The policy of one environment (production, staging, development): when a
    release may go out, who approves, who hears of it, what trips a rollback and
    which limits the checks apply."""

    window: Window = Field(default_factory=Window)
    approval: Approval = Field(default_factory=Approval)
    notification: Notification = Field(default_factory=Notification)
    monitoring_level: Literal["enhanced", "basic"] = "basic"
    rollback: RollbackCriteria = Field(default_factory=RollbackCriteria)
    load_profiles: dict[str, LoadProfile] = Field(default_factory=dict)
    backup_max_age_h: Seconds = 24.0
    cert_min_days: int = Field(default=14, ge=0)
    scan_severity_limit: Severity = "CRITICAL"
    headroom: Headroom = Field(default_factory=Headroom)
    resource_limits: ResourceLimits = Field(default_factory=ResourceLimits)
    base_url: HttpUrl | None = None
    """Overrides ``ingress.base_url`` for this environment."""
    configmaps: list[str] = Field(default_factory=list)
    """ConfigMap manifests of this environment, relative to ``manifests_dir``."""
    required_config_keys: list[str] = Field(default_factory=list)
    absent: list[str] = Field(default_factory=list)
    """Systems that do not exist in this environment; their checks are not applicable."""

    def severity_blocks(self, severity: str) -> bool:
        """Whether a finding of ``severity`` is at or above this environment's limit."""
        rank = SEVERITIES.index(severity.upper()) if severity.upper() in SEVERITIES else 0
        return rank >= SEVERITIES.index(self.scan_severity_limit)


def _status_list(value: Any) -> Any:
    return [value] if isinstance(value, int) else value


_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)


class Step(_Model):
    """One HTTP call of a workflow, relative to the environment's base URL."""

    name: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    path: str
    body: Any = Field(default=None, alias="json")
    """JSON request body (written ``json:`` in the file)."""
    headers: dict[str, str] = Field(default_factory=dict)
    auth: SecretRef | None = None
    """Sent as ``Authorization: Bearer <value>``."""
    expect_status: Annotated[list[int], BeforeValidator(_status_list)] = Field(
        default_factory=lambda: [200]
    )
    expect_json: dict[str, Any] = Field(default_factory=dict)
    """Dotted path into the response JSON -> expected value."""
    save: dict[str, str] = Field(default_factory=dict)
    """Variable -> dotted path into the response JSON, for later steps."""
    timeout_s: Seconds = 10.0

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _relative_to_base(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/', e.g. /{value}")
        return value

    @field_validator("headers")
    @classmethod
    def _no_inline_credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for header, text in value.items():
            if header.lower() in _CREDENTIAL_HEADERS and not _PLACEHOLDER.search(text):
                raise FieldProblem(
                    "inline secret refused; send a credential with auth: {env: NAME}, "
                    "or fill the header from a saved {variable}",
                    (header,),
                )
        return value

    def placeholders(self) -> set[str]:
        """Variables this step reads, from its path, headers, body and expectations."""
        texts = _strings([self.path, self.headers, self.body, self.expect_json])
        return {name for text in texts for name in _PLACEHOLDER.findall(text)}

    def render(self, variables: Mapping[str, Any]) -> Step:
        """This step with every ``{var}`` filled in; a string that is exactly one
        placeholder takes the variable's value with its type (numbers stay numbers)."""
        missing = sorted(self.placeholders() - set(variables))
        if missing:
            raise ConfigError(
                f"step {self.name!r} needs {', '.join(missing)}, which no earlier step saved"
            )
        return self.model_copy(
            update={
                "path": str(_fill(self.path, variables)),
                "headers": {k: str(_fill(v, variables)) for k, v in self.headers.items()},
                "body": _fill(self.body, variables),
                "expect_json": {k: _fill(v, variables) for k, v in self.expect_json.items()},
            }
        )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _fill(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return variables[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: str(variables[m.group(1)]), value)
    if isinstance(value, list):
        return [_fill(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, variables) for key, item in value.items()}
    return value


def dotted_get(data: Any, path: str) -> Any:
    """``data['a']['b'][0]`` for ``"a.b.0"``; LookupError names the missing part."""
    current = data
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            raise LookupError(f"{path}: no {part!r} at {where}")
        walked.append(part)
    return current


class Workflow(_Model):
    """An end-to-end sequence of calls; each becomes one parametrized test."""

    name: str
    business_critical: bool = False
    environments: list[str] | None = None
    """Where the workflow runs; default: every environment."""
    steps: list[Step] = Field(min_length=1)

    def applies_to(self, environment: str) -> bool:
        return self.environments is None or environment in self.environments

    @model_validator(mode="after")
    def _variables_defined(self) -> Workflow:
        saved: set[str] = set(BUILTIN_VARIABLES)
        for index, step in enumerate(self.steps):
            unknown = sorted(step.placeholders() - saved)
            if unknown:
                known = ", ".join(sorted(saved))
                raise FieldProblem(
                    f"uses {{{unknown[0]}}}, which no earlier step saves; known here: {known}",
                    ("steps", index),
                )
            saved.update(step.save)
        return self


class Records(_Model):
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


# --------------------------------------------------------------------------- #
# The target
# --------------------------------------------------------------------------- #


class Target(_Model):
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
                        f"{_did_you_mean(dependency, first_by_name)}; services are: {names}",
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
                        f"{_did_you_mean(system, allowed)}; use one of: "
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
                        f"{_did_you_mean(service, services)}",
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
            f"no service {name!r}{_did_you_mean(name, names)}; services are: {', '.join(names)}",
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

    def release_services(self) -> list[Service]:
        """Services whose image this release builds, in dependency order."""
        return [service for service in self._dependency_order if service.image]

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(self.environments)
            raise ConfigError(
                f"no environment {name!r}{_did_you_mean(name, self.environments)}; "
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
        if system in self.environment(environment).absent:
            return True
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


def dependency_order(services: Sequence[Service]) -> list[Service]:
    """Topological order, dependencies first; ties keep the given order.

    Kahn's algorithm with the ready services kept in a heap by file position,
    so the earliest ready service always goes next and 500 services sort in
    milliseconds. Raises :class:`FieldProblem` naming the cycle when there is one."""
    position = {service.name: index for index, service in enumerate(services)}
    waiting_on = [0] * len(services)
    dependents: dict[str, list[int]] = {}
    for index, service in enumerate(services):
        for dependency in set(service.depends_on):
            if dependency in position:
                waiting_on[index] += 1
                dependents.setdefault(dependency, []).append(index)
    ready = [index for index, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    order: list[Service] = []
    while ready:
        service = services[heapq.heappop(ready)]
        order.append(service)
        for index in dependents.get(service.name, ()):
            waiting_on[index] -= 1
            if waiting_on[index] == 0:
                heapq.heappush(ready, index)
    if len(order) < len(services):
        placed = {service.name for service in order}
        pending = [service for service in services if service.name not in placed]
        cycle = _find_cycle(pending, {service.name: service for service in services})
        first = position[cycle[0]]
        raise FieldProblem(
            f"dependency cycle: {' -> '.join(cycle)}; remove one of these depends_on entries",
            ("services", first, "depends_on", services[first].depends_on.index(cycle[1])),
        )
    return order


def _find_cycle(pending: Sequence[Service], by_name: Mapping[str, Service]) -> list[str]:
    """Walk unplaced dependencies from the first stuck service until a name repeats."""
    stuck = {service.name for service in pending}
    path = [pending[0].name]
    while True:
        current = by_name[path[-1]]
        following = next(dep for dep in current.depends_on if dep in stuck)
        if following in path:
            return [*path[path.index(following) :], following]
        path.append(following)


def _did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- #
# Loading and error reporting
# --------------------------------------------------------------------------- #


def load_target(path: str | Path, *, require_files: bool = False) -> Target:
    """Read, validate and return the target in ``path``; raises ConfigError.

    ``require_files``: a run is about to use the target, so the files it reads
    during checks (``ca_bundle``) must exist now."""
    file = Path(path)
    document = load_yaml(file)
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else f"a {type(document.data).__name__}"
        raise ConfigError(
            f"is {kind}; a target file is a mapping with name, release, namespaces, services "
            "and environments (see docs/targets.md)",
            file=file,
            line=1,
        )
    base_dir = file.absolute().parent
    try:
        target = Target.model_validate(
            document.data, context={"base_dir": base_dir, "require_files": require_files}
        )
    except ValidationError as e:
        raise _config_error(e, document) from None
    target._source = file
    for name in target.secret_env_names():
        redactor.add_secret(os.environ.get(name))
    return target


def _config_error(error: ValidationError, document: Document) -> ConfigError:
    problems = sorted(_describe(detail, document) for detail in error.errors(include_url=False))
    (line, reason), rest = problems[0], problems[1:]
    if rest:
        more = "; ".join(f"line {other_line}: {other}" for other_line, other in rest[:3])
        extra = f" (and {len(rest) - 3} more)" if len(rest) > 3 else ""
        reason = f"{reason} [also {more}{extra}]"
    return ConfigError(reason, file=document.file, line=line)


def _describe(detail: Mapping[str, Any], document: Document) -> tuple[int, str]:
    """One pydantic error as (line, "where: what and how to fix it")."""
    loc: Loc = tuple(part for part in detail["loc"] if part != "[key]")
    kind = detail["type"]
    problem = (detail.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        loc = (*loc, *problem.loc)
        message = problem.message
    elif kind == "inline_secret_url":
        message = detail["msg"]
    elif kind == "inline_secret":
        message = (
            f"inline secret refused; reference it instead: {{env: {_suggest_env(loc, document)}}}"
        )
    elif kind == "extra_forbidden":
        message = _unknown_field(loc)
    elif kind == "missing":
        message = "is required"
    elif kind == "value_error":
        message = str(problem) if problem is not None else detail["msg"]
    else:
        message = detail["msg"]
        if message.startswith("Input should"):
            message += _shown_input(loc, detail.get("input"))
    line = document.line_of(loc)
    if not loc:
        return line, message
    joint = " " if message.split(" ", 1)[0] in _PREDICATES else ": "
    return line, f"{_format_loc(loc)}{joint}{message}"


_PREDICATES = frozenset({"names", "is", "uses", "lists", "equals", "holds", "must", "appears"})
"""First words of messages that continue the location as a sentence
("services[3].depends_on names ..."); any other message follows a colon."""


def _shown_input(loc: Loc, value: Any) -> str:
    """The offending value, when it is short and cannot be a credential."""
    sensitive = re.compile(r"token|password|secret|auth|key|header|cred", re.IGNORECASE)
    if any(isinstance(part, str) and sensitive.search(part) for part in loc):
        return ""
    if isinstance(value, str | int | float | bool) and len(repr(value)) <= 60:
        return f" (got {value!r})"
    return ""


def _unknown_field(loc: Loc) -> str:
    key = str(loc[-1])
    allowed = _fields_at(loc[:-1])
    hint = _did_you_mean(key, allowed) if allowed else ""
    listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
    if re.search(r"token|password|secret|api_?key|credential", key, re.IGNORECASE):
        return (
            f"is not a field{hint}{listing}; never write a credential in the file, "
            "reference it from a field such as token: {env: NAME}"
        )
    return f"is not a field{hint}{listing}"


def _fields_at(loc: Loc) -> list[str]:
    """The keys a model accepts at ``loc``, walking the Target's annotations."""
    annotation: Any = Target
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = _field_by_key(annotation, part)
            if field is None:
                return []
            annotation = field
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _field_by_key(model: type[BaseModel], key: str | int) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional[...] down to the type that holds fields."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _suggest_env(loc: Loc, document: Document) -> str:
    """A plausible variable name for a secret at ``loc``: GITHUB_TOKEN,
    HUBSPOT_TOKEN (from the list item's ``name``), REDIS_PASSWORD."""
    words: list[str] = []
    node: Any = document.data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(part, str):
            words.append(part)
        elif isinstance(node, dict) and isinstance(node.get("name"), str):
            words = [node["name"]]
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(words[-2:])).strip("_").upper()
    return name or "SECRET"
