"""Workflows: end-to-end sequences of HTTP calls, written in the target file.

A workflow is data, not code, so that the people who own a system can describe
its business paths without writing Python. The model checks what can be
checked before any request is sent: every ``{variable}`` a step reads is a
built-in or saved by an earlier step, and no credential is written into a
header. Filling placeholders and walking dotted paths into a response are
here too, because the checks and the workflow runner share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from gonogo.errors import ConfigError
from gonogo.model.target.values import FieldProblem, Seconds, SecretRef, StrictModel

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

BUILTIN_VARIABLES: tuple[str, ...] = ("release", "previous_release", "environment", "namespace")
"""Placeholders every workflow step may use without saving them first."""


def _status_list(value: Any) -> Any:
    return [value] if isinstance(value, int) else value


_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)


class Step(StrictModel):
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


class Workflow(StrictModel):
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
