"""The value types every section of a target file shares, and the secret references.

A target's sections differ, but their values do not: a path is relative to the
file, a URL is http(s) without a password, a name is a Kubernetes name, a
credential is a reference and never the credential. Checking each kind of
value in one place keeps the wording of every refusal the same wherever the
value appears, and lets each section module stay a plain list of fields.

``${VAR}`` / ``${VAR:-default}`` and ``~`` are expanded here; a variable whose
name reads like a credential is registered with the redactor as it is read.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gonogo.model.yamlsource import Loc
from gonogo.redact import redactor

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SECRET_WORD = re.compile(
    r"(?i)(?:^|_)(?:[A-Z0-9]*(?:TOKEN|PASSWORD|PASSWD|SECRET|APIKEY|CREDENTIALS?)"
    r"|KEY|AUTH|PASS|PAT)(?:_|$)"
)


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


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- #
# Secrets
# --------------------------------------------------------------------------- #


class SecretKeyRef(StrictModel):
    """One key of a Kubernetes Secret."""

    name: Name
    key: str
    namespace: Name | None = None
    """Default: the environment's namespace."""


class SecretRef(StrictModel):
    """Where a credential lives: an environment variable, a file, or a key of a
    Kubernetes Secret.

    Exactly one of ``env``, ``file`` and ``secret``. The value itself never
    enters the target, the logs or the report. The model only says where the
    value is; reading it (``gonogo.integrations.secrets``) needs the cluster
    for a Secret, and the model imports no client library."""

    env: str | None = None
    file: FilePath | None = None
    """Relative to the target file's directory; must not be readable by group or others."""
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
        given = [place for place in (self.env, self.file, self.secret) if place is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of env or secret or file: {env: NAME}, "
                "{secret: {name: ..., key: ...}} or {file: PATH}"
            )
        return self

    def resolve_env(self) -> str | None:
        """The value of the referenced environment variable; None when the
        reference is a file or a Kubernetes Secret, or the variable is unset.
        The value is masked wherever it turns up from now on. To read every
        form, use ``gonogo.integrations.secrets``."""
        value = os.environ.get(self.env) if self.env else None
        redactor.add_secret(value)
        return value

    def describe(self) -> str:
        """Where the secret lives, for messages; never the value."""
        if self.env:
            return f"environment variable {self.env}"
        if self.file is not None:
            return f"file {self.file}"
        assert self.secret is not None
        namespace = f"{self.secret.namespace}/" if self.secret.namespace else ""
        return f"Secret {namespace}{self.secret.name} key {self.secret.key}"
