"""Finds and reads gonogo's namespace backups (``pre-deployment-<UTC>.yaml``).

The deploy stage's "Backup current state" writes them; the pre-deploy
"Backup verification" proves the newest one is recent, complete and
restorable. The file name carries the time it was taken, so the age does not
depend on file-system timestamps that a copy would reset."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gonogo.errors import ProbeError
from gonogo.model import yamlio

PATTERN = re.compile(r"^pre-deployment-(\d{8})-?T?(\d{6})Z?\.ya?ml$")
"""``pre-deployment-20261127-021500.yaml`` or ``pre-deployment-20261127T021500Z.yaml``."""

VOLATILE_METADATA = (
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
"""Fields the API server owns; a restore must not send them."""


@dataclass(frozen=True)
class Backup:
    path: Path
    taken: datetime
    mode: int
    objects: list[dict[str, Any]]

    def age_hours(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.taken).total_seconds() / 3600

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for obj in self.objects:
            counts[str(obj.get("kind"))] = counts.get(str(obj.get("kind")), 0) + 1
        return dict(sorted(counts.items()))


def taken_at(path: Path) -> datetime | None:
    match = PATTERN.match(path.name)
    if not match:
        return None
    return datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def newest(directory: Path) -> Path | None:
    """The newest backup file in ``directory`` by the time in its name."""
    if not directory.is_dir():
        return None
    dated = [(stamp, p) for p in directory.iterdir() if (stamp := taken_at(p)) is not None]
    return max(dated)[1] if dated else None


def read(path: Path) -> Backup:
    """Parse a backup: a YAML ``List`` (``kubectl get -o yaml``), a plain list
    of objects, or a stream of documents. ProbeError names what is wrong."""
    taken = taken_at(path)
    if taken is None:
        raise ProbeError(f"{path.name} is not named pre-deployment-<YYYYmmdd-HHMMSS>.yaml")
    try:
        documents = yamlio.load_all(path.read_text(encoding="utf-8"))
    except (OSError, yamlio.YAMLError) as e:
        raise ProbeError(f"backup {path} does not parse: {e}") from e
    objects: list[dict[str, Any]] = []
    for document in documents:
        if isinstance(document, list):
            objects.extend(document)
        elif isinstance(document, dict) and document.get("kind") == "List":
            objects.extend(document.get("items") or [])
        elif isinstance(document, dict):
            objects.append(document)
        else:
            raise ProbeError(f"backup {path} holds a {type(document).__name__}, not objects")
    bad = [i for i, o in enumerate(objects) if not _is_object(o)]
    if bad:
        raise ProbeError(
            f"backup {path}: item {bad[0]} is not a Kubernetes object "
            "(apiVersion, kind, metadata.name)"
        )
    return Backup(path, taken, stat.S_IMODE(path.stat().st_mode), objects)


def _is_object(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and bool(obj.get("apiVersion"))
        and bool(obj.get("kind"))
        and bool((obj.get("metadata") or {}).get("name"))
    )


def restorable(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a restore would send it: no status, no server-owned
    metadata. Secrets keep their keys but not their (digested) values."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE_METADATA}
    annotations = dict(metadata.get("annotations") or {})
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    metadata["annotations"] = annotations
    clean = {k: v for k, v in obj.items() if k not in ("status", "metadata")}
    clean["metadata"] = metadata
    if obj.get("kind") == "Secret":
        clean.pop("data", None)
        clean.pop("stringData", None)
    return clean


def owned(obj: dict[str, Any]) -> bool:
    """Objects a controller recreates (pods, ReplicaSets, endpoints): a
    restore re-applies their owners instead."""
    return bool((obj.get("metadata") or {}).get("ownerReferences")) or obj.get("kind") in (
        "Event",
        "Endpoints",
        "EndpointSlice",
    )
