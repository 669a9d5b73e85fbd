"""Every phase is a gate: a failure in it blocks what comes later on the timeline.

Modelled on pytest's stepwise plugin: a class plugin, registered only in the
process that runs the tests (the xdist worker, or the single process), that
watches reports and skips later tests with the reason
``blocked by <phase>: <failed items>``. Gates are kept per target, so one
target's failure never blocks another's timeline. Remedial stages (rollback,
emergency) exist for failures and are never blocked.

When a phase fails, the gatekeeper also asks the environment's rollback
criteria whether to roll back, and plans or runs the rollback through the
``pytest_gonogo_rollback_plan`` / ``pytest_gonogo_rollback`` hooks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from gonogo.engine.evidence import evidence_from_report
from gonogo.engine.markers import BINDING_KEY, Binding
from gonogo.engine.runlog import RunLog
from gonogo.engine.settings import Settings
from gonogo.model.checklist import Phase
from gonogo.model.rollback import Failure, Measurement, evaluate_trigger

BLOCKED_PROPERTY = "gonogo.blocked"


@dataclass
class _PhaseRun:
    phase: Phase
    started: float = field(default_factory=time.time)
    passed: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)


@dataclass
class _Timeline:
    """Gate state of one target's timeline."""

    current: _PhaseRun | None = None
    closed_by: _PhaseRun | None = None
    rollback_done: bool = False


class Gatekeeper:
    """Tracks phases per target, closes gates, triggers rollbacks."""

    def __init__(
        self, config: pytest.Config, settings: Settings, runlog: RunLog, targets: dict[str, Any]
    ):
        self.config = config
        self.settings = settings
        self.runlog = runlog
        self.targets = targets
        self.timelines: dict[str, _Timeline] = {}
        self.bindings: dict[str, Binding] = {}

    # -- phases -------------------------------------------------------------

    def _timeline(self, target_id: str) -> _Timeline:
        return self.timelines.setdefault(target_id, _Timeline())

    def _enter(self, binding: Binding) -> _Timeline:
        timeline = self._timeline(binding.target_id)
        phase = binding.item.phase
        assert phase is not None
        if timeline.current is None or timeline.current.phase is not phase:
            if timeline.current is not None:
                self._finish(binding.target_id, timeline)
            timeline.current = _PhaseRun(phase)
        return timeline

    def _finish(self, target_id: str, timeline: _Timeline) -> None:
        run = timeline.current
        if run is None:
            return
        timeline.current = None
        phase = run.phase
        self.runlog.add(
            "phase",
            target=target_id,
            stage=phase.stage.title,
            stage_key=phase.stage.name,
            phase=phase.title,
            short=phase.short_name,
            offset=phase.offset_minutes,
            start=run.started,
            duration=time.time() - run.started,
            passed=run.passed,
            failed=run.failed,
            skipped=run.skipped,
        )
        self.config.hook.pytest_gonogo_phase_finished(
            target_id=target_id,
            phase=phase,
            passed=run.passed,
            failed=list(run.failed),
            skipped=run.skipped,
        )
        if not run.failed or phase.stage.remedial:
            return
        if self.settings.gate and timeline.closed_by is None:
            timeline.closed_by = run
            self.runlog.add(
                "gate_closed",
                target=target_id,
                phase=phase.title,
                short=phase.short_name,
                failed=run.failed,
            )
            self.config.hook.pytest_gonogo_gate_closed(
                target_id=target_id, phase=phase, failed=list(run.failed)
            )
        if not timeline.rollback_done:
            timeline.rollback_done = self._consider_rollback(target_id, run)

    def _consider_rollback(self, target_id: str, run: _PhaseRun) -> bool:
        """Plan or run a rollback when the environment's criteria are met.
        Returns True when the question is settled for this target."""
        target = self.targets.get(target_id)
        env = self.settings.environment
        if target is None or env is None:
            return False
        criteria = target.environment(env).rollback
        failure = Failure(
            target_id=target_id,
            stage=run.phase.stage.name,
            phase=run.phase.short_name,
            failed_items=list(run.failed),
            measurements=list(run.measurements),
        )
        trigger = evaluate_trigger(criteria, failure)
        if trigger is None:
            return False
        event = self.runlog.add(
            "rollback",
            target=target_id,
            mode=self.settings.rollback,
            phase=run.phase.short_name,
            trigger={
                "reason": trigger.reason,
                "criterion": trigger.criterion,
                "measured": trigger.measured,
                "limit": trigger.limit,
            },
            plan=None,
            steps=[],
            error=None,
        )
        if self.settings.rollback == "off":
            return True
        if getattr(target, "previous_release", None) is None:
            event["error"] = (
                "nothing to roll back to: the target names no previous_release; "
                "add previous_release to the target file"
            )
            return True
        hook = self.config.hook
        plan = hook.pytest_gonogo_rollback_plan(
            target=target, environment=env, failure=failure, settings=self.settings
        )
        if plan is None:
            event["error"] = "no rollback plan could be built"
            return True
        plan.reason = trigger.reason
        event["plan"] = plan.to_dict()
        event["plan_text"] = plan.render()
        if self.settings.rollback != "auto":
            return True
        started = time.time()
        steps = hook.pytest_gonogo_rollback(
            plan=plan, target=target, environment=env, settings=self.settings
        )
        event["duration"] = time.time() - started
        if steps is None:
            event["error"] = (
                "no rollback implementation answered; "
                "install a plugin that implements pytest_gonogo_rollback"
            )
        else:
            event["steps"] = [
                {
                    "deployment": s.deployment,
                    "from_revision": s.from_revision,
                    "to_revision": s.to_revision,
                    "result": s.result,
                    "duration": s.duration_s,
                }
                for s in steps
            ]
        return True

    # -- pytest hooks -------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        binding = item.stash.get(BINDING_KEY, None)
        if binding is None:
            return
        self.bindings[item.nodeid] = binding
        timeline = self._enter(binding)
        closed = timeline.closed_by
        if closed is None or binding.remedial or not self.settings.gate:
            return
        reason = f"blocked by {closed.phase.short_name}: {', '.join(closed.failed)}"
        item.user_properties.append((BLOCKED_PROPERTY, closed.phase.short_name))
        pytest.skip(reason)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        binding = self.bindings.get(report.nodeid)
        if binding is None:
            return
        timeline = self._timeline(binding.target_id)
        run = timeline.current
        if run is None:
            return
        for m in evidence_from_report(report):
            if m.get("kind") == "measure":
                c = m["content"]
                if c.get("ok") is False:
                    run.measurements.append(
                        Measurement(
                            c["name"], float(c["value"]), c.get("service"), binding.item.title
                        )
                    )
        title = binding.item.title + (f" [{binding.service}]" if binding.service else "")
        if report.failed:
            if title not in run.failed:
                run.failed.append(title)
        elif report.when == "call" and report.passed:
            run.passed += 1
        elif report.skipped:
            run.skipped += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for target_id, timeline in self.timelines.items():
            self._finish(target_id, timeline)
