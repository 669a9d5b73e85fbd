"""The run's own record: phases finished, gates closed, rollbacks planned or
run. Tests run on xdist workers while reports are written by the controller,
so workers ship their record home in ``workeroutput`` and the controller
merges it; without xdist it is one list in one process."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

WORKEROUTPUT_KEY = "gonogo_runlog"


@dataclass
class RunLog:
    """Events in the order they happened; each a JSON-able dict with a ``type``."""

    events: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, type_: str, **data: Any) -> dict[str, Any]:
        event = {"type": type_, "time": time.time(), **data}
        self.events.append(event)
        return event

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == type_]

    def extend_from_json(self, payload: str) -> None:
        self.events.extend(json.loads(payload))
        self.events.sort(key=lambda e: e.get("time", 0))

    def to_json(self) -> str:
        return json.dumps(self.events, default=str)


RUNLOG_KEY = pytest.StashKey[RunLog]()


def runlog_of(config: pytest.Config) -> RunLog:
    if RUNLOG_KEY not in config.stash:
        config.stash[RUNLOG_KEY] = RunLog()
    return config.stash[RUNLOG_KEY]
