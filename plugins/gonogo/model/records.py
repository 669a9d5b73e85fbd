"""The run record: what one pytest run found for one target, kept for the runs after it.

A release moves through several runs, often in separate CI jobs: staging, the
production gate, the release. A later run needs proof from an earlier one (the
gate needs staging's load result, "Data consistency" needs the fingerprints the
gate took), and a report folder of another job is not there to read. So every
run leaves one record per target in a record store (``gonogo.integrations.records``), and
checks ask the store, never a file that happens to be lying around.

Shape (one JSON object; ``schema`` is bumped when a field changes meaning)::

    {"schema": 1, "id": "20261202T061500Z-sophia-staging-v1.1.0-3fa2c1",
     "target": "sophia", "release": "v1.1.0", "previous_release": "v1.0.0",
     "environment": "staging", "stages": ["staging"],
     "phases": ["Staging Testing Checklist"],
     "selection": {"markexpr": "staging", "keyword": "", "phases": [], "from_phase": null,
                   "gate": true},
     "items": [{"title": "Performance testing", "stage": "staging", "phase": "...",
                "nodeid": "...", "service": null, "outcome": "passed", "message": "",
                "measures": [{"name": "error_rate", "value": 0.0, "limit": 0.05, ...}],
                "signoff": null, "data": {}, "dry_run": false}],
     "verdict": "GO — 13 checks passed", "go": true,
     "started": "2026-12-02T06:14:02+00:00", "finished": "2026-12-02T06:15:00+00:00",
     "gonogo_version": "0.1.0",
     "checklist": {"path": "docs/checklists.md", "sha256": "..."},
     "execute": true}

Nothing here imports pytest or a client library: the stores and the checks
share this module, and read a stored record with :func:`read` (a file) or
:func:`from_json` (a ConfigMap's text), which go through the same reader as
every other file gonogo reads.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gonogo.errors import ConfigError
from gonogo.model.yamlsource import load_json, parse_json

SCHEMA = 1
RECORD_PROPERTY = "gonogo.record"
"""Report user property through which a check hands structured data to its
item in the run record (see the ``record_data`` fixture)."""
MESSAGE_LIMIT = 2000
"""A failure message longer than this is cut: the record is proof, not a log."""


class RecordError(ValueError):
    """A stored object that is not a run record; the message names the problem."""


@dataclass(frozen=True)
class ItemRecord:
    """One checklist item's result in a run."""

    title: str
    stage: str
    """The stage key: predeploy, staging, deploy, postdeploy, rollback, emergency."""
    phase: str
    nodeid: str
    outcome: str
    """passed | failed | skipped | blocked."""
    message: str = ""
    service: str | None = None
    measures: list[dict[str, Any]] = field(default_factory=list)
    """The check's evidence "measure" entries: name, value, limit, unit, service, ok."""
    signoff: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Structured data the check handed over for later runs (``record_data``)."""
    dry_run: bool = False

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass(frozen=True)
class RunRecord:
    """One run of one target."""

    id: str
    target: str
    release: str
    previous_release: str | None
    environment: str | None
    stages: list[str]
    phases: list[str]
    items: list[ItemRecord]
    verdict: str
    go: bool
    started: str
    finished: str
    gonogo_version: str
    checklist: dict[str, Any]
    execute: bool
    selection: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False
    schema: int = SCHEMA

    @property
    def finished_at(self) -> datetime:
        return _moment(self.finished)

    def item(self, title: str, stage: str | None = None) -> ItemRecord | None:
        """The item with ``title`` (in ``stage``); for an item run once per
        service, the first failed one, else the first."""
        found = self.items_titled(title, stage)
        failed = [i for i in found if not i.passed]
        chosen = failed or found
        return chosen[0] if chosen else None

    def items_titled(self, title: str, stage: str | None = None) -> list[ItemRecord]:
        return [i for i in self.items if i.title == title and stage in (None, i.stage)]

    def describe(self) -> str:
        """One line for evidence and messages."""
        mode = "executed" if self.execute else "dry run"
        return (
            f"run {self.id}: {self.target} {self.release} on {self.environment}, "
            f"finished {self.finished}, {mode}, gonogo {self.gonogo_version}, "
            f"checklist sha256 {str(self.checklist.get('sha256') or '?')[:12]}; "
            f"verdict: {self.verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


_SLUG = re.compile(r"[^a-z0-9.-]+")


def slug(text: str, limit: int = 40) -> str:
    """A lower-case piece of a file or object name; never empty."""
    return _SLUG.sub("-", text.lower()).strip("-.")[:limit].strip("-.") or "x"


def new_id(target: str, environment: str | None, release: str, finished: float) -> str:
    """Unique, sortable by time, and readable in ``ls`` or ``kubectl get``."""
    stamp = datetime.fromtimestamp(finished, UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = [stamp, slug(target), slug(environment or "all"), slug(release), secrets.token_hex(3)]
    return "-".join(parts)


def checklist_fingerprint(path: Path) -> dict[str, Any]:
    """The checklist file and its sha256 (None when it cannot be read)."""
    try:
        digest: str | None = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = None
    return {"path": str(path), "sha256": digest}


_REQUIRED = (
    "id",
    "target",
    "release",
    "environment",
    "stages",
    "items",
    "verdict",
    "go",
    "started",
    "finished",
    "gonogo_version",
    "execute",
)


def from_dict(data: Any) -> RunRecord:
    """Validate a decoded record; RecordError names the first problem."""
    if not isinstance(data, dict):
        raise RecordError("a run record is a JSON object")
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        raise RecordError(f"missing {', '.join(missing)}")
    if data.get("schema", SCHEMA) > SCHEMA:
        raise RecordError(
            f"schema {data['schema']} is newer than this gonogo reads ({SCHEMA}); upgrade gonogo"
        )
    try:
        items = [ItemRecord(**item) for item in data["items"]]
        record = RunRecord(
            id=str(data["id"]),
            target=str(data["target"]),
            release=str(data["release"]),
            previous_release=data.get("previous_release"),
            environment=data["environment"],
            stages=[str(s) for s in data["stages"]],
            phases=[str(p) for p in data.get("phases", [])],
            items=items,
            verdict=str(data["verdict"]),
            go=bool(data["go"]),
            started=str(data["started"]),
            finished=str(data["finished"]),
            gonogo_version=str(data["gonogo_version"]),
            checklist=dict(data.get("checklist") or {}),
            execute=bool(data["execute"]),
            selection=dict(data.get("selection") or {}),
            interrupted=bool(data.get("interrupted", False)),
            schema=int(data.get("schema", SCHEMA)),
        )
        record.finished_at  # noqa: B018 - validates the timestamp
    except (TypeError, ValueError) as e:
        raise RecordError(f"bad value: {e}") from e
    return record


def read(path: Path) -> RunRecord:
    """The record in the JSON file ``path``, read like every file gonogo reads
    (:func:`gonogo.model.yamlsource.load_json`); RecordError names the file (and
    the line of a syntax error) and the problem."""
    try:
        document = load_json(path)
    except ConfigError as e:
        raise RecordError(f"{_where(e, path)}: not a run record ({e.reason})") from None
    return _record_of(document.data, str(path))


def from_json(text: str, source: str) -> RunRecord:
    """The record in JSON ``text`` that came from ``source`` (a ConfigMap's
    name, say); RecordError names the source and the problem."""
    try:
        document = parse_json(text, source)
    except ConfigError as e:
        raise RecordError(f"{_where(e, source)}: not a run record ({e.reason})") from None
    return _record_of(document.data, source)


def _record_of(data: Any, source: str) -> RunRecord:
    try:
        return from_dict(data)
    except RecordError as e:
        raise RecordError(f"{source}: not a run record ({e})") from e


def _where(error: ConfigError, source: str | Path) -> str:
    return f"{source}:{error.line}" if error.line else str(source)


def matches(
    record: RunRecord, target: str, release: str, environment: str, stage: str | None
) -> bool:
    return (
        record.target == target
        and record.release == release
        and record.environment == environment
        and (stage is None or stage in record.stages)
    )


def newest_first(records: list[RunRecord]) -> list[RunRecord]:
    return sorted(records, key=lambda r: (r.finished_at, r.id), reverse=True)
