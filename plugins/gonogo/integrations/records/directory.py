"""The directory record store: one JSON file per run record.

Embedded and serverless: ``<reports dir>/records/`` by default, or the target's
``records.path``. Two CI jobs share proof when they share this directory (a
cache, a mounted volume, an artifact downloaded before the run). Files are
written atomically, so a reader never sees half a record; files that are not
records are passed over, so a directory shared with other output cannot hide a
good record behind a bad file."""

from __future__ import annotations

import json
from pathlib import Path

from gonogo.errors import ProbeError
from gonogo.model.records import RecordError, RunRecord, matches, newest_first, slug
from gonogo.model.records import read as read_record
from gonogo.model.yamlsource import replace_atomically

SUFFIX = ".json"
PREFIX = "run-"


class DirectoryStore:
    """Run records as ``run-<id>.json`` files in one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.where = f"directory {self.directory}"

    def put(self, record: RunRecord) -> str:
        try:
            path = self.directory / f"{PREFIX}{slug(record.id, 120)}{SUFFIX}"
            replace_atomically(path, json.dumps(record.to_dict(), indent=1, default=str))
        except OSError as e:
            raise ProbeError(
                f"cannot write the run record into {self.directory}: {e}; make the directory "
                "writable or set records.path in the target"
            ) from e
        return str(path)

    def read(self, path: Path) -> RunRecord:
        return read_record(path)

    def find(
        self, target: str, release: str, environment: str, stage: str | None = None
    ) -> list[RunRecord]:
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob(f"{PREFIX}*{SUFFIX}"):
            try:
                record = self.read(path)
            except RecordError:
                continue
            if matches(record, target, release, environment, stage):
                found.append(record)
        return newest_first(found)

    def close(self) -> None:
        """Nothing to release; here for the protocol."""
