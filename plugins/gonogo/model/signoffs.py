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
from gonogo.model.yamlsource import (
    Document,
    Loc,
    load_yaml,
    parse_yaml,
    read_source,
    replace_atomically,
)

DEFAULT_VALIDITY = timedelta(days=7)
_FIELDS = ("item", "who", "role", "when", "release", "environment", "ticket", "link", "expires")
_REQUIRED = ("item", "who", "role", "when", "release", "environment")
_TEXT_FIELDS = ("item", "who", "role", "release", "environment", "ticket", "link")


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


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp (``Z`` allowed); one without a zone is UTC.
    ValueError when ``text`` is none."""
    stamp = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _timestamp(value: Any, field_name: str, document: Document, loc: Loc) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_timestamp(str(value))
    except ValueError as e:
        raise document.error(
            loc, f"{field_name}: {value!r} is not a timestamp; write it as 2026-11-27T01:40:00Z"
        ) from e


def load_signoffs(path: Path) -> list[SignOff]:
    """Parse and validate the sign-off file; ConfigError with file and line otherwise.

    The file is read like a target file (:func:`gonogo.model.yamlsource.load_yaml`):
    a key written twice in one entry is refused rather than the last one
    credited, and aliases are held to the same budget."""
    return parse_signoffs(read_source(path), path)


def parse_signoffs(text: str, path: Path) -> list[SignOff]:
    """:func:`load_signoffs` for ``text`` that is, or is to become, ``path``."""
    document = parse_yaml(text, path)
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("signoffs"), list):
        raise document.error(
            ("signoffs",),
            "expected a mapping with a 'signoffs:' list of entries "
            "(signoffs: [{item: ..., who: ..., role: ..., when: ..., release: ..., "
            "environment: ...}])",
        )
    return [_entry(raw, index, document) for index, raw in enumerate(data["signoffs"])]


def _entry(raw: Any, index: int, document: Document) -> SignOff:
    entry: Loc = ("signoffs", index)
    if not isinstance(raw, dict):
        raise document.error(entry, "each sign-off is a mapping (item, who, role, when, ...)")
    unknown = sorted(str(key) for key in set(raw) - set(_FIELDS))
    if unknown:
        raise document.error(
            entry, f"unknown field(s) {', '.join(unknown)}; fields are: {', '.join(_FIELDS)}"
        )
    missing = [f for f in _REQUIRED if raw.get(f) in (None, "")]
    if missing:
        raise document.error(entry, f"sign-off is missing {', '.join(missing)}")

    text = {name: _text(raw.get(name), name, document, (*entry, name)) for name in _TEXT_FIELDS}
    when = _timestamp(raw["when"], "when", document, (*entry, "when"))
    expires = (
        _timestamp(raw["expires"], "expires", document, (*entry, "expires"))
        if raw.get("expires") is not None
        else when + DEFAULT_VALIDITY
    )
    return SignOff(
        item=text["item"] or "",
        who=text["who"] or "",
        role=text["role"] or "",
        when=when,
        release=text["release"] or "",
        environment=text["environment"] or "",
        ticket=text["ticket"],
        link=text["link"],
        expires=expires,
        line=document.line_of(entry),
    )


def _text(value: Any, name: str, document: Document, loc: Loc) -> str | None:
    """A text field: a string, or a whole number where a ticket number is
    natural; a list, mapping, boolean or decimal is refused, so that
    ``item: [Change approval]`` is not later reported as "no valid sign-off"."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and name == "ticket":
        return str(value)
    kind = {list: "a list", dict: "a mapping", bool: "true/false"}.get(type(value), repr(value))
    raise document.error(
        loc,
        f"{name}: must be text, not {kind}; write it as one quoted string, "
        f'e.g. {name}: "{_example(value)}"',
    )


def _example(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], str | int | float):
        return str(value[0])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return "..."


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
        earlier = load_yaml(path).data
        entries = list((earlier or {}).get("signoffs") or []) + entries
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


def append_signoff(path: Path, entry: dict[str, Any]) -> str:
    """Add ``entry`` to the sign-off file at ``path`` (created if absent) and
    return the entry as written, in YAML.

    The entry is appended to the file's text, so the entries and comments
    already there stay as they were; only when that text would not read back
    as the old entries plus this one (a flow-style list, a key after the
    list) is the file written afresh from its entries, without its comments.
    Either way the result is read back before it replaces the file, which it
    does in one step, readable by its owner only: a half-written or unreadable
    file never takes the place of the record."""
    block = yaml.safe_dump([entry], sort_keys=False, default_flow_style=False, allow_unicode=True)
    if path.is_file():
        old_text = read_source(path)
        earlier = parse_signoffs(old_text, path)
        appended = _appended(path, old_text, block, len(earlier) + 1)
        if appended is None:
            entries = [*parse_yaml(old_text, path).data["signoffs"], entry]
            appended = yaml.safe_dump({"signoffs": entries}, sort_keys=False, allow_unicode=True)
        text = appended
    else:
        text = "signoffs:\n" + _indented(block, "  ")
    parse_signoffs(text, path)
    replace_atomically(path, text, mode=0o600)
    return block


def _appended(path: Path, old_text: str, block: str, count: int) -> str | None:
    """``old_text`` with ``block`` added as the list's last entry, or None when
    no indentation makes it read back as ``count`` entries."""
    base = old_text if old_text.endswith("\n") else old_text + "\n"
    for indent in ("  ", "", "    "):
        text = base + _indented(block, indent)
        try:
            if len(parse_signoffs(text, path)) == count:
                return text
        except ConfigError:
            continue
    return None


def _indented(block: str, indent: str) -> str:
    return "".join(indent + line if line.strip() else line for line in block.splitlines(True))
