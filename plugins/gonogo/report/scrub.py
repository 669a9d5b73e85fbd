"""Redaction of what pytest itself prints and passes on: failure text,
captured output, skip reasons and log records.

Evidence is redacted when a check records it; a secret can still reach the
terminal through an assertion message, a traceback's locals, captured
stdout or a log line. This plugin runs in every process that produces test
reports (the single process, or each xdist worker before the report is sent
to the controller), so every reporter downstream — terminal, JUnit, HTML,
Allure's failure trace — only ever sees the redacted report."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from gonogo.redact import redactor

_MAX_DEPTH = 12


def scrub(value: Any, depth: int = 0) -> Any:
    """Redact every string inside ``value``: strings, lists (in place), tuples,
    and the dataclasses pytest uses for failure representations (in place)."""
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return redactor.text(value)
    if isinstance(value, list):
        value[:] = [scrub(v, depth + 1) for v in value]
        return value
    if isinstance(value, tuple):
        return tuple(scrub(v, depth + 1) for v in value)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = scrub(value[key], depth + 1)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            current = getattr(value, f.name, None)
            cleaned = scrub(current, depth + 1)
            if cleaned is not current:
                object.__setattr__(value, f.name, cleaned)
        return value
    return value


def scrub_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Redact a report's failure or skip text and its captured sections, in place."""
    if report.longrepr is not None:
        report.longrepr = scrub(report.longrepr)
    report.sections[:] = [(title, redactor.text(body)) for title, body in report.sections]


class Scrubber:
    """Redacts reports as they are logged, and log records as they are made."""

    def __init__(self) -> None:
        self._previous_factory: Any = None

    def install_log_redaction(self) -> None:
        """Every log record's message (and formatted exception) is redacted at
        creation, so no handler — pytest's capture, live logging, a file —
        sees a secret."""
        previous = logging.getLogRecordFactory()
        self._previous_factory = previous

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                return record  # malformed args: logging reports that itself
            record.msg, record.args = redactor.text(message), None
            if record.exc_info and not record.exc_text:
                formatted = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redactor.text(formatted)
            return record

        logging.setLogRecordFactory(factory)

    def uninstall_log_redaction(self) -> None:
        if self._previous_factory is not None:
            logging.setLogRecordFactory(self._previous_factory)
            self._previous_factory = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scrub_report(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        scrub_report(report)

    def pytest_unconfigure(self) -> None:
        self.uninstall_log_redaction()
