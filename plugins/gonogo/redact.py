"""One redactor for every writer: evidence, failure messages, reports, logs.

It removes two kinds of secrets: values gonogo was told are secret (the
values of the environment variables a target marks secret, tokens it read),
wherever they appear, and things that look like credentials whatever their
value (Authorization headers, bearer tokens, passwords in URLs, ``password=``
style pairs)."""

from __future__ import annotations

import base64
import binascii
import re
import threading
from typing import Any

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:\w+\s+)?[^\s,;'\"}]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 " + MASK),
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(@)"), r"\1" + MASK + r"\2"),
    (
        re.compile(
            r"(?i)\b((?:password|passwd|secret|api[_-]?key|access[_-]?key|token)"
            r"['\"]?\s*[:=]\s*['\"]?)([^\s'\",;}&]+)"
        ),
        r"\1" + MASK,
    ),
)


class Redactor:
    """Masks registered secret values and credential-shaped text. Thread-safe."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        """Remember ``value`` as secret: it will be masked wherever it appears."""
        if value and len(value) >= _MIN_SECRET_LEN:
            with self._lock:
                self._values.add(value)

    def text(self, value: str) -> str:
        with self._lock:
            secrets = sorted(self._values, key=len, reverse=True)
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        for pattern, repl in _PATTERNS:
            value = pattern.sub(repl, value)
        return value

    def data(self, value: Any) -> Any:
        """Redact every string in a JSON-like structure; secret-named keys lose
        their value, and so does every value of a Kubernetes Secret's ``data``
        and ``stringData`` (those values are also remembered as secret, so
        they are masked wherever else they turn up). Client objects with a
        ``to_dict()`` (the kubernetes models) are redacted as their dict."""
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict) and not isinstance(value, dict):
            value = to_dict()
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            if _is_secret_object(value):
                value = self._mask_secret_object(value)
            return {
                k: (MASK if _secret_key(k) and isinstance(v, str) and v else self.data(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value

    def _mask_secret_object(self, secret: dict[Any, Any]) -> dict[Any, Any]:
        masked = dict(secret)
        for key in _SECRET_DATA_KEYS:
            entries = secret.get(key)
            if not isinstance(entries, dict):
                continue
            for v in entries.values():
                if isinstance(v, str):
                    self.add_secret(v)
                    self.add_secret(_b64decode(v))
            masked[key] = {k: MASK for k in entries}
        return masked


_SECRET_DATA_KEYS = ("data", "stringData", "string_data")


def _is_secret_object(value: dict[Any, Any]) -> bool:
    """A Kubernetes Secret, as the API, a manifest or the Python client's
    ``to_dict()`` gives it (list items carry no ``kind``, but have a ``type``)."""
    if value.get("kind") == "Secret":
        return True
    kind_of_type = str(value.get("type") or "")
    has_data = any(isinstance(value.get(k), dict) for k in _SECRET_DATA_KEYS)
    return has_data and (kind_of_type == "Opaque" or kind_of_type.startswith("kubernetes.io/"))


def _b64decode(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key|authorization|credential)")


def _secret_key(key: Any) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


redactor = Redactor()
"""The process-wide redactor every writer uses."""
