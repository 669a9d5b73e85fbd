"""The end of a run: evidence attached to each report, the runs of xdist
workers merged, the verdict reached (fail closed on an interrupt or an
internal error), the exit status set and the verdict printed."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from gonogo.engine.evidence import EVIDENCE_KEY, USER_PROPERTY
from gonogo.engine.interrupts import interrupt_signal
from gonogo.engine.run import TARGETS_KEY, is_worker
from gonogo.engine.runlog import WORKEROUTPUT_KEY, runlog_of
from gonogo.engine.settings import get_settings
from gonogo.engine.verdict import VerdictCollector

COLLECTOR_KEY = pytest.StashKey[VerdictCollector]()
"""The verdict collector, where reports arrive (the controller under xdist)."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    if call.when == "call" and EVIDENCE_KEY in item.stash:
        report.user_properties.append((USER_PROPERTY, item.stash[EVIDENCE_KEY].to_json()))
    mutating = item.get_closest_marker("mutating") is not None
    dry_run = mutating and not get_settings(item.config).execute
    if dry_run and ("gonogo.dry_run", True) not in report.user_properties:
        report.user_properties.append(("gonogo.dry_run", True))
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = get_settings(config)
    targets = config.stash[TARGETS_KEY]
    if not targets and not settings.list_checklist:
        return []
    mode = "execute" if settings.execute else "dry run (pass --execute to change the cluster)"
    names = ", ".join(f"{tid} ({t.release})" for tid, t in targets.items()) or "none"
    return [
        f"gonogo: checklist {settings.checklist}; targets: {names}; "
        f"env: {settings.environment or 'all'}; {mode}; rollback: {settings.rollback}"
        + ("" if settings.gate else "; gates off (--no-gate)")
    ]


def pytest_testnodedown(node: Any, error: Any) -> None:
    payload = getattr(node, "workeroutput", {}).get(WORKEROUTPUT_KEY)
    if payload:
        runlog_of(node.config).extend_from_json(payload)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if is_worker(config):
        config.workeroutput[WORKEROUTPUT_KEY] = runlog_of(config).to_json()  # type: ignore[attr-defined]
        return
    collector = config.stash.get(COLLECTOR_KEY, None)
    if collector is None or get_settings(config).list_checklist or config.option.collectonly:
        return
    if exitstatus == pytest.ExitCode.USAGE_ERROR:
        # The run never started: no verdict, so no record and no checklist.md.
        return
    targets: dict[str, Any] = config.stash[TARGETS_KEY]
    interrupted = _interruption(session, exitstatus)
    if interrupted is not None and session.exitstatus != pytest.ExitCode.INTERNAL_ERROR:
        session.exitstatus = pytest.ExitCode.INTERRUPTED
    verdict = collector.verdict(runlog_of(config), list(targets.keys()), interrupted=interrupted)
    if verdict is None:
        return
    config.stash[VERDICT_KEY] = verdict
    config.hook.pytest_gonogo_verdict(verdict=verdict, config=config)
    if not verdict.go and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        # pytest prints no terminal summary after an internal error: the verdict
        # line must not go missing with it.
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            pytest_terminal_summary(tr, config)


VERDICT_KEY = pytest.StashKey[Any]()


def _interruption(session: pytest.Session, exitstatus: int) -> str | None:
    """Why the run stopped before its end, or None when it ran to its end."""
    signal_name = interrupt_signal(session.config)
    if signal_name is not None:
        return f"{signal_name} received"
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        return "internal error"
    return None


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    verdict = config.stash.get(VERDICT_KEY, None)
    if verdict is None:
        return
    tr = terminalreporter
    signed = [r for r in verdict.results if r.signoff]
    if signed:
        tr.write_sep("-", "sign-offs")
        operator = next((r.signoff["operator"] for r in signed if r.signoff.get("operator")), None)
        tr.write_line(f"release run by {operator or 'an unknown operator'}")
        for r in signed:
            s = r.signoff
            ref = s.get("ticket") or s.get("link") or "no ticket"
            tr.write_line(f"{r.binding['title']}: {s['who']} ({s['role']}) at {s['when']}, {ref}")
    for event in verdict.runlog.of_type("rollback"):
        tr.write_sep("-", f"rollback ({event['target']})")
        tr.write_line(f"trigger: {event['trigger']['reason']}")
        if event.get("plan_text"):
            tr.write_line(event["plan_text"])
        for step in event.get("steps", []):
            tr.write_line(
                f"  deployment/{step['deployment']}: revision {step['from_revision']} -> "
                f"{step['to_revision']}: {step['result']} ({step['duration']:.1f} s)"
            )
        if event.get("error"):
            tr.write_line(f"rollback: {event['error']}")
    tr.write_sep("=", "gonogo verdict")
    for line in verdict.lines():
        tr.write_line(line, bold=True, green=line.startswith("GO"), red=line.startswith("NO-GO"))
