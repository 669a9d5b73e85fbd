"""One redactor for every writer: evidence, failure messages, reports, logs.

It removes two kinds of secrets: values gonogo was told are secret (the
values of the environment variables a target marks secret or expands into a
URL, tokens it read), wherever they appear, and things that look like
credentials whatever their value (Authorization headers, bearer tokens,
userinfo in URLs, ``password=`` / ``access_token=`` / ``"client_secret": ...``
style pairs).

Evidence can hold a long response body or one enormous token, so every pattern
runs in time linear in the text: runs of characters are matched possessively
(``*+``, ``++``), so a failed match never rescans what it consumed, and the
registered values are found with one alternation instead of one pass each.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from typing import Any
from urllib.parse import quote

MASK = "***"
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words

_STRONG_KEYS = (
    r"password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|authorization"
)
"""Words that make any key holding them, at its end, a credential's key:
``access_token``, ``client_secret``, ``REDIS_PASSWORD``, ``hapikey``."""
_WEAK_KEYS = r"key|auth|pass|pwd"
"""Words that do so only after a separator (``*_key``, ``db-pass``), so that
``monkey`` or ``PWD`` stay readable."""

_PAIR = re.compile(
    r"(?i)(?<![\w.-])"
    rf"(?P<key>[\w.-]{{0,64}}?(?:{_STRONG_KEYS})|[\w.-]{{0,64}}?[_.-](?:{_WEAK_KEYS}))"
    r"(?P<sep>[\"']?[ \t]{0,64}[:=][ \t]{0,64})"
    r"(?P<value>\"[^\"\n]*+\"|'[^'\n]*+'|[^\s'\",;}&]++)"
)
_AUTHORIZATION = re.compile(r"(?i)\b(authorization[ \t]*+[:=][ \t]*+)(?:\w++[ \t]++)?[^\s,;'\"}]++")
_SCHEME_TOKEN = re.compile(r"(?i)\b(bearer|token|basic)\s++[A-Za-z0-9._~+/=-]{8,}+")
_USERINFO = re.compile(r"://(?P<user>[^/?#\s@:]*+)(?P<password>:[^/?#\s@]*+)?@")


def _pair(match: re.Match[str]) -> str:
    value = match["value"]
    quote_mark = value[0] if value[0] in "\"'" and len(value) > 1 else ""
    return f"{match['key']}{match['sep']}{quote_mark}{MASK}{quote_mark}"


def _userinfo(match: re.Match[str]) -> str:
    """``user:password@`` keeps the user; a lone ``token@`` is masked whole."""
    if match["password"] is not None and match["user"]:
        return f"://{match['user']}:{MASK}@"
    return f"://{MASK}@"


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (_AUTHORIZATION, r"\1" + MASK),
    (_SCHEME_TOKEN, r"\1 " + MASK),
    (_USERINFO, _userinfo),
    (_PAIR, _pair),
)


class Redactor:
    """Masks registered secret values and credential-shaped text. Thread-safe."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._finder: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add_secret(self, value: str | None) -> None:
        """Remember ``value`` as secret: it will be masked wherever it appears,
        also percent-encoded, as it stands in a URL."""
        if not value or len(value) < _MIN_SECRET_LEN:
            return
        forms = {value, quote(value, safe=""), quote(value, safe="/:")}
        with self._lock:
            if not forms <= self._values:
                self._values |= forms
                self._finder = None

    def _secret_finder(self) -> re.Pattern[str] | None:
        """One alternation of every registered value, longest first, so the
        longest value wins where two overlap; rebuilt when a value is added."""
        with self._lock:
            if self._finder is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._finder = re.compile("|".join(map(re.escape, ordered)))
            return self._finder

    def text(self, value: str) -> str:
        finder = self._secret_finder()
        if finder is not None:
            value = finder.sub(MASK, value)
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
