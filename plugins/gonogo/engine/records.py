"""Run records in pytest: the recorder that keeps one per target when a run
ends, and the fixtures through which checks read earlier runs' records and
hand data to their own.

The recorder is a class plugin registered on the process that computes the
verdict (the xdist controller, or the only process), never on a worker: the
verdict hook runs there, with every report in hand. The record is kept for a
NO-GO as well as a GO: a failed staging run is proof too, of the wrong kind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gonogo import __version__
from gonogo.engine.evidence import USER_PROPERTY as EVIDENCE_PROPERTY
from gonogo.engine.settings import Settings, get_settings
from gonogo.errors import ConfigError, GonogoError
from gonogo.integrations.records import RecordStore, fallback_store, open_store
from gonogo.model.records import (
    MESSAGE_LIMIT,
    RECORD_PROPERTY,
    ItemRecord,
    RunRecord,
    checklist_fingerprint,
    iso,
    new_id,
)
from gonogo.redact import redactor

DRY_RUN_PROPERTY = "gonogo.dry_run"


def _properties(result: Any) -> list[tuple[str, Any]]:
    """A result's user properties as pairs (xdist ships them as lists)."""
    pairs = []
    for entry in getattr(result, "user_properties", None) or []:
        if isinstance(entry, list | tuple) and len(entry) == 2:
            pairs.append((str(entry[0]), entry[1]))
    return pairs


def _json_list(value: Any) -> list[Any]:
    try:
        decoded = json.loads(str(value))
    except ValueError:
        return []
    return decoded if isinstance(decoded, list) else [decoded]


def item_of(result: Any) -> ItemRecord:
    """The record of one check, from what its reports carried."""
    binding = dict(getattr(result, "binding", None) or {})
    measures: list[dict[str, Any]] = []
    data: dict[str, Any] = {}
    dry_run = False
    for key, value in _properties(result):
        if key == EVIDENCE_PROPERTY:
            measures += [
                dict(e["content"])
                for e in _json_list(value)
                if isinstance(e, dict) and e.get("kind") == "measure"
            ]
        elif key == RECORD_PROPERTY:
            for entry in _json_list(value):
                if isinstance(entry, dict):
                    data.update(entry)
        elif key == DRY_RUN_PROPERTY and value:
            dry_run = True
    message = redactor.text(str(getattr(result, "message", "") or ""))
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT] + " …(cut)"
    return ItemRecord(
        title=str(binding.get("title", "")),
        stage=str(binding.get("stage_key", "")),
        phase=str(binding.get("phase", "")),
        nodeid=str(getattr(result, "nodeid", "")),
        outcome=str(getattr(result, "outcome", "failed")),
        message=message,
        service=binding.get("service"),
        measures=measures,
        signoff=getattr(result, "signoff", None),
        data=data,
        dry_run=dry_run,
    )


def _selection(config: pytest.Config, settings: Settings) -> dict[str, Any]:
    return {
        "markexpr": getattr(config.option, "markexpr", "") or "",
        "keyword": getattr(config.option, "keyword", "") or "",
        "phases": list(settings.phases),
        "from_phase": settings.from_phase,
        "gate": settings.gate,
    }


def build_record(
    verdict: Any,
    config: pytest.Config,
    target_id: str,
    target: Any,
    *,
    single: bool,
    finished: float,
) -> RunRecord | None:
    """The record of ``target`` in this run; None when none of its checks ran.
    With one target, checks that do not take the ``target`` fixture belong to it."""
    owners = {target_id, ""} if single else {target_id}
    results = [
        r
        for r in getattr(verdict, "results", [])
        if dict(getattr(r, "binding", None) or {}).get("target", "") in owners
    ]
    if not results:
        return None
    verdicts = [t for t in getattr(verdict, "targets", []) if getattr(t, "target", "") in owners]
    if single:
        lines, go = list(verdict.lines()), bool(verdict.go)
    else:
        lines = [t.line(False) for t in verdicts]
        go = bool(verdicts) and all(t.go for t in verdicts)
    interrupted = bool(getattr(verdict, "interrupted", False))
    items = [item_of(r) for r in results]
    settings = get_settings(config)
    runlog = getattr(verdict, "runlog", None)
    started = float(getattr(runlog, "started", finished))
    environment = settings.environment
    return RunRecord(
        id=new_id(target.name, environment, target.release, finished),
        target=target.name,
        release=target.release,
        previous_release=target.previous_release,
        environment=environment,
        stages=list(dict.fromkeys(i.stage for i in items if i.stage)),
        phases=list(dict.fromkeys(i.phase for i in items if i.phase)),
        items=items,
        verdict=" / ".join(lines),
        go=go and not interrupted,
        started=iso(started),
        finished=iso(finished),
        gonogo_version=__version__,
        checklist=checklist_fingerprint(settings.checklist),
        execute=settings.execute,
        selection=_selection(config, settings),
        interrupted=interrupted,
    )


INTERRUPTED_STORE_TIMEOUT_S = 2.0
"""Per-call timeout of a networked record store when the run was interrupted."""


def _put(store: RecordStore, record: RunRecord) -> str:
    try:
        return store.put(record)
    finally:
        store.close()


class RunRecorder:
    """Keeps one run record per target in the target's store when the verdict is in."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    @pytest.hookimpl
    def pytest_gonogo_verdict(self, verdict: Any, config: pytest.Config) -> None:
        from gonogo.engine.run import TARGETS_KEY

        settings = get_settings(config)
        targets: dict[str, Any] = config.stash.get(TARGETS_KEY, {})
        finished = time.time()
        for target_id, target in targets.items():
            record = build_record(
                verdict, config, target_id, target, single=len(targets) == 1, finished=finished
            )
            if record is None:
                continue
            # An interrupted run is on its way out: its record may not wait on a
            # store that does not answer.
            timeout = INTERRUPTED_STORE_TIMEOUT_S if getattr(verdict, "interrupted", None) else None
            try:
                where = _put(
                    open_store(
                        target, settings.reports_dir, settings.kube_context, timeout_s=timeout
                    ),
                    record,
                )
            except GonogoError as e:
                try:
                    kept = _put(fallback_store(target, settings.reports_dir), record)
                except GonogoError:
                    kept = None
                instead = f"kept in {kept} instead" if kept else "not kept anywhere"
                self.lines.append(
                    f"run record of {target_id} NOT kept in its store: {e}; {instead}; later "
                    "runs reading that store for this run's proof will fail with 'no data'"
                )
                continue
            self.lines.append(f"run record of {target_id}: {where}")

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line in self.lines:
            terminalreporter.write_line(line, red="NOT kept" in line)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    settings = get_settings(config)
    if settings.targets and not settings.list_checklist:
        config.pluginmanager.register(RunRecorder(), "gonogo-run-recorder")


@pytest.fixture(scope="session")
def run_records(target: Any, gonogo_settings: Settings) -> Iterator[RecordStore]:
    """The target's record store, where earlier runs' records are read."""
    try:
        store = open_store(target, gonogo_settings.reports_dir, gonogo_settings.kube_context)
    except ConfigError as e:
        pytest.fail(str(e), pytrace=False)
    yield store
    store.close()


@pytest.fixture
def record_data(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """``record_data(name, value)`` keeps a JSON-able ``value`` (redacted) with this
    check's item in the run record, for later runs to read."""

    def keep(name: str, value: Any) -> None:
        payload = json.dumps({name: redactor.data(value)}, default=str)
        request.node.user_properties.append((RECORD_PROPERTY, payload))

    return keep
