"""What a change did or would do, and patches that honour the dry run.

``gonogo.integrations.kubernetes.apply`` applies whole manifests; the deploy, rollback and
emergency checks also need to say *which fields* an apply changes (the report
of a dry run), to prove a live object holds what was applied, and to patch
one field (pause a rollout, scale, point a selector) in either mode. Those
three live here.
"""

from __future__ import annotations

from typing import Any

import yaml

from gonogo.integrations.kubernetes.apply import FIELD_MANAGER, ResourceMapper
from gonogo.integrations.kubernetes.client import KubeClient

IGNORED_METADATA = frozenset(
    {"resourceVersion", "managedFields", "generation", "creationTimestamp", "uid", "selfLink"}
)
"""Metadata the API server owns; a difference there is not a change anyone asked for."""

IGNORED_ANNOTATIONS = frozenset(
    {"deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration"}
)


def diff(before: Any, after: Any, *, secret: bool = False, path: str = "") -> list[str]:
    """Fields that differ between two objects, as ``path: old -> new``,
    ignoring status and server-owned metadata. Secret values are never shown."""
    if path == "" and isinstance(before, dict) and isinstance(after, dict):
        before, after = _comparable(before), _comparable(after)
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out += diff(before.get(key), after.get(key), secret=secret, path=sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            out += diff(b, a, secret=secret, path=f"{path}[{i}]")
        return out
    if before == after:
        return []
    if secret and path.startswith(("data", "stringData")):
        return [f"{path}: changed"]
    return [f"{path}: {_short(before)} -> {_short(after)}"]


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in IGNORED_METADATA}
    annotations = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k not in IGNORED_ANNOTATIONS
    }
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    out["metadata"] = metadata
    return out


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
    text = str(text).strip()
    return text if len(text) <= 80 else text[:77] + "..."


def contains(live: Any, applied: Any) -> list[str]:
    """Fields of ``applied`` that ``live`` does not hold with the same value:
    empty when the live object is what was applied (the server may add more)."""
    if isinstance(applied, dict):
        if not isinstance(live, dict):
            return ["(not an object)"]
        missing: list[str] = []
        for key, value in applied.items():
            if key == "status" or key in IGNORED_METADATA:
                continue
            for sub in contains(live.get(key), value):
                missing.append(f"{key}.{sub}" if sub else str(key))
        return missing
    if isinstance(applied, list):
        if not isinstance(live, list) or len(live) != len(applied):
            return [""]
        missing = []
        for i, (lv, av) in enumerate(zip(live, applied, strict=True)):
            missing += [f"[{i}]" + (f".{s}" if s else "") for s in contains(lv, av)]
        return missing
    if live == applied or (live is not None and str(live) == str(applied)):
        # The API server keeps quantities and numbers written as strings as strings.
        return []
    return [""]


class Patcher:
    """Merge or JSON patches of live objects, with ``dryRun=All`` unless executing."""

    def __init__(self, kube: KubeClient, *, dry_run: bool) -> None:
        self.kube = kube
        self.dry_run = dry_run
        self.mapper = ResourceMapper(kube)

    def patch(
        self, obj: dict[str, Any], namespace: str | None, patch: Any, *, kind: str = "merge"
    ) -> dict[str, Any]:
        """Patch ``obj`` (any object with apiVersion, kind and metadata.name)."""
        content_type = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
        }[kind]
        name = obj["metadata"]["name"]
        return self.kube.request(
            "PATCH",
            self.mapper.object_path(obj, namespace),
            patch,
            what=f"patch {obj['kind']} {name}" + (f" in {namespace}" if namespace else ""),
            content_type=content_type,
            fieldManager=FIELD_MANAGER,
            dryRun="All" if self.dry_run else None,
        )
