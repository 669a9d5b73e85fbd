"""Allure results with the checklist's structure: stage as parent suite, phase
as suite, the item as sub-suite and title, and each evidence entry as an
attachment (inside a step named after the entry).

allure-pytest writes its result files from the process that runs the test
(each xdist worker), so the labels and attachments are added there, through
allure's public ``allure.dynamic`` and ``allure.attach`` API, while the test
is still open. At the end of the session the controller redacts every
result file, because allure records failure messages from the exception
itself, before pytest's report is redacted."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from gonogo.engine.evidence import EVIDENCE_KEY
from gonogo.engine.markers import BINDING_KEY
from gonogo.redact import redactor
from gonogo.report.charts import TIMESERIES_MIME


def _attachment_type(mime: str) -> Any:
    import allure

    types = {
        "image/png": allure.attachment_type.PNG,
        "image/jpeg": allure.attachment_type.JPG,
        "image/svg+xml": allure.attachment_type.SVG,
        "application/json": allure.attachment_type.JSON,
        TIMESERIES_MIME: allure.attachment_type.JSON,
        "text/html": allure.attachment_type.HTML,
        "text/csv": allure.attachment_type.CSV,
    }
    return types.get(mime, allure.attachment_type.TEXT)


def attach_entry(entry: dict[str, Any]) -> None:
    """One evidence entry as an Allure step holding an attachment."""
    import base64

    import allure

    kind, title = entry.get("kind"), str(entry.get("title") or entry.get("kind"))
    content = entry.get("content")
    with allure.step(redactor.text(f"{kind}: {title}")):
        if kind == "attachment":
            mime = str(entry.get("mime") or "text/plain")
            body: Any = content
            if mime in ("image/png", "image/jpeg") and isinstance(content, str):
                body = base64.b64decode(content)
            allure.attach(body, name=title, attachment_type=_attachment_type(mime))
        elif kind == "text":
            allure.attach(redactor.text(str(content)), name=title)
        else:
            allure.attach(
                json.dumps(redactor.data(content), indent=2, default=str),
                name=title,
                attachment_type=allure.attachment_type.JSON,
            )


class AllureGlue:
    """Labels and evidence for allure-pytest, in the process that runs the tests."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report = yield
        binding = item.stash.get(BINDING_KEY, None)
        if binding is None:
            return report
        decided = call.when == "call" or (call.when == "setup" and not report.passed)
        if not decided:
            return report
        import allure

        phase = binding.item.phase
        assert phase is not None
        title = binding.item.title + (f" [{binding.service}]" if binding.service else "")
        allure.dynamic.parent_suite(binding.item.stage.title)
        allure.dynamic.suite(phase.title)
        allure.dynamic.sub_suite(binding.item.parent.title if binding.item.parent else title)
        allure.dynamic.title(title)
        allure.dynamic.label("gonogo_stage", binding.stage_key)
        if binding.target_id:
            allure.dynamic.label("gonogo_target", binding.target_id)
        evidence = item.stash.get(EVIDENCE_KEY, None)
        if evidence is not None and call.when == "call":
            for entry in evidence.entries:
                attach_entry(entry)
        return report


def redact_results(directory: Path, since: float) -> int:
    """Redact the text files Allure wrote into ``directory`` since ``since``
    (epoch seconds); returns how many changed. Binary attachments are left alone."""
    changed = 0
    if not directory.is_dir():
        return 0
    for path in directory.iterdir():
        if not path.is_file() or path.stat().st_mtime < since - 1:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".json":
            try:
                cleaned = json.dumps(redactor.data(json.loads(text)))
            except ValueError:
                cleaned = redactor.text(text)
        else:
            cleaned = redactor.text(text)
        if cleaned != text:
            path.write_text(cleaned, encoding="utf-8")
            changed += 1
    return changed
