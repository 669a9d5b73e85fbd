"""Where the writers get the run from: the verdict, the checklist and the
targets the core plugin keeps on the config.

pytest-html renders its summary in its own ``pytest_sessionfinish``, which
may run before the core has published the verdict; the verdict is then
computed here from the same collector and run log (it is a pure function of
them), so every writer shows the same answer."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gonogo.engine.evidence import evidence_from_report
from gonogo.engine.settings import get_settings
from gonogo.engine.verdict import Verdict
from gonogo.errors import ConfigError
from gonogo.report.model import RunView, build_view

_VIEW_KEY = pytest.StashKey[RunView]()
EVIDENCE_BY_NODE_KEY = pytest.StashKey[dict[str, list[dict[str, Any]]]]()
"""Evidence entries by test id, gathered from the reports where they arrive."""


def record_evidence(config: pytest.Config, report: pytest.TestReport) -> None:
    entries = evidence_from_report(report)
    if entries:
        store = config.stash.setdefault(EVIDENCE_BY_NODE_KEY, {})
        store.setdefault(report.nodeid, []).extend(entries)


def verdict_of(config: pytest.Config) -> Verdict | None:
    from gonogo.engine.outcome import COLLECTOR_KEY, VERDICT_KEY
    from gonogo.engine.run import TARGETS_KEY
    from gonogo.engine.runlog import runlog_of

    verdict = config.stash.get(VERDICT_KEY, None)
    if verdict is not None:
        return verdict
    collector = config.stash.get(COLLECTOR_KEY, None)
    if collector is None:
        return None
    targets: dict[str, Any] = config.stash[TARGETS_KEY]
    return collector.verdict(runlog_of(config), list(targets))


def run_view(config: pytest.Config, verdict: Verdict | None = None) -> RunView | None:
    """The report model of this run, or None when no bound check ran. Built
    once the session is over and reused by every writer."""
    cached = config.stash.get(_VIEW_KEY, None)
    if cached is not None:
        return cached
    verdict = verdict or verdict_of(config)
    if verdict is None:
        return None
    from gonogo.engine.run import TARGETS_KEY, checklist_of

    settings = get_settings(config)
    try:
        checklist = checklist_of(config)
    except ConfigError:
        return None
    view = build_view(
        verdict,
        checklist,
        stage_order=list(settings.stage_order),
        targets=config.stash[TARGETS_KEY],
        environment=settings.environment,
        kube_context=settings.kube_context,
        execute=settings.execute,
        rollback_mode=settings.rollback,
        finished=time.time(),
        evidence=config.stash.get(EVIDENCE_BY_NODE_KEY, {}),
        reports_dir=settings.reports_dir,
    )
    config.stash[_VIEW_KEY] = view
    return view
