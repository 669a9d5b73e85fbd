"""The pre-deployment backup: every namespaced resource of the release's
namespace, in one YAML file, written so that a half-written or world-readable
backup can never exist.

The file is written to a temporary name in the same directory with mode 0600,
flushed to disk, then renamed over the final name (atomic on POSIX). Secret
values are replaced by a sha256 digest unless the caller asks for them:
a backup that leaks credentials is worse than none. ``read_back`` proves the
file holds exactly what was listed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.model import yamlio

SKIPPED_KINDS = frozenset({"Event", "Lease", "EndpointSlice", "Endpoints"})
"""Records of what happened, not state to restore; kept out of the backup."""

DIGEST_PREFIX = "sha256:"
FILE_MODE = 0o600
SERVER_FIELDS = ("managedFields", "uid", "resourceVersion", "creationTimestamp", "generation")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def backup_name(moment: datetime | None = None) -> str:
    """``pre-deployment-<UTC timestamp>.yaml``, sortable by time."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return f"pre-deployment-{moment:%Y%m%dT%H%M%SZ}.yaml"


def _digest(value: str) -> str:
    return DIGEST_PREFIX + hashlib.sha256(value.encode()).hexdigest()


def scrub(obj: dict[str, Any], *, keep_secrets: bool) -> dict[str, Any]:
    """A listed object as it goes into the backup: server bookkeeping dropped,
    a Secret's values replaced by their digests (unless ``keep_secrets``)."""
    out = {k: v for k, v in obj.items()}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_FIELDS}
    out["metadata"] = metadata
    if obj.get("kind") == "Secret":
        annotations = dict(metadata.get("annotations") or {})
        # kubectl's last-applied annotation repeats every value in clear text.
        annotations.pop(LAST_APPLIED, None)
        if annotations:
            metadata["annotations"] = annotations
        else:
            metadata.pop("annotations", None)
        if not keep_secrets:
            data = obj.get("data") or {}
            out["data"] = {
                key: _digest(base64.b64decode(value).decode("utf-8", "replace"))
                for key, value in data.items()
            }
            out.pop("stringData", None)
    return out


@dataclass
class Backup:
    """A written backup and what it holds."""

    path: Path
    resources: list[str] = field(default_factory=list)
    """``kind/name`` of every object written."""
    kinds: dict[str, int] = field(default_factory=dict)
    secrets_included: bool = False

    @property
    def count(self) -> int:
        return len(self.resources)


def listable_kinds(kube: KubeClient) -> list[tuple[str, str, str]]:
    """(group version, kind, plural) of every namespaced kind that can be
    listed and created, from the API server's discovery (preferred version per
    group). Read-only kinds (metrics.k8s.io's PodMetrics, for one) are views of
    other objects, not state: a backup that held them could not be restored."""
    versions = ["v1"]
    groups = kube.get("/apis", what="discover API groups")
    versions += [g["preferredVersion"]["groupVersion"] for g in groups.get("groups", [])]
    kinds: list[tuple[str, str, str]] = []
    for version in versions:
        listing = kube.get(_base(version), what=f"discover {version}")
        for r in listing.get("resources", []):
            if "/" in r["name"] or not r.get("namespaced"):
                continue
            if {"list", "create"} <= set(r.get("verbs") or []) and r["kind"] not in SKIPPED_KINDS:
                kinds.append((version, r["kind"], r["name"]))
    return kinds


def _base(version: str) -> str:
    return f"/api/{version}" if "/" not in version else f"/apis/{version}"


def collect(kube: KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Every object of every listable namespaced kind in ``namespace``
    (one list request per kind)."""
    objects: list[dict[str, Any]] = []
    for version, kind, plural in listable_kinds(kube):
        listing = kube.get(
            f"{_base(version)}/namespaces/{namespace}/{plural}",
            what=f"list {plural} in {namespace}",
        )
        for item in listing.get("items", []):
            item.setdefault("apiVersion", version)
            item.setdefault("kind", kind)
            objects.append(item)
    return objects


def write(
    objects: list[dict[str, Any]], directory: Path, *, keep_secrets: bool, name: str | None = None
) -> Backup:
    """Write ``objects`` atomically to ``directory/<name>`` with mode 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or backup_name())
    docs = [scrub(obj, keep_secrets=keep_secrets) for obj in objects]
    text = yamlio.dump_all(docs)
    fd, tmp = tempfile.mkstemp(prefix=".pre-deployment-", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    backup = Backup(path, secrets_included=keep_secrets)
    for doc in docs:
        backup.resources.append(_ref(doc))
        backup.kinds[doc["kind"]] = backup.kinds.get(doc["kind"], 0) + 1
    return backup


def _ref(doc: dict[str, Any]) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def read_back(backup: Backup) -> list[str]:
    """Problems found by reading the file again: missing or extra objects, a
    wrong mode, a Secret value where only digests belong. Empty means sound."""
    problems: list[str] = []
    mode = backup.path.stat().st_mode & 0o777
    if mode != FILE_MODE:
        problems.append(f"file mode is {mode:o}, not 600")
    try:
        docs = yamlio.load_all(backup.path.read_text())
    except (OSError, yamlio.YAMLError) as e:
        return [*problems, f"cannot read the backup back: {e}"]
    found = sorted(_ref(d) for d in docs)
    expected = sorted(backup.resources)
    if found != expected:
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        problems.append(
            f"holds {len(found)} objects, expected {len(expected)}"
            + (f"; missing {', '.join(missing[:5])}" if missing else "")
            + (f"; unexpected {', '.join(extra[:5])}" if extra else "")
        )
    if not backup.secrets_included:
        for doc in docs:
            if doc.get("kind") != "Secret":
                continue
            clear = [
                k
                for k, v in (doc.get("data") or {}).items()
                if not str(v).startswith(DIGEST_PREFIX)
            ]
            if clear or doc.get("stringData"):
                problems.append(f"Secret/{doc['metadata']['name']} holds a value, not a digest")
    return problems
