"""What every report shows, computed once: the run's facts and each checklist
item's state, in checklist order.

The writers (HTML, Markdown) only lay this out. Keeping the judgement here —
which items passed, which were blocked, which do not apply to this
environment — means the approver reads the same answer in every format."""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gonogo import __version__
from gonogo.engine.evidence import USER_PROPERTY
from gonogo.engine.verdict import CheckResult, Verdict
from gonogo.errors import ConfigError
from gonogo.model.checklist import Checklist, Item, Phase, Stage, format_offset
from gonogo.redact import redactor

DESELECTED_EVENT = "deselected"
"""Run-log event a test process records for each bound test it deselects."""

STATES: dict[str, tuple[str, str]] = {
    "passed": ("x", "passed"),
    "signed_off": ("x", "signed off"),
    "dry_run": (" ", "dry run passed, nothing changed"),
    "failed": ("!", "failed"),
    "interrupted": ("!", "interrupted: did not finish"),
    "blocked": (" ", "blocked by a gate"),
    "skipped": (" ", "skipped"),
    "not_applicable": ("-", "not applicable to this environment"),
    "not_run": (" ", "not run"),
}
"""State -> (Markdown checkbox character, words for people)."""

_SEVERITY = ("failed", "interrupted", "blocked", "skipped", "dry_run", "signed_off", "passed")


@dataclass
class ItemView:
    """One checklist item with what the run did about it."""

    item: Item
    state: str
    results: list[CheckResult] = field(default_factory=list)
    children: list[ItemView] = field(default_factory=list)
    deselected: int = 0

    @property
    def box(self) -> str:
        return STATES[self.state][0]

    @property
    def words(self) -> str:
        return STATES[self.state][1]

    @property
    def anchor(self) -> str:
        return f"item-{self.item.index}"

    def summary(self) -> str:
        """A short result line: how many tests, the first failure or skip
        reason, and who signed off."""
        if self.state == "not_applicable":
            return f"deselected for this environment ({_tests(self.deselected)})"
        results = self.results or [r for c in self.children for r in c.results]
        if not results:
            return "no test selected for this item"
        counts: dict[str, int] = defaultdict(int)
        for r in results:
            counts[_state_of_result(r)] += 1
        parts = [_tests(len(results))]
        if len(counts) > 1:
            parts[0] += ": " + ", ".join(
                f"{n} {STATES[s][1]}" for s, n in sorted(counts.items(), key=_severity_key)
            )
        if not self.results:
            parts[0] += " in sub-items"
        message = next((r.message for r in results if r.message and r.outcome != "passed"), "")
        if message:
            parts.append(first_line(message))
        signed = [r.signoff for r in results if r.signoff]
        if signed:
            s = signed[0]
            ref = s.get("ticket") or s.get("link") or "no ticket"
            parts.append(f"signed off by {s['who']} ({s['role']}), {ref}")
        return redactor.text("; ".join(parts))


def _tests(n: int) -> str:
    return f"{n} test{'s' if n != 1 else ''}"


@dataclass
class PhaseView:
    phase: Phase
    items: list[ItemView]
    runs: list[dict[str, Any]] = field(default_factory=list)
    """The run log's ``phase`` events for this phase (one per target that ran it)."""

    @property
    def offset(self) -> str:
        m = self.phase.offset_minutes
        return format_offset(m) if m is not None else ""


@dataclass
class StageView:
    stage: Stage
    phases: list[PhaseView]


@dataclass
class TargetFacts:
    """The banner's facts about one target's run."""

    name: str
    release: str
    previous_release: str
    namespace: str
    kube_context: str
    record_store: str = "none"
    """Where this run's record and the earlier runs' records it read are kept."""


@dataclass
class RunView:
    """Everything the reports show about one run."""

    verdict: Verdict
    stages: list[StageView]
    targets: list[TargetFacts]
    environment: str
    checklist_path: Path | None
    checklist_commit: str
    started: float
    finished: float
    version: str = __version__
    execute: bool = False
    rollback_mode: str = "plan"
    evidence: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Evidence entries by test id, as the reports carried them."""

    def evidence_for(self, result: CheckResult) -> list[dict[str, Any]]:
        return self.evidence.get(result.nodeid) or evidence_of(result)

    @property
    def go(self) -> bool:
        return self.verdict.go

    @property
    def duration(self) -> float:
        return max(0.0, self.finished - self.started)

    def items(self) -> list[ItemView]:
        out: list[ItemView] = []
        for stage in self.stages:
            for phase in stage.phases:
                for view in phase.items:
                    out.append(view)
                    out.extend(view.children)
        return out

    def signoffs(self) -> list[tuple[CheckResult, dict[str, Any]]]:
        return [(r, r.signoff) for r in self.verdict.results if r.signoff]

    def gates(self) -> list[dict[str, Any]]:
        return self.verdict.runlog.of_type("gate_closed")

    def rollbacks(self) -> list[dict[str, Any]]:
        return self.verdict.runlog.of_type("rollback")

    def blocked_by(self, target: str) -> list[CheckResult]:
        return [
            r
            for r in self.verdict.results
            if r.outcome == "blocked" and r.binding.get("target", "") == target
        ]


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _severity_key(pair: tuple[str, int]) -> int:
    return _SEVERITY.index(pair[0]) if pair[0] in _SEVERITY else len(_SEVERITY)


def _state_of_result(result: CheckResult) -> str:
    if result.outcome == "passed":
        if result.signoff:
            return "signed_off"
        if any(k == "gonogo.dry_run" and v for k, v in result.user_properties):
            return "dry_run"
        return "passed"
    return result.outcome


def _aggregate(states: list[str]) -> str:
    for state in _SEVERITY:
        if state in states:
            return state
    return "not_run"


def evidence_of(result: CheckResult) -> list[dict[str, Any]]:
    """The evidence entries a result's reports carried."""
    entries: list[dict[str, Any]] = []
    for key, value in result.user_properties:
        if key == USER_PROPERTY:
            entries.extend(json.loads(str(value)))
    return entries


def build_view(
    verdict: Verdict,
    checklist: Checklist,
    *,
    stage_order: list[str] | None,
    targets: dict[str, Any],
    environment: str | None,
    kube_context: str | None,
    execute: bool = False,
    rollback_mode: str = "plan",
    finished: float | None = None,
    evidence: dict[str, list[dict[str, Any]]] | None = None,
    reports_dir: Path | None = None,
) -> RunView:
    """Lay the verdict over the checklist: every item, in timeline order, with its state."""
    by_index: dict[int, list[CheckResult]] = defaultdict(list)
    for result in verdict.results:
        by_index[int(result.binding.get("index", -1))].append(result)
    deselected: dict[int, dict[str, str]] = defaultdict(dict)
    for event in verdict.runlog.of_type(DESELECTED_EVENT):
        # Every xdist worker collects, so the same deselection may arrive twice.
        deselected[int(event["index"])][str(event.get("nodeid", ""))] = str(event.get("why", ""))
    phase_runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in verdict.runlog.of_type("phase"):
        phase_runs[(event["stage"], event["phase"])].append(event)

    def view_of(item: Item) -> ItemView:
        results = by_index.get(item.index, [])
        children = [view_of(c) for c in item.children]
        why = list(deselected.get(item.index, {}).values())
        if results:
            state = _aggregate([_state_of_result(r) for r in results])
        elif children and any(c.results for c in children):
            state = _aggregate([c.state for c in children if c.results])
        elif why and all(w == "env" for w in why):
            state = "not_applicable"
        else:
            state = "not_run"
        return ItemView(item, state, results, children, deselected=len(why))

    stages = [
        StageView(
            stage,
            [
                PhaseView(
                    phase, [view_of(i) for i in phase.items], phase_runs[(stage.title, phase.title)]
                )
                for phase in stage.phases
            ],
        )
        for stage in checklist.timeline(stage_order or None)
    ]
    facts = []
    for tid, target in targets.items():
        namespace = ""
        if environment:
            try:
                namespace = target.namespace_for(environment)
            except (ConfigError, KeyError):
                namespace = ""
        context = kube_context or getattr(getattr(target, "kube", None), "context", None)
        facts.append(
            TargetFacts(
                name=tid,
                release=str(target.release),
                previous_release=str(target.previous_release or "unknown"),
                namespace=namespace,
                kube_context=context or "kubeconfig's current context",
                record_store=_record_store(target, reports_dir),
            )
        )
    return RunView(
        verdict=verdict,
        stages=stages,
        targets=facts,
        environment=environment or "all",
        checklist_path=checklist.source,
        checklist_commit=checklist_commit(checklist.source),
        started=verdict.runlog.started,
        finished=finished if finished is not None else time.time(),
        execute=execute,
        rollback_mode=rollback_mode,
        evidence=evidence or {},
    )


def _record_store(target: Any, reports_dir: Path | None) -> str:
    records: Any = getattr(target, "records", None)
    if getattr(records, "store", "directory") == "kubernetes":
        return f"ConfigMaps in namespace {records.namespace} of the target's cluster"
    path = getattr(records, "path", None)
    where = path if path is not None else (Path(reports_dir) / "records" if reports_dir else None)
    return f"directory {where}" if where is not None else "directory <reports dir>/records"


def checklist_commit(path: Path | None, timeout_s: float = 5.0) -> str:
    """The short hash of the last commit that touched the checklist, or "unknown"
    (not in a git work tree, git missing, or git too slow)."""
    if path is None:
        return "unknown"
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", path.name],
            cwd=path.resolve().parent,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else "unknown"
