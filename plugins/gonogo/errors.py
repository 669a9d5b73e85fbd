"""gonogo's own errors. Client-library exceptions (kubernetes, httpx, redis,
yaml, pydantic) are translated into these at the edge, chained with ``from``,
so a user sees one line that names the problem and the fix, never a traceback."""

from __future__ import annotations

from pathlib import Path


class GonogoError(Exception):
    """Base of every error gonogo raises on purpose."""


class ConfigError(GonogoError):
    """A target, sign-off or checklist file is invalid. pytest exits with code 4.

    ``file`` and ``line`` point at the offending spot when known; ``reason``
    says what is wrong and how to fix it."""

    def __init__(self, reason: str, *, file: str | Path | None = None, line: int | None = None):
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.reason}"


def decode_text(raw: bytes, file: str | Path, what: str) -> str:
    """``raw`` as UTF-8 (a byte-order mark is allowed); anything else is a
    ConfigError naming the line and byte, and how to save ``what`` instead."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[e.start]:02x}); save the {what} as UTF-8",
            file=file,
            line=raw.count(b"\n", 0, e.start) + 1,
        ) from None


class ProbeError(GonogoError):
    """A system under check could not be asked (unreachable, timed out,
    refused). Checks fail with this reason; they are not skipped."""


class RetryableProbeError(ProbeError):
    """The same request may succeed later (timeouts, 429, 5xx)."""
