"""Wait for Deployment rollouts by watching their status, as ``kubectl rollout
status`` does, for several Deployments at once.

One list, then one watch on the namespace's Deployments: no polling loop, no
request per Deployment. A rollout is complete when the controller has observed
the current generation and every replica is updated, ready and available; it
has failed the moment its Progressing condition says
``ProgressDeadlineExceeded`` (for the current generation), and it has timed out
when its own deadline (the service's ``rollout_timeout_s``) passes first.
Each change of the summary is handed to a progress callback, so a person
watching the run sees the rollouts move.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from gonogo.integrations.kubernetes.client import KubeClient, translate
from gonogo.integrations.kubernetes.snapshot import condition


@dataclass
class RolloutState:
    """One Deployment's rollout as its status tells it."""

    name: str
    desired: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    generation: int = 0
    observed: int = 0
    paused: bool = False
    exists: bool = False
    """False until the Deployment has been seen in a list or watch event."""
    failure: str | None = None
    """Why the rollout failed (deadline exceeded, timed out, missing); None otherwise."""
    finished_at: float | None = None

    @property
    def complete(self) -> bool:
        return (
            self.exists
            and self.failure is None
            and self.observed >= self.generation
            and self.updated >= self.desired
            and self.ready >= self.desired
            and self.available >= self.desired
        )

    @property
    def done(self) -> bool:
        return self.complete or self.failure is not None

    def short(self) -> str:
        if self.failure is not None:
            return f"{self.name} FAILED"
        if self.complete:
            return f"{self.name} ok"
        return f"{self.name} {self.updated}/{self.desired} updated {self.available} available"


def state_of(raw: dict[str, Any]) -> RolloutState:
    """The rollout state of a Deployment object (the API server's JSON)."""
    meta, spec, status = raw["metadata"], raw.get("spec") or {}, raw.get("status") or {}
    desired = int(spec.get("replicas", 1))
    state = RolloutState(
        name=meta["name"],
        desired=desired,
        updated=int(status.get("updatedReplicas", 0)),
        ready=int(status.get("readyReplicas", 0)),
        available=int(status.get("availableReplicas", 0)),
        generation=int(meta.get("generation", 0)),
        observed=int(status.get("observedGeneration", 0)),
        paused=bool(spec.get("paused")),
        exists=True,
    )
    # Old pods still running mean the rollout has not finished either.
    if int(status.get("replicas", 0)) > desired and state.updated >= desired:
        state.updated = desired - 1 if desired else 0
    progressing = condition(raw, "Progressing")
    if (
        state.observed >= state.generation
        and progressing is not None
        and progressing.get("reason") == "ProgressDeadlineExceeded"
    ):
        state.failure = f"ProgressDeadlineExceeded: {progressing.get('message') or 'no progress'}"
    elif state.paused and state.observed >= state.generation and not state.complete:
        state.failure = "rollout is paused; resume it with kubectl rollout resume"
    return state


@dataclass
class RolloutOutcome:
    """The end of a wait: every Deployment's final state."""

    states: list[RolloutState]
    started: float
    ended: float

    @property
    def ok(self) -> bool:
        return all(s.complete for s in self.states)

    @property
    def failures(self) -> list[str]:
        return [f"deployment/{s.name}: {s.failure}" for s in self.states if s.failure]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "deployment": s.name,
                "desired": s.desired,
                "updated": s.updated,
                "ready": s.ready,
                "available": s.available,
                "generation": f"{s.observed}/{s.generation}",
                "result": "complete" if s.complete else (s.failure or "pending"),
                "seconds": round((s.finished_at or self.ended) - self.started, 1),
            }
            for s in self.states
        ]


Progress = Callable[[str], None]


class RolloutWatcher:
    """Waits for Deployments of one namespace to finish rolling out."""

    def __init__(
        self, kube: KubeClient, namespace: str, *, progress: Progress | None = None
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.progress = progress
        self._last_line = ""

    def wait(self, deadlines: dict[str, float]) -> RolloutOutcome:
        """Wait until each Deployment named in ``deadlines`` (name -> seconds)
        is complete, has failed, or has run out of its time."""
        started = time.monotonic()
        limit = {name: started + seconds for name, seconds in deadlines.items()}
        states: dict[str, RolloutState] = {name: RolloutState(name) for name in deadlines}
        resource_version = self._list(states, started)
        while True:
            self._report(states)
            now = time.monotonic()
            for name, state in states.items():
                if not state.done and now >= limit[name]:
                    state.failure = (
                        f"not available after {deadlines[name]:.0f} s "
                        f"({state.updated}/{state.desired} updated, "
                        f"{state.available} available)"
                    )
                    state.finished_at = now
            pending = [n for n, s in states.items() if not s.done]
            if not pending:
                break
            remaining = min(limit[n] for n in pending) - now
            resource_version = self._watch(states, resource_version, remaining, started)
        self._report(states)
        return RolloutOutcome(list(states.values()), started, time.monotonic())

    def _list(self, states: dict[str, RolloutState], started: float) -> str:
        listing = self.kube.get(
            f"/apis/apps/v1/namespaces/{self.namespace}/deployments",
            what=f"list deployments in {self.namespace}",
        )
        seen = set()
        for raw in listing.get("items", []):
            name = raw["metadata"]["name"]
            if name in states:
                seen.add(name)
                self._update(states, raw, started)
        for name, state in states.items():
            if name not in seen and not state.done:
                state.failure = (
                    f"not found in namespace {self.namespace}; "
                    f"kubectl get deployments -n {self.namespace}"
                )
                state.finished_at = time.monotonic()
        return str(listing.get("metadata", {}).get("resourceVersion", ""))

    def _update(self, states: dict[str, RolloutState], raw: dict[str, Any], started: float) -> None:
        name = raw["metadata"]["name"]
        if name not in states or states[name].done:
            return
        state = state_of(raw)
        if state.done:
            state.finished_at = time.monotonic()
        states[name] = state

    def _watch(
        self,
        states: dict[str, RolloutState],
        resource_version: str,
        remaining: float,
        started: float,
    ) -> str:
        """Follow events until every Deployment is done or ``remaining`` passes;
        returns the resource version to continue from."""
        seconds = max(1, int(remaining + 0.999))
        watcher = watch.Watch()
        try:
            for event in watcher.stream(
                self.kube.apps.list_namespaced_deployment,
                self.namespace,
                resource_version=resource_version or None,
                timeout_seconds=seconds,
                allow_watch_bookmarks=True,
                deserialize=False,
                _request_timeout=(self.kube.timeout, seconds + self.kube.timeout),
            ):
                raw = event.get("raw_object") or event.get("object")
                if not isinstance(raw, dict):
                    continue
                if event.get("type") == "ERROR":
                    # 410 Gone: the version is too old; list again and go on.
                    return self._list(states, started)
                resource_version = raw.get("metadata", {}).get("resourceVersion", resource_version)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self._update(states, raw, started)
                elif event.get("type") == "DELETED":
                    name = raw["metadata"]["name"]
                    if name in states and not states[name].done:
                        states[name].exists = False
                        states[name].failure = "deleted while rolling out"
                self._report(states)
                if all(s.done for s in states.values()):
                    break
        except ApiException as e:
            if e.status == 410:
                return self._list(states, started)
            raise translate(e, f"watch deployments in {self.namespace}") from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            # The stream broke (e.g. a read timeout): list again and continue.
            if isinstance(e, urllib3.exceptions.ReadTimeoutError):
                return self._list(states, started)
            raise translate(e, f"watch deployments in {self.namespace}") from e
        finally:
            watcher.stop()
        return resource_version

    def _report(self, states: dict[str, RolloutState]) -> None:
        if self.progress is None:
            return
        line = "rollout: " + " | ".join(s.short() for s in states.values())
        if line != self._last_line:
            self._last_line = line
            self.progress(line)


def wait_for(
    kube: KubeClient,
    namespace: str,
    deadlines: dict[str, float],
    *,
    progress: Progress | None = None,
) -> RolloutOutcome:
    """Wait for the rollouts of ``deadlines`` (Deployment name -> seconds)."""
    if not deadlines:
        now = time.monotonic()
        return RolloutOutcome([], now, now)
    return RolloutWatcher(kube, namespace, progress=progress).wait(deadlines)
