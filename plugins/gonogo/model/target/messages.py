"""Pydantic's validation errors, turned into one line a person can act on.

Pydantic reports a list of errors with locations like
``('services', 3, 'depends_on', 0)`` and messages written for programmers. A
target file's reader needs ``target.yaml:42: services[3].depends_on names
'redis-cach', which is not a service (did you mean 'redis-cache'?)``: the
line, the place in words, and the fix. This module does that translation,
never echoing a value that could be a credential.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from gonogo.errors import ConfigError
from gonogo.model.target.root import Target
from gonogo.model.target.values import FieldProblem, did_you_mean
from gonogo.model.yamlsource import Document, Loc


def config_error(error: ValidationError, document: Document) -> ConfigError:
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
    hint = did_you_mean(key, allowed) if allowed else ""
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
