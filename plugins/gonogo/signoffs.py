"""Recorded sign-offs for checklist items that need a human.

A manual item (change approval, team availability, user acceptance) is not
"passed" by running code; it is passed by a person who said yes, on record.
The sign-off file is that record::

    signoffs:
      - item: Change approval
        who: Dana Ops
        role: change-management
        when: 2026-11-27T01:40:00Z
        release: v1.1.0
        environment: production
        ticket: CHG-4711          # or link: https://...
        expires: 2026-11-28T06:00:00Z   # optional; default 7 days after "when"

An entry is valid for an item when its item, release and environment match,
it was given in the past and has not expired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from gonogo.errors import ConfigError

DEFAULT_VALIDITY = timedelta(days=7)
_FIELDS = ("item", "who", "role", "when", "release", "environment", "ticket", "link", "expires")
_REQUIRED = ("item", "who", "role", "when", "release", "environment")


@dataclass(frozen=True)
class SignOff:
    item: str
    who: str
    role: str
    when: datetime
    release: str
    environment: str
    ticket: str | None
    link: str | None
    expires: datetime
    line: int

    def summary(self) -> str:
        ref = self.ticket or self.link or "no ticket"
        return f"{self.who} ({self.role}) at {self.when:%Y-%m-%d %H:%M}Z, {ref}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["when"] = self.when.isoformat()
        data["expires"] = self.expires.isoformat()
        return data


def _timestamp(value: Any, field_name: str, path: Path, line: int) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as e:
            raise ConfigError(
                f"{field_name}: {value!r} is not a timestamp; write it as 2026-11-27T01:40:00Z",
                file=path,
                line=line,
            ) from e
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def load_signoffs(path: Path) -> list[SignOff]:
    """Parse and validate the sign-off file; ConfigError with file and line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read sign-off file: {e.strerror}", file=path) from e
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise ConfigError(
            f"not valid YAML: {getattr(e, 'problem', e)}",
            file=path,
            line=line + 1 if line is not None else None,
        ) from e
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("signoffs"), list):
        raise ConfigError(
            "expected a mapping with a 'signoffs:' list of entries", file=path, line=1
        )
    assert root is not None
    nodes = next(v for k, v in root.value if k.value == "signoffs").value
    entries: list[SignOff] = []
    for raw, node in zip(data["signoffs"], nodes, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict):
            raise ConfigError(
                "each sign-off is a mapping (item, who, role, when, ...)", file=path, line=line
            )
        unknown = sorted(set(raw) - set(_FIELDS))
        if unknown:
            raise ConfigError(
                f"unknown field(s) {', '.join(unknown)}; fields are: {', '.join(_FIELDS)}",
                file=path,
                line=line,
            )
        missing = [f for f in _REQUIRED if not raw.get(f)]
        if missing:
            raise ConfigError(f"sign-off is missing {', '.join(missing)}", file=path, line=line)
        when = _timestamp(raw["when"], "when", path, line)
        expires = (
            _timestamp(raw["expires"], "expires", path, line)
            if raw.get("expires")
            else when + DEFAULT_VALIDITY
        )
        entries.append(
            SignOff(
                item=str(raw["item"]),
                who=str(raw["who"]),
                role=str(raw["role"]),
                when=when,
                release=str(raw["release"]),
                environment=str(raw["environment"]),
                ticket=str(raw["ticket"]) if raw.get("ticket") else None,
                link=str(raw["link"]) if raw.get("link") else None,
                expires=expires,
                line=line,
            )
        )
    return entries


def write_signoffs(
    path: Path,
    items: list[str],
    *,
    who: str,
    role: str,
    release: str,
    environment: str,
    ticket: str,
    valid_for: timedelta = timedelta(days=1),
    append: bool = False,
) -> Path:
    """Record sign-offs for ``items`` given a minute ago: for demos, benchmarks
    and tests, which stand in for people who would record them as they sign.
    ``append`` adds them to the sign-offs already in ``path`` (another
    environment's, say)."""
    now = datetime.now(UTC)
    entries = [
        {
            "item": item,
            "who": who,
            "role": role,
            "release": release,
            "environment": environment,
            "ticket": ticket,
            "when": (now - timedelta(minutes=1)).isoformat(timespec="seconds"),
            "expires": (now + valid_for).isoformat(timespec="seconds"),
        }
        for item in items
    ]
    if append and path.is_file():
        entries = list((yaml.safe_load(path.read_text()) or {}).get("signoffs") or []) + entries
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"signoffs": entries}, sort_keys=False))
    return path


def find_signoff(
    entries: list[SignOff], item: str, release: str, environment: str, now: datetime | None = None
) -> tuple[SignOff | None, list[str]]:
    """The newest valid sign-off for the item, and why the other entries for it were refused."""
    now = now or datetime.now(UTC)
    refused: list[str] = []
    valid: list[SignOff] = []
    for e in entries:
        if " ".join(e.item.split()).casefold() != " ".join(item.split()).casefold():
            continue
        if e.release != release:
            refused.append(f"line {e.line}: for release {e.release}, not {release}")
        elif e.environment != environment:
            refused.append(f"line {e.line}: for {e.environment}, not {environment}")
        elif e.when > now:
            refused.append(f"line {e.line}: dated in the future ({e.when.isoformat()})")
        elif e.expires <= now:
            refused.append(f"line {e.line}: expired at {e.expires.isoformat()}")
        else:
            valid.append(e)
    return (max(valid, key=lambda e: e.when) if valid else None), refused
