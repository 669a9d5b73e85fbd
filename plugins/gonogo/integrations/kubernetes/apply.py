"""Server-side apply of manifest documents, for real or as a dry run.

``kubectl apply`` as a library: every document goes to the API server as an
apply patch (field manager ``gonogo``), with ``dryRun=All`` unless the run was
given ``--execute``. The API server itself validates, defaults and admits the
change in both modes, so a dry run proves what a real apply would do. Each
object is reported as created, changed or unchanged: for real applies by
comparing resourceVersion before and after; for dry runs by comparing the
object the server would store with the one it stores now.

Resource paths come from API discovery, so CRDs (cert-manager, Prometheus
operator, Velero) apply like built-in kinds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gonogo.errors import ConfigError, ProbeError
from gonogo.integrations.kubernetes.client import KubeClient, status_of
from gonogo.model.yamlsource import parse_yaml_documents

FIELD_MANAGER = "gonogo"
APPLY_PATCH = "application/apply-patch+yaml"
_SERVER_OWNED = ("resourceVersion", "managedFields", "generation", "creationTimestamp", "uid")


@dataclass(frozen=True)
class Applied:
    """What applying one object did (or, in a dry run, would do)."""

    kind: str
    name: str
    namespace: str | None
    action: str
    """``created``, ``changed`` or ``unchanged``."""
    dry_run: bool
    resource_version_before: str | None
    resource_version_after: str | None

    @property
    def changed(self) -> bool:
        return self.action != "unchanged"

    def row(self) -> dict[str, Any]:
        where = f"{self.namespace}/" if self.namespace else ""
        verb = f"would be {self.action}" if self.dry_run and self.changed else self.action
        return {"object": f"{self.kind} {where}{self.name}", "result": verb}


@dataclass(frozen=True)
class Resource:
    path: str
    """``/api/v1`` or ``/apis/<group>/<version>``."""
    plural: str
    namespaced: bool


class ResourceMapper:
    """apiVersion + kind -> REST path, from the API server's discovery, cached."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube
        self._groups: dict[str, dict[str, Resource]] = {}
        self._lock = threading.Lock()

    def resource(self, api_version: str, kind: str) -> Resource:
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        with self._lock:
            if base not in self._groups:
                self._groups[base] = self._discover(base)
        found = self._groups[base].get(kind)
        if found is None:
            raise ProbeError(
                f"the API server does not serve kind {kind} in {api_version}; "
                "install its CRD first or check the manifest's apiVersion"
            )
        return found

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the kind exists here (e.g. Velero's Backup CRD is installed)."""
        try:
            self.resource(api_version, kind)
        except ProbeError:
            return False
        return True

    def _discover(self, base: str) -> dict[str, Resource]:
        try:
            listing = self.kube.get(base, what=f"discover {base}")
        except ProbeError as e:
            if status_of(e) == 404:
                return {}
            raise
        return {
            r["kind"]: Resource(base, r["name"], bool(r.get("namespaced")))
            for r in listing.get("resources", [])
            if "/" not in r["name"]
        }

    def object_path(self, obj: dict[str, Any], namespace: str | None) -> str:
        resource = self.resource(str(obj["apiVersion"]), str(obj["kind"]))
        name = obj["metadata"]["name"]
        if resource.namespaced:
            if not namespace:
                raise ProbeError(f"{obj['kind']} {name} is namespaced; give a namespace")
            return f"{resource.path}/namespaces/{namespace}/{resource.plural}/{name}"
        return f"{resource.path}/{resource.plural}/{name}"


def load_documents(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every object in the given files (directories: their ``*.yaml``/``*.yml``,
    sorted), with ``kind: List`` expanded and empty documents dropped."""
    documents: list[dict[str, Any]] = []
    for path in paths:
        files = (
            sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
            if path.is_dir()
            else [path]
        )
        for file in files:
            try:
                loaded = parse_yaml_documents(file.read_text(encoding="utf-8"), file)
            except (OSError, UnicodeDecodeError) as e:
                raise ProbeError(f"cannot read manifest {file}: {e}") from None
            except ConfigError as e:
                raise ProbeError(f"manifest {e}") from None
            for index, document in enumerate(loaded):
                if not document:
                    continue
                if not isinstance(document, dict) or "kind" not in document:
                    raise ProbeError(f"{file}: document {index + 1} is not a Kubernetes object")
                if document["kind"] == "List":
                    documents.extend(document.get("items") or [])
                else:
                    documents.append(document)
    return documents


def target_namespace(obj: dict[str, Any], namespace: str | None, namespaced: bool) -> str | None:
    """The namespace an object goes to; a manifest that names another one is refused,
    as ``kubectl apply -n`` refuses it."""
    if not namespaced:
        return None
    named = (obj.get("metadata") or {}).get("namespace")
    if named and namespace and named != namespace:
        raise ProbeError(
            f"{obj['kind']} {obj['metadata']['name']} names namespace {named}, not {namespace}; "
            "remove metadata.namespace from the manifest or apply it to its own namespace"
        )
    return named or namespace


def _comparable(obj: dict[str, Any]) -> Any:
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_OWNED}
    rest = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return json.dumps({"metadata": metadata, **rest}, sort_keys=True, default=str)


def apply_object(
    kube: KubeClient,
    obj: dict[str, Any],
    namespace: str | None,
    *,
    dry_run: bool,
    mapper: ResourceMapper,
    field_manager: str = FIELD_MANAGER,
) -> tuple[Applied, dict[str, Any]]:
    """Apply one object; returns what happened and the object the server returned."""
    resource = mapper.resource(str(obj["apiVersion"]), str(obj["kind"]))
    ns = target_namespace(obj, namespace, resource.namespaced)
    body = dict(obj)
    body["metadata"] = {**obj["metadata"], **({"namespace": ns} if ns else {})}
    path = mapper.object_path(body, ns)
    name = str(obj["metadata"]["name"])
    what = f"apply {obj['kind']} {(ns + '/') if ns else ''}{name}"
    try:
        before: dict[str, Any] | None = kube.get(path, what=what)
    except ProbeError as e:
        if status_of(e) != 404:
            raise
        before = None
    after = kube.request(
        "PATCH",
        path,
        json.dumps(body),
        what=what,
        content_type=APPLY_PATCH,
        fieldManager=field_manager,
        force="true",
        dryRun="All" if dry_run else None,
    )
    rv_before = (before or {}).get("metadata", {}).get("resourceVersion")
    rv_after = after.get("metadata", {}).get("resourceVersion")
    if before is None:
        action = "created"
    elif dry_run:
        action = "unchanged" if _comparable(before) == _comparable(after) else "changed"
    else:
        action = "unchanged" if rv_before == rv_after else "changed"
    return Applied(str(obj["kind"]), name, ns, action, dry_run, rv_before, rv_after), after


def apply_documents(
    kube: KubeClient,
    documents: Iterable[dict[str, Any]],
    namespace: str | None,
    *,
    dry_run: bool,
    field_manager: str = FIELD_MANAGER,
    mapper: ResourceMapper | None = None,
) -> list[Applied]:
    """Apply every document in order to ``namespace`` (for namespaced kinds)."""
    mapper = mapper or ResourceMapper(kube)
    return [
        apply_object(
            kube, doc, namespace, dry_run=dry_run, mapper=mapper, field_manager=field_manager
        )[0]
        for doc in documents
    ]


def summary(results: list[Applied]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    mode = "dry run: " if results and results[0].dry_run else ""
    return mode + ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing"
