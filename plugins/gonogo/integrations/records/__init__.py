"""Run records and where they are kept.

Every run with ``--target`` leaves one :class:`~gonogo.model.records.RunRecord`
per target in the target's record store; later runs read their proof from it.
Two stores, one module each, behind one protocol:

* ``directory`` (default): a JSON file per record in ``<reports dir>/records``
  or ``records.path``; no server. Jobs that share the directory share proof.
* ``kubernetes``: one ConfigMap per record in ``records.namespace``, labelled
  ``gonogo.dev/target``, ``gonogo.dev/release`` and ``gonogo.dev/environment``,
  so any job that reaches the cluster reads what the others wrote.

Records are found by (target, release, environment[, stage]), newest first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from gonogo.model.records import ItemRecord, RunRecord

STAGING_COMMAND = "pytest -m staging --target {target} --env staging --execute"
"""The run that leaves the staging record a production gate reads."""
PREDEPLOY_COMMAND = "pytest -m predeploy --target {target} --env {environment}"
"""The run that leaves the pre-deployment record a release reads."""


class RecordStore(Protocol):
    """Keeps run records and finds them again."""

    where: str
    """Where the records are, for messages: a directory, or a namespace and cluster."""

    def put(self, record: RunRecord) -> str:
        """Keep ``record``; returns where it now is (a path, a ConfigMap name)."""
        ...

    def find(
        self, target: str, release: str, environment: str, stage: str | None = None
    ) -> list[RunRecord]:
        """Every record of ``target`` for ``release`` on ``environment`` (that ran
        ``stage``, when given), newest first."""
        ...

    def close(self) -> None: ...


def latest(
    store: RecordStore, target: str, release: str, environment: str, stage: str | None = None
) -> RunRecord | None:
    """The newest record for (target, release, environment[, stage]); None when none."""
    found = store.find(target, release, environment, stage)
    return found[0] if found else None


def latest_with_item(
    store: RecordStore,
    *,
    target: str,
    release: str,
    environment: str,
    stage: str,
    title: str,
) -> tuple[RunRecord, ItemRecord] | None:
    """The newest record of ``environment`` for ``release`` in which the item
    ``title`` of ``stage`` ran, and that item. A newer run that did not run the
    item (another selection) does not hide an older one that did; a newer run
    that did run it always wins, whatever its outcome."""
    for record in store.find(target, release, environment, stage):
        item = record.item(title, stage)
        if item is not None:
            return record, item
    return None


def open_store(
    target: Any,
    reports_dir: Path,
    kube_context: str | None = None,
    *,
    timeout_s: float | None = None,
) -> RecordStore:
    """The store the target file names (``records:``); a directory store in
    ``<reports_dir>/records`` when it names none. ``timeout_s`` bounds each
    call of a store that is reached over the network."""
    settings = getattr(target, "records", None)
    kind = getattr(settings, "store", "directory")
    if kind == "kubernetes":
        from gonogo.integrations.kubernetes.client import client_for
        from gonogo.integrations.records.configmaps import ConfigMapStore

        assert settings is not None and settings.namespace is not None
        kube = client_for(target, kube_context)
        if timeout_s is not None:
            kube.timeout = min(kube.timeout, timeout_s)
        return ConfigMapStore(kube, settings.namespace)
    return fallback_store(target, reports_dir)


def fallback_store(target: Any, reports_dir: Path) -> RecordStore:
    """The directory store: the target's ``records.path``, else ``<reports_dir>/records``."""
    from gonogo.integrations.records.directory import DirectoryStore

    path = getattr(getattr(target, "records", None), "path", None)
    return DirectoryStore(Path(path) if path is not None else Path(reports_dir) / "records")


__all__ = [
    "PREDEPLOY_COMMAND",
    "STAGING_COMMAND",
    "ItemRecord",
    "RecordStore",
    "RunRecord",
    "fallback_store",
    "latest",
    "latest_with_item",
    "open_store",
]
