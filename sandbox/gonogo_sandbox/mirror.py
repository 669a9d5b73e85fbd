"""The HTTP mirror's view of the cluster: which Deployments exist, and what each
one really serves right now.

Two list+watch loops (Deployments with the ``sandbox.gonogo.dev/http=true``
label, and every ReplicaSet) keep an in-memory copy of the API server's
objects; request handlers only read that copy, so the mirror answers at load
test rates without asking the API server anything.

"What really serves" is the newest ReplicaSet of the Deployment that has
available replicas: its image tag is the version and its pod template carries
the fault annotations. A rollout therefore changes the answers when the new
pods are available, not when the spec changes, and a rollback heals when the
old ReplicaSet serves again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

from gonogo_sandbox import faults

HTTP_LABEL = "sandbox.gonogo.dev/http"
SELECTOR = f"{HTTP_LABEL}=true"
REVISION = "deployment.kubernetes.io/revision"
WATCH_SECONDS = 240
"""Server-side timeout of one watch request; the loop then resumes from the last resourceVersion."""

log = logging.getLogger("gonogo_sandbox.mirror")

Obj = dict[str, Any]


@dataclass(frozen=True)
class Serving:
    """What one mirrored Deployment answers with."""

    namespace: str
    name: str
    available_replicas: int
    replicas: int
    image: str
    version: str
    revision: int
    faults: faults.Faults = field(default_factory=faults.Faults)

    @property
    def unavailable_reason(self) -> str | None:
        """Why requests get 503, or None when the Deployment serves."""
        if self.replicas == 0:
            return "deployment is scaled to 0 replicas"
        if self.available_replicas == 0:
            return f"deployment has no available replicas (0/{self.replicas})"
        if self.faults.unavailable:
            return f"fault annotation {faults.UNAVAILABLE}=true on the serving pod template"
        return None


def image_tag(image: str) -> str:
    """``registry:5000/name:v1.0.0`` -> ``v1.0.0``; no tag means ``latest``."""
    last = image.rsplit("/", 1)[-1].split("@", 1)[0]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _revision(rs: Obj) -> int:
    try:
        return int(rs.get("metadata", {}).get("annotations", {}).get(REVISION, "0"))
    except ValueError:
        return 0


def _main_container(template: Obj, name: str) -> Obj:
    containers = template.get("spec", {}).get("containers") or [{}]
    return next((c for c in containers if c.get("name") == name), containers[0])


def serving_view(deployment: Obj, replicasets: list[Obj]) -> Serving:
    """Compute what ``deployment`` serves from its ReplicaSets."""
    meta = deployment["metadata"]
    uid = meta.get("uid")
    owned = [
        rs
        for rs in replicasets
        if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences", []))
    ]
    live = [rs for rs in owned if (rs.get("status", {}).get("availableReplicas") or 0) > 0]
    source = max(live, key=_revision) if live else None
    template = (source or deployment)["spec"]["template"]
    image = _main_container(template, meta["name"]).get("image", "")
    status = deployment.get("status", {})
    spec_replicas = deployment["spec"].get("replicas")
    return Serving(
        namespace=meta["namespace"],
        name=meta["name"],
        available_replicas=status.get("availableReplicas") or 0,
        replicas=1 if spec_replicas is None else spec_replicas,
        image=image,
        version=image_tag(image),
        revision=_revision(source) if source else 0,
        faults=faults.parse(template.get("metadata", {}).get("annotations")),
    )


class Mirror:
    """Keeps the views up to date from the API server; thread-safe reads."""

    def __init__(self, api: k8s.ApiClient, on_targets_changed: Callable[[list[Serving]], None]):
        self._apps = k8s.AppsV1Api(api)
        self._lock = threading.Lock()
        self._deployments: dict[str, Obj] = {}
        self._owned: dict[str, dict[str, Obj]] = {}
        """Deployment uid -> its ReplicaSets by uid: an event touches one Deployment's view."""
        self._owners: dict[str, list[str]] = {}
        """ReplicaSet uid -> the uids of its owners, to find it again on a change."""
        self._views: dict[tuple[str, str], Serving] = {}
        self._view_of: dict[str, tuple[str, str]] = {}
        """Deployment uid -> the key of its view."""
        self._uid_of: dict[tuple[str, str], str] = {}
        """View key -> the uid of the Deployment it shows (a re-created one has a new uid)."""
        self._on_targets_changed = on_targets_changed
        self._synced = {"deployments": threading.Event(), "replicasets": threading.Event()}

    @property
    def ready(self) -> bool:
        return all(e.is_set() for e in self._synced.values())

    def get(self, namespace: str, name: str) -> Serving | None:
        return self._views.get((namespace, name))

    def all(self, namespace: str | None = None) -> list[Serving]:
        views = sorted(self._views.values(), key=lambda v: (v.namespace, v.name))
        return [v for v in views if namespace is None or v.namespace == namespace]

    def start(self) -> None:
        for kind in self._synced:
            threading.Thread(
                target=self._loop, args=(kind,), name=f"watch-{kind}", daemon=True
            ).start()

    # -- list + watch ---------------------------------------------------------

    def _call(self, kind: str, **kwargs: Any) -> Any:
        if kind == "deployments":
            return self._apps.list_deployment_for_all_namespaces(
                label_selector=SELECTOR, _preload_content=False, **kwargs
            )
        return self._apps.list_replica_set_for_all_namespaces(_preload_content=False, **kwargs)

    def _loop(self, kind: str) -> None:
        delay = 0.5
        while True:
            try:
                resp = self._call(kind, _request_timeout=10)
                body = json.loads(resp.data)
                rv = body["metadata"]["resourceVersion"]
                self._replace(kind, body.get("items", []))
                self._synced[kind].set()
                delay = 0.5
                while rv is not None:
                    rv = self._watch(kind, rv)
            except Exception as e:  # any failure: log it, back off, list again
                log.warning(
                    "%s watch failed (%s: %s); listing again in %.1f s",
                    kind,
                    type(e).__name__,
                    e,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _watch(self, kind: str, rv: str) -> str | None:
        """Follow one watch request; return the resourceVersion to resume
        from, or None when the history is gone and a new list is needed."""
        resp = self._call(
            kind,
            watch=True,
            resource_version=rv,
            allow_watch_bookmarks=True,
            timeout_seconds=WATCH_SECONDS,
            _request_timeout=(10, WATCH_SECONDS + 30),
        )
        try:
            for line in _lines(resp):
                event = json.loads(line)
                obj = event.get("object", {})
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise RuntimeError(obj.get("message", "watch error"))
                rv = obj.get("metadata", {}).get("resourceVersion", rv)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self._put(kind, obj)
                elif event.get("type") == "DELETED":
                    self._put(kind, obj, delete=True)
        finally:
            resp.release_conn()
        return rv

    # -- state ------------------------------------------------------------------

    # Each event recomputes only the view of the Deployment it concerns: with
    # hundreds of Deployments, recomputing every view on every event made the
    # mirror fall minutes behind a large rollout.

    def _replace(self, kind: str, items: list[Obj]) -> None:
        with self._lock:
            if kind == "deployments":
                self._deployments = {obj["metadata"]["uid"]: obj for obj in items}
            else:
                self._owned, self._owners = {}, {}
                for obj in items:
                    self._add_replicaset(obj)
            before = set(self._views)
            self._view_of, self._uid_of = {}, {}
            views: dict[tuple[str, str], Serving] = {}
            for uid in self._deployments:
                self._refresh(uid, views)
            self._views = views
            if kind == "deployments" or set(views) != before:
                self._on_targets_changed(self.all())

    def _put(self, kind: str, obj: Obj, *, delete: bool = False) -> None:
        uid = obj["metadata"]["uid"]
        with self._lock:
            before = set(self._views)
            views = dict(self._views)
            if kind == "deployments":
                if delete:
                    self._deployments.pop(uid, None)
                else:
                    self._deployments[uid] = obj
                self._refresh(uid, views)
            else:
                owners = self._owners.get(uid, [])
                self._drop_replicaset(uid)
                if not delete:
                    owners = owners + self._add_replicaset(obj)
                for owner in set(owners):
                    if owner in self._deployments:
                        self._refresh(owner, views)
            self._views = views  # replaced whole: readers never see a half-updated dict
            if set(views) != before:
                self._on_targets_changed(self.all())

    def _add_replicaset(self, rs: Obj) -> list[str]:
        uid = rs["metadata"]["uid"]
        owners = [o["uid"] for o in rs["metadata"].get("ownerReferences") or [] if o.get("uid")]
        self._owners[uid] = owners
        for owner in owners:
            self._owned.setdefault(owner, {})[uid] = rs
        return owners

    def _drop_replicaset(self, uid: str) -> None:
        for owner in self._owners.pop(uid, []):
            owned = self._owned.get(owner, {})
            owned.pop(uid, None)
            if not owned:
                self._owned.pop(owner, None)

    def _refresh(self, uid: str, views: dict[tuple[str, str], Serving]) -> None:
        """Recompute the view of Deployment ``uid`` into ``views`` (or remove it)."""
        old_key = self._view_of.pop(uid, None)
        if old_key is not None and self._uid_of.get(old_key) == uid:
            views.pop(old_key, None)
            del self._uid_of[old_key]
        dep = self._deployments.get(uid)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return  # gone, or being deleted (e.g. its namespace is): no longer a target
        view = serving_view(dep, list(self._owned.get(uid, {}).values()))
        key = (view.namespace, view.name)
        views[key] = view
        self._view_of[uid] = key
        self._uid_of[key] = uid


def _lines(resp: Any) -> Iterator[bytes]:
    """Split a streamed watch response into its JSON lines."""
    pending = b""
    for chunk in resp.stream(64 * 1024, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending
