"""Evidence: what a check measured and saw, attached to its test for the report.

Checks call the ``evidence`` fixture; entries are redacted when recorded and
travel with the test report (``user_properties``), so they survive xdist and
reach the controller that writes the reports."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from gonogo.errors import ConfigError
from gonogo.model.rollback import CRITERIA, MEAN_RESPONSE_S
from gonogo.redact import redactor

USER_PROPERTY = "gonogo.engine.evidence"
"""Key of the report user property that carries a test's evidence as JSON."""


@dataclass
class Evidence:
    """The proof one check collects, in the order it was collected."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def note(self, title: str, text: str) -> None:
        """A line or paragraph of text (a query, a response summary)."""
        self.entries.append({"kind": "text", "title": title, "content": redactor.text(str(text))})

    def data(self, title: str, value: Any) -> None:
        """A JSON-able structure (a response body, a plan)."""
        self.entries.append({"kind": "json", "title": title, "content": redactor.data(value)})

    def table(self, title: str, rows: list[dict[str, Any]]) -> None:
        """Rows with the same keys: a per-service or per-node table."""
        self.entries.append({"kind": "table", "title": title, "content": redactor.data(rows)})

    def measure(
        self,
        name: str,
        value: float,
        *,
        limit: float | None = None,
        unit: str = "",
        service: str | None = None,
        ok: bool | None = None,
    ) -> None:
        """A figure and its limit. The names ``ERROR_RATE`` (a fraction) and
        ``MEAN_RESPONSE_S`` (seconds), from ``gonogo.model.rollback``, are judged
        against the environment's rollback criteria; pass those constants, not
        the bare strings. A name that is almost one of them is refused, because
        a typo there would silently switch the rollback trigger off."""
        _refuse_near_criterion(name)
        if ok is None and limit is not None:
            ok = value <= limit
        self.entries.append(
            {
                "kind": "measure",
                "title": name,
                "content": {
                    "name": name,
                    "value": value,
                    "limit": limit,
                    "unit": unit,
                    "service": service,
                    "ok": ok,
                },
            }
        )

    def attach(self, title: str, content: str, *, mime: str = "text/plain") -> None:
        """A file-like attachment (a chart as SVG, a screenshot as base64 PNG)."""
        body = content if mime.startswith("image/") else redactor.text(content)
        self.entries.append({"kind": "attachment", "title": title, "mime": mime, "content": body})

    def measurements(self) -> list[dict[str, Any]]:
        return [e["content"] for e in self.entries if e["kind"] == "measure"]

    def to_json(self) -> str:
        return json.dumps(self.entries, default=str)


EVIDENCE_KEY = pytest.StashKey[Evidence]()


def evidence_for(item: pytest.Item) -> Evidence:
    if EVIDENCE_KEY not in item.stash:
        item.stash[EVIDENCE_KEY] = Evidence()
    return item.stash[EVIDENCE_KEY]


def evidence_from_report(report: pytest.TestReport) -> list[dict[str, Any]]:
    """Every evidence entry carried by a test report (all phases)."""
    entries: list[dict[str, Any]] = []
    for key, value in report.user_properties:
        if key == USER_PROPERTY:
            entries.extend(json.loads(str(value)))
    return entries


def _refuse_near_criterion(name: str) -> None:
    """``error-rate``, ``error_ratio``, ``mean_response_ms``… are refused with
    the exact name the rollback criteria read."""
    if name in CRITERIA:
        return
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    for criterion in CRITERIA:
        if squashed == criterion.replace("_", "") or (
            difflib.SequenceMatcher(None, name.lower(), criterion).ratio() >= 0.85
        ):
            unit = "in seconds" if criterion == MEAN_RESPONSE_S else "a fraction"
            raise ConfigError(
                f"evidence.measure({name!r}): the rollback criteria read {criterion!r} "
                f"({CRITERIA[criterion][1]}, {unit}); "
                f"name the measurement {criterion!r}, or a name not close to it if it must not "
                "trigger a rollback"
            )
