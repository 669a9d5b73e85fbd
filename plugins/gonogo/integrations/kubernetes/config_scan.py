"""Scans configuration for what must not be there: plaintext secrets and
values that belong to another environment.

A secret in a ConfigMap or a manifest is readable by everyone who can read
configuration, lands in backups and diffs, and never rotates. The scan looks
at key names (``password``, ``api_key``, ...) and at value shapes (private
keys, cloud and SaaS tokens, JWTs, passwords inside URLs). A finding carries
where it is and why, never the value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|api[_-]?key|apikey|private[_-]?key|credential|"
    r"client[_-]?secret|access[_-]?key|auth)",
    re.IGNORECASE,
)
"""Key names that announce a secret."""

NOT_A_SECRET_KEY = re.compile(
    r"(_file|_path|_ref|_name|_url|_host|_user(name)?|_enabled|_header|_type|_ttl|"
    r"_timeout|_length|_seconds|_minutes)$",
    re.IGNORECASE,
)
"""Key name endings that name where a secret is or how it is used, not the secret."""

SECRET_VALUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("HubSpot private app token", re.compile(r"\bpat-[a-z0-9]{2,4}-[0-9a-f-]{20,}")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")),
    ("password in URL", re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)),
)

_REFERENCE = re.compile(r"^(\$\{[^}]+\}|\$\([^)]+\)|\{\{.*\}\}|<[^>]+>|)$")
"""Placeholders and empty values: a reference to a secret, not the secret."""


@dataclass(frozen=True)
class SecretFinding:
    where: str
    """e.g. ``ConfigMap sophia/sophia-config`` or ``manifests/x.yaml``."""
    key: str
    reason: str

    def row(self) -> dict[str, str]:
        return {"where": self.where, "key": self.key, "reason": self.reason}


def scan_value(key: str, value: str) -> str | None:
    """Why ``key: value`` looks like a plaintext secret; None when it does not."""
    text = str(value).strip()
    if _REFERENCE.match(text):
        return None
    for name, pattern in SECRET_VALUES:
        if pattern.search(text):
            return f"value looks like a {name}"
    if SECRET_KEY.search(key) and not NOT_A_SECRET_KEY.search(key):
        if text.lower() in ("true", "false", "none", "null", "required", "optional"):
            return None
        return "key name says secret and the value is plaintext"
    return None


def scan_mapping(where: str, data: dict[str, Any]) -> list[SecretFinding]:
    findings = []
    for key, value in (data or {}).items():
        reason = scan_value(str(key), str(value))
        if reason:
            findings.append(SecretFinding(where, str(key), reason))
    return findings


def _containers(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = obj.get("spec") or {}
    pod = spec.get("template", {}).get("spec") if "template" in spec else spec
    pod = pod or {}
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def scan_object(where: str, obj: dict[str, Any], kind: str | None = None) -> list[SecretFinding]:
    """Plaintext secrets in one Kubernetes object: a ConfigMap's data, the
    literal ``env`` values of a workload's containers, any annotation.
    Secrets themselves are where secrets belong and are not scanned. ``kind``
    names the kind of objects from a list call, whose items carry none."""
    kind = obj.get("kind") or kind
    name = obj.get("metadata", {}).get("name", "?")
    label = f"{where}: {kind} {name}"
    if kind == "Secret":
        return []
    findings = scan_mapping(label, obj.get("metadata", {}).get("annotations") or {})
    if kind == "ConfigMap":
        findings += scan_mapping(label, obj.get("data") or {})
    for container in _containers(obj):
        for env in container.get("env") or []:
            if "value" in env:
                reason = scan_value(str(env.get("name", "")), str(env["value"]))
                if reason:
                    findings.append(
                        SecretFinding(
                            f"{label} container {container.get('name')}",
                            str(env.get("name")),
                            reason,
                        )
                    )
    return findings


def scan_objects(
    where: str, objects: Iterable[dict[str, Any]], kind: str | None = None
) -> list[SecretFinding]:
    return [finding for obj in objects for finding in scan_object(where, obj, kind)]


@dataclass(frozen=True)
class ForeignValue:
    configmap: str
    key: str
    belongs_to: str
    marker: str
    """What in the value gave it away (a namespace, a host, an environment name)."""

    def row(self) -> dict[str, str]:
        return {
            "configmap": self.configmap,
            "key": self.key,
            "belongs to": self.belongs_to,
            "because it holds": self.marker,
        }


@dataclass(frozen=True)
class Tell:
    """A string that gives a value away as another environment's."""

    kind: str
    """``name`` (matches the whole value), ``namespace`` (the whole value or a
    cluster DNS name ``*.<ns>.svc``) or ``host`` (anywhere, as a whole host)."""
    text: str

    def found_in(self, value: str) -> bool:
        if self.kind == "name":
            return value.strip().lower() == self.text.lower()
        if self.kind == "namespace":
            return value.strip() == self.text or (
                re.search(rf"\.{re.escape(self.text)}\.svc(\.|\b)", value) is not None
            )
        return re.search(rf"(?<![\w.-]){re.escape(self.text)}(?![\w-])", value) is not None


def foreign_values(
    configmap: str,
    data: dict[str, Any],
    markers: dict[str, set[Tell]],
) -> list[ForeignValue]:
    """Values holding another environment's tell-tale: its name as the whole
    value (``ENVIRONMENT: staging``; a flag such as ``staging-banner`` is not
    mistaken), its namespace, or a host only it uses."""
    found = []
    for key, raw in (data or {}).items():
        value = str(raw)
        for environment, tells in markers.items():
            hit = next(
                (t for t in sorted(tells, key=lambda t: (t.kind, t.text)) if t.found_in(value)),
                None,
            )
            if hit is not None:
                marker = f"{hit.kind} {hit.text}"
                found.append(ForeignValue(configmap, str(key), environment, marker))
    return found
