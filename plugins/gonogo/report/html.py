"""The approver's HTML report, built on pytest-html through its hooks and extras.

pytest-html writes the file (one self-contained page); this plugin adds what
an approver needs: the verdict banner and the checklist view in the summary,
the checklist item and phase as columns of the results table, and each
test's evidence as an HTML extra of its row. Registered only where reports
are written (never on an xdist worker)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

import pytest

from gonogo.engine.evidence import USER_PROPERTY
from gonogo.engine.markers import BINDING_PROPERTY
from gonogo.redact import redactor
from gonogo.report import htmlview
from gonogo.report.context import run_view


def _binding(report: pytest.TestReport) -> dict[str, Any] | None:
    # collection reports carry no user properties
    for key, value in getattr(report, "user_properties", ()):
        if key == BINDING_PROPERTY:
            return json.loads(str(value))
    return None


class HtmlReport:
    """pytest-html hook implementations."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Redact the environment table (pytest-metadata) before pytest-html reads it."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = session.config.stash.get(metadata_key, None)
        if metadata:
            for key in list(metadata):
                metadata[key] = redactor.data(metadata[key])

    def pytest_html_report_title(self, report: Any) -> None:
        from gonogo.engine.run import TARGETS_KEY
        from gonogo.engine.settings import get_settings

        targets = self.config.stash[TARGETS_KEY]
        names = ", ".join(f"{tid} {t.release}" for tid, t in targets.items())
        env = get_settings(self.config).environment
        report.title = "gonogo" + (f" — {names}" if names else "") + (f" ({env})" if env else "")

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(1, '<th class="sortable" data-column-type="item">Checklist item</th>')
        cells.insert(2, '<th class="sortable" data-column-type="phase">Phase</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        binding = _binding(report) or {}
        title = binding.get("title", "")
        if binding.get("service"):
            title += f" [{binding['service']}]"
        cells.insert(1, f'<td class="col-item">{escape(redactor.text(title))}</td>')
        cells.insert(2, f'<td class="col-phase">{escape(binding.get("phase_short", ""))}</td>')

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Attach a bound test's evidence to its row, once, on the report of
        the phase that decided it (call, or setup when it never got there)."""
        binding = _binding(report)
        if binding is None:
            return
        decided = report.when == "call" or (report.when == "setup" and not report.passed)
        if not decided:
            return
        from pytest_html import extras

        entries: list[dict[str, Any]] = []
        for key, value in report.user_properties:
            if key == USER_PROPERTY:
                entries.extend(json.loads(str(value)))
        message = ""
        if not report.passed:
            crash = getattr(report.longrepr, "reprcrash", None)
            if isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2])
            elif crash is not None:
                message = str(crash.message)
        if not entries and not message:
            return
        title = binding["title"] + (f" [{binding['service']}]" if binding.get("service") else "")
        existing = list(getattr(report, "extras", []) or [])
        existing.append(extras.html(htmlview.evidence_html(title, entries, message)))
        report.extras = existing  # type: ignore[attr-defined]

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        view = run_view(session.config)
        if view is None:
            prefix.append(
                '<section id="gonogo-banner" class="gonogo-banner none">'
                '<div class="verdict">no verdict</div><p>No test bound to a checklist item ran.'
                "</p></section>"
            )
            return
        prefix.append(htmlview.full_view(view))
