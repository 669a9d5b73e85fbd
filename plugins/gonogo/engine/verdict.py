"""The verdict: GO or NO-GO, from the test reports and the run log.

Computed where reports arrive (the xdist controller or the single process),
from what travels with each report, so it is the same with or without xdist.

It fails closed. A check counts as passed only from a passed call report: a
test whose setup passed and whose call never reported (Ctrl-C, SIGTERM, a
crash, a dead worker) is *interrupted*, and an interrupted run is never GO. A
run in which nothing was checked (every selected check skipped) is not GO
either. The verdict also names its scope — the stages and phases selected and
how many of their checks ran — and calls a selection that left out checks of a
selected stage *partial*, so a GO over three paperwork items cannot pass for a
GO over the whole gate.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest

from gonogo.engine.gating import BLOCKED_PROPERTY
from gonogo.engine.markers import BINDING_PROPERTY
from gonogo.engine.runlog import RunLog

SIGNOFF_PROPERTY = "gonogo.signoff"


@dataclass
class CheckResult:
    """One bound test's outcome, as the reports tell it."""

    nodeid: str
    binding: dict[str, Any]
    outcome: str = "not_run"
    """not_run (no call report yet) | passed | failed | skipped | blocked | interrupted."""
    message: str = ""
    duration: float = 0.0
    signoff: dict[str, Any] | None = None
    user_properties: list[tuple[str, Any]] = field(default_factory=list)


@dataclass
class Scope:
    """What one target's run covered: the selected stages and phases, and how
    many of their checks were collected but left out by the selection."""

    stages: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    selected: int = 0
    left_out: int = 0
    """Checks of a selected stage deselected by -k, --deselect, --phase or --from-phase."""

    @property
    def partial(self) -> bool:
        return self.left_out > 0

    def words(self, ran: int) -> str:
        stages = ", ".join(self.stages) or "no stage"
        phases = f" ({len(self.phases)} phase{'s' if len(self.phases) != 1 else ''})"
        total = self.selected + self.left_out
        text = f"scope: {stages}{phases if self.phases else ''}, {ran} of {total} checks ran"
        if self.partial:
            text += f"; partial: {self.left_out} left out by the selection"
        return text

    @classmethod
    def from_runlog(cls, runlog: RunLog, target: str) -> Scope | None:
        """The scope the collecting process recorded (every xdist worker records
        the same one; the first is as good as any)."""
        for event in runlog.of_type(SCOPE_EVENT):
            if event.get("target") == target:
                return cls(
                    stages=list(event.get("stages", [])),
                    phases=list(event.get("phases", [])),
                    selected=int(event.get("selected", 0)),
                    left_out=int(event.get("left_out", 0)),
                )
        return None


SCOPE_EVENT = "scope"
"""Run-log event the collecting process records once per target."""


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
    interrupted_during: str | None = None
    """Set when the run was interrupted: "during <check>", "before any check
    ran" or "between two checks"."""
    scope: Scope = field(default_factory=Scope)

    @property
    def nothing_checked(self) -> bool:
        return self.passed == 0 and not self.failed and not self.blocked

    @property
    def ran(self) -> int:
        return self.passed + len(self.failed) + self.skipped

    def line(self, multi: bool = False) -> str:
        name = f" [{self.target}]" if multi and self.target else ""
        scope = self.scope.words(self.ran)
        if self.interrupted_during is not None:
            return (
                f"NO-GO{name} — interrupted {self.interrupted_during}; "
                f"{self.passed} checks passed before it; rollback: {self.rollback}; {scope}"
            )
        if self.go:
            label = "GO (partial)" if self.scope.partial else "GO"
            extra = f", {self.signed_off} signed off" if self.signed_off else ""
            skipped = f", {self.skipped} skipped" if self.skipped else ""
            return f"{label}{name} — {self.passed} checks passed{extra}{skipped}; {scope}"
        if not self.failed and self.nothing_checked:
            return (
                f"NO-GO{name} — nothing was checked: {self.skipped} checks skipped, "
                f"none passed; {scope}"
            )
        phase = self.first_failed_phase or "a check"
        return (
            f"NO-GO{name} — {phase} failed: {len(self.failed)} "
            f"check{'s' if len(self.failed) != 1 else ''}; {self.blocked} checks blocked; "
            f"rollback: {self.rollback}; {scope}"
        )


@dataclass
class Verdict:
    """GO when every bound check of every target passed and nothing was blocked."""

    targets: list[TargetVerdict]
    results: list[CheckResult]
    runlog: RunLog
    deselected: int = 0
    interrupted: str | None = None
    """Why the run stopped early ("interrupted", "internal error"), or None."""

    @property
    def go(self) -> bool:
        return bool(self.targets) and all(t.go for t in self.targets)

    @property
    def word(self) -> str:
        """The verdict in one word for banners: a partial GO is never a bare GO."""
        if not self.go:
            return "NO-GO"
        return "GO (partial)" if any(t.scope.partial for t in self.targets) else "GO"

    def lines(self) -> list[str]:
        multi = len(self.targets) > 1
        out = [t.line(multi) for t in self.targets]
        if multi:
            bad = [t.target for t in self.targets if not t.go]
            partial = any(t.scope.partial for t in self.targets)
            every = "GO (partial) — every target" if partial else "GO — every target"
            out.append(every if not bad else f"NO-GO — failed: {', '.join(bad)}")
        return out


class VerdictCollector:
    """Collects bound tests' reports on the process that receives them all."""

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}
        self.deselected = 0
        self.running: dict[str, str] = {}
        """nodeid -> location of each test that started and has not finished."""
        self.last_started: str | None = None

    @pytest.hookimpl
    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.running[nodeid] = location[2]
        self.last_started = nodeid

    @pytest.hookimpl
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running.pop(nodeid, None)

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
            crashed = _CRASH in str(report.longrepr or "")
            result.outcome = "interrupted" if crashed else "failed"
            result.message = _message(report)
        elif report.skipped and result.outcome in ("not_run", "passed"):
            result.outcome = "blocked" if BLOCKED_PROPERTY in props else "skipped"
            result.message = _message(report)
        elif report.when == "call" and report.passed and result.outcome == "not_run":
            # Only a passed call makes a check pass: setup passing proves nothing.
            result.outcome = "passed"

    def interrupted_during(self, interrupted: str | None) -> dict[str, str]:
        """target -> when the interruption came ("during <check>"), marking the
        checks it cut short as interrupted. Empty when the run ran to its end."""
        during: dict[str, str] = {}
        for nodeid in self.running if interrupted is not None else ():
            result = self.results.get(nodeid)
            if result is None:
                during.setdefault("", f"during {nodeid}")
                continue
            if result.outcome in ("not_run", "passed"):
                result.outcome = "interrupted"
                result.message = f"{interrupted} while this check ran"
            during.setdefault(result.binding.get("target", ""), f"during {result.binding['title']}")
        for result in self.results.values():
            if result.outcome == "not_run":
                # Setup passed and no call ever reported: nothing proves it ran.
                result.outcome = "interrupted"
                result.message = (
                    f"{interrupted} before this check finished"
                    if interrupted
                    else "the check started but never reported a result"
                )
            if result.outcome == "interrupted":
                during.setdefault(
                    result.binding.get("target", ""), f"during {result.binding['title']}"
                )
        if "" in during and len(during) > 1:
            during.pop("")
        return during

    def verdict(
        self, runlog: RunLog, target_order: list[str], interrupted: str | None = None
    ) -> Verdict | None:
        """The verdict, or None when the run had no bound check and no target.

        ``interrupted`` says why the run stopped early (None when it ran to its end)."""
        during = self.interrupted_during(interrupted)
        by_target: dict[str, list[CheckResult]] = defaultdict(list)
        for r in self.results.values():
            by_target[r.binding.get("target", "")].append(r)
        if not by_target and not target_order:
            return None
        scoped = [e.get("target", "") for e in runlog.of_type(SCOPE_EVENT)]
        order = [t for t in target_order if t in by_target or t in scoped or not by_target]
        order += sorted(t for t in by_target if t not in order)
        targets = []
        for t in order:
            results = by_target.get(t, [])
            failed = [r for r in results if r.outcome == "failed"]
            blocked = sum(r.outcome == "blocked" for r in results)
            passed = sum(r.outcome == "passed" for r in results)
            stopped = during.get(t) or (during.get("") if len(during) == 1 else None)
            if stopped is None and interrupted is not None:
                stopped = "before any check ran" if not results else "between two checks"
            gates = [e for e in runlog.of_type("gate_closed") if e["target"] == t]
            first_phase = (
                gates[0]["short"]
                if gates
                else (failed[0].binding["phase_short"] if failed else None)
            )
            targets.append(
                TargetVerdict(
                    target=t,
                    go=not failed and not blocked and passed > 0 and stopped is None,
                    passed=passed,
                    failed=failed,
                    blocked=blocked,
                    skipped=sum(r.outcome == "skipped" for r in results),
                    first_failed_phase=first_phase,
                    rollback=rollback_status(runlog, t),
                    signed_off=sum(r.signoff is not None for r in results),
                    interrupted_during=stopped,
                    scope=Scope.from_runlog(runlog, t) or Scope(selected=len(results)),
                )
            )
        return Verdict(
            targets=targets,
            results=list(self.results.values()),
            runlog=runlog,
            deselected=self.deselected,
            interrupted=interrupted,
        )


_CRASH = "crashed while running"
"""What pytest-xdist says of the test a dead worker was running."""


def rollback_status(runlog: RunLog, target: str) -> str:
    """The rollback's words for the verdict line: exactly what happened.

    "would" for a dry run, where nothing changed; "rolled back" only for steps
    that changed the cluster, and "verified on <release>" only when each
    service was seen running the previous release afterwards."""
    events = [e for e in runlog.of_type("rollback") if e["target"] == target]
    if not events:
        return "not triggered"
    return rollback_words(events[-1])


def is_dry_run(event: dict[str, Any]) -> bool:
    """True when a rollback event's steps only said what they would do."""
    return any(str(s["result"]).startswith("would") for s in event.get("steps") or [])


def rollback_words(e: dict[str, Any]) -> str:
    """One rollback event in words (see ``rollback_status``)."""
    why = e["trigger"]["reason"]
    if e["mode"] == "off":
        return f"triggered ({why}), off (--rollback=off)"
    if e.get("error"):
        return f"triggered ({why}), {e['error']}"
    steps = e.get("steps", [])
    n = len(e["plan"]["steps"]) if e.get("plan") else len(steps)
    if e.get("plan") is not None and n == 0:
        release = e["plan"].get("release") or "the release"
        return f"triggered ({why}), nothing to roll back: no deployment runs {release}"
    if e["mode"] == "plan":
        return (
            f"triggered ({why}), planned, not executed: {n} deployments would be rolled back "
            "(pass --rollback=auto --execute)"
        )
    to = (e.get("plan") or {}).get("to_release") or "the previous release"
    bad = [s for s in steps if str(s["result"]).startswith(("failed", "not run"))]
    if bad:
        return (
            f"triggered ({why}), rollback FAILED: {len(bad)} of {len(steps)} steps failed "
            f"or did not run; the cluster may run mixed releases, see the rollback steps"
        )
    if is_dry_run(e):
        return (
            f"triggered ({why}), dry run: {len(steps)} deployments would be rolled back to "
            f"{to}; nothing changed (pass --execute)"
        )
    verified = sum(f"verified on {to}" in str(s["result"]) for s in steps)
    if verified == len(steps):
        return f"triggered ({why}), rolled back: {len(steps)} deployments, verified on {to}"
    return (
        f"triggered ({why}), rolled back: {len(steps)} deployments, {verified} verified on "
        f"{to}, {len(steps) - verified} not verified (no version endpoint or result)"
    )


def _message(report: pytest.TestReport) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message)
    return str(report.longrepr or "")
