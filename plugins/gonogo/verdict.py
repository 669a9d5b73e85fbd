"""The verdict: GO or NO-GO, from the test reports and the run log.

Computed where reports arrive (the xdist controller or the single process),
from what travels with each report, so it is the same with or without xdist.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from gonogo.gating import BLOCKED_PROPERTY
from gonogo.markers import BINDING_PROPERTY
from gonogo.runlog import RunLog

SIGNOFF_PROPERTY = "gonogo.signoff"


@dataclass
class CheckResult:
    """One bound test's outcome, as the reports tell it."""

    nodeid: str
    binding: dict[str, Any]
    outcome: str = "passed"
    """passed | failed | skipped | blocked."""
    message: str = ""
    duration: float = 0.0
    signoff: dict[str, Any] | None = None
    user_properties: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class TargetVerdict:
    target: str
    go: bool
    passed: int
    failed: list[CheckResult]
    blocked: int
    skipped: int
    first_failed_phase: str | None
    rollback: str
    signed_off: int

    def line(self, multi: bool = False) -> str:
        name = f" [{self.target}]" if multi and self.target else ""
        if self.go:
            extra = f", {self.signed_off} signed off" if self.signed_off else ""
            skipped = f", {self.skipped} skipped" if self.skipped else ""
            return f"GO{name} — {self.passed} checks passed{extra}{skipped}"
        phase = self.first_failed_phase or "a check"
        return (
            f"NO-GO{name} — {phase} failed: {len(self.failed)} "
            f"check{'s' if len(self.failed) != 1 else ''}; {self.blocked} checks blocked; "
            f"rollback: {self.rollback}"
        )


@dataclass
class Verdict:
    """GO when every bound check of every target passed and nothing was blocked."""

    targets: list[TargetVerdict]
    results: list[CheckResult]
    runlog: RunLog
    deselected: int = 0

    @property
    def go(self) -> bool:
        return all(t.go for t in self.targets)

    def lines(self) -> list[str]:
        multi = len(self.targets) > 1
        out = [t.line(multi) for t in self.targets]
        if multi:
            bad = [t.target for t in self.targets if not t.go]
            out.append("GO — every target" if not bad else f"NO-GO — failed: {', '.join(bad)}")
        return out


class VerdictCollector:
    """Collects bound tests' reports on the process that receives them all."""

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}
        self.deselected = 0

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if BINDING_PROPERTY not in props:
            return
        result = self.results.get(report.nodeid)
        if result is None:
            result = CheckResult(
                nodeid=report.nodeid, binding=json.loads(str(props[BINDING_PROPERTY]))
            )
            self.results[report.nodeid] = result
        # setup, call and teardown each report; keep what every one of them carried
        result.user_properties.extend(
            p for p in report.user_properties if p not in result.user_properties
        )
        result.duration += report.duration
        if SIGNOFF_PROPERTY in props:
            result.signoff = json.loads(str(props[SIGNOFF_PROPERTY]))
        if report.failed:
            result.outcome = "failed"
            result.message = _message(report)
        elif report.skipped and result.outcome == "passed":
            result.outcome = "blocked" if BLOCKED_PROPERTY in props else "skipped"
            result.message = _message(report)

    def verdict(self, runlog: RunLog, target_order: list[str]) -> Verdict | None:
        if not self.results:
            return None
        by_target: dict[str, list[CheckResult]] = defaultdict(list)
        for r in self.results.values():
            by_target[r.binding.get("target", "")].append(r)
        order = [t for t in target_order if t in by_target] + sorted(
            t for t in by_target if t not in target_order
        )
        targets = []
        for t in order:
            results = by_target[t]
            failed = [r for r in results if r.outcome == "failed"]
            blocked = sum(r.outcome == "blocked" for r in results)
            gates = [e for e in runlog.of_type("gate_closed") if e["target"] == t]
            first_phase = (
                gates[0]["short"]
                if gates
                else (failed[0].binding["phase_short"] if failed else None)
            )
            targets.append(
                TargetVerdict(
                    target=t,
                    go=not failed and not blocked,
                    passed=sum(r.outcome == "passed" for r in results),
                    failed=failed,
                    blocked=blocked,
                    skipped=sum(r.outcome == "skipped" for r in results),
                    first_failed_phase=first_phase,
                    rollback=rollback_status(runlog, t),
                    signed_off=sum(r.signoff is not None for r in results),
                )
            )
        return Verdict(
            targets=targets,
            results=list(self.results.values()),
            runlog=runlog,
            deselected=self.deselected,
        )


def rollback_status(runlog: RunLog, target: str) -> str:
    events = [e for e in runlog.of_type("rollback") if e["target"] == target]
    if not events:
        return "not triggered"
    e = events[-1]
    why = e["trigger"]["reason"]
    if e["mode"] == "off":
        return f"triggered ({why}), off (--rollback=off)"
    if e.get("error"):
        return f"triggered ({why}), {e['error']}"
    if e["mode"] == "plan":
        return f"triggered ({why}), planned, not executed (pass --rollback=auto)"
    steps = e.get("steps", [])
    bad = [s for s in steps if str(s["result"]).startswith(("failed", "not run"))]
    if bad:
        return f"triggered ({why}), executed with {len(bad)} of {len(steps)} steps failing"
    return f"triggered ({why}), executed: {len(steps)} deployments rolled back"


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "")
