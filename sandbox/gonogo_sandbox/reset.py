"""``gonogo sandbox reset``: a running sandbox back to the state ``up``
documents, in seconds, whatever an earlier demo, test or release left in it.

What a run can leave behind, and what a reset does about it:

- the demo system off release v1.0.0, or with a fault: the manifests are
  applied again (taking the image back), then every pod-template annotation
  under ``sandbox.gonogo.dev/`` is removed and every Deployment resumed, in
  ``sophia`` and, when it exists, ``sophia-staging``; the reset waits until
  the rollouts are done and the HTTP mirror serves v1.0.0 with no fault;
- a fake node gone or extra: the sandbox's nodes, all Ready;
- metric history: the mirror forgets its request counts, Prometheus and
  Alertmanager start again on empty storage (no samples, no alert state, no
  silences), so a fault of the last run never shows in the next run's windows.
  This comes last, once the demo system serves v1.0.0, so no request to a
  faulty pod lands in the new history;
- the SaaS fakes' injected faults and the webhook's deliveries: the healthy
  seed again, nothing received; Redis' demo keys as seeded.

Kept on purpose: run records (namespace ``gonogo-records``, the release
history Regression testing reads), namespaces of their own that tests made,
the registry's images and the TLS certificate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gonogo_sandbox import cluster, faults, manifests, process, stack
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import SandboxError
from gonogo_sandbox.services import alertmanager, fakes, prometheus, redis

Out = Callable[[str], None]

SETTLE_TIMEOUT_S = 90.0
"""How long the demo system may take to serve v1.0.0 again (a few seconds
with kwok's pods; the rest is room for a busy machine)."""
HTTP_TIMEOUT_S = 5.0
NOT_RUNNING = "the sandbox is not running; 'gonogo sandbox up' starts it, already reset"
UP_RESETS = (
    "the sandbox was already running: reset to release {release}, no fault, "
    "empty metric history ('gonogo sandbox reset' does only that)"
)
"""The one line ``up`` prints when it found the sandbox running."""


def is_running(cfg: SandboxConfig) -> bool:
    """Every component answers, so a reset (rather than a start) is what is needed."""
    return all(up for _, up, _ in stack.status(cfg))


def reset(cfg: SandboxConfig, *, out: Out = print) -> float:
    """Put a running sandbox back to its documented state; return the seconds
    it took. Raises SandboxError, naming what did not settle."""
    began = time.monotonic()
    repo = cluster.find_repo()
    bin_path = cluster.bin_dir(repo)
    stack.ensure_nodes(cfg, bin_path, cfg.nodes)
    namespaces = demo_namespaces(cfg, bin_path)
    for ns in namespaces:
        manifests.apply(cfg, bin_path, repo, ns)
        healed = heal(cfg, bin_path, ns)
        if healed:
            out(f"{ns}: {'; '.join(healed)}")
    wait_on_release(cfg, bin_path, namespaces, timeout=SETTLE_TIMEOUT_S)
    forget_history(cfg)
    elapsed = time.monotonic() - began
    out(
        f"sandbox reset in {elapsed:.1f} s: {', '.join(namespaces)} on {manifests.RELEASE}, "
        "no fault, empty metric history"
    )
    return elapsed


def demo_namespaces(cfg: SandboxConfig, bin_path: Path) -> list[str]:
    """``sophia``, ``sophia-staging`` when ``up --namespace-staging`` made it,
    and ``ledger`` (the second sample application)."""
    found = cluster.kubectl(
        cfg, bin_path, "get", "namespace", manifests.STAGING_NAMESPACE,
        "--ignore-not-found", "-o", "name",
    )  # fmt: skip
    if found.returncode != 0:
        raise SandboxError(f"cannot list namespaces: {found.stderr.strip()}")
    staging = [manifests.STAGING_NAMESPACE] if found.stdout.strip() else []
    return [manifests.NAMESPACE, *staging, manifests.LEDGER_NAMESPACE]


def heal(cfg: SandboxConfig, bin_path: Path, namespace: str) -> list[str]:
    """Remove fault annotations and pauses from every Deployment in
    ``namespace``; return what was removed, one phrase per Deployment. The
    sandbox's own apply cannot: another field manager owns them."""
    healed = []
    for item in _deployments(cfg, bin_path, namespace):
        name = item["metadata"]["name"]
        spec = item.get("spec") or {}
        annotations = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
        stray = sorted(key for key in annotations if key.startswith(faults.PREFIX))
        paused = bool(spec.get("paused"))
        if not stray and not paused:
            continue
        patch: dict[str, Any] = {"spec": {"template": {"metadata": {"annotations": {}}}}}
        patch["spec"]["template"]["metadata"]["annotations"] = dict.fromkeys(stray)
        if paused:
            patch["spec"]["paused"] = False
        done = cluster.kubectl(
            cfg, bin_path, "patch", f"deployment/{name}", "-n", namespace,
            "--type=merge", "-p", json.dumps(patch),
        )  # fmt: skip
        if done.returncode != 0:
            raise SandboxError(f"cannot heal {namespace}/{name}: {done.stderr.strip()}")
        what = [f"{key.removeprefix(faults.PREFIX)} removed" for key in stray]
        healed.append(f"{name} " + ", ".join(what + (["resumed"] if paused else [])))
    return healed


def wait_on_release(
    cfg: SandboxConfig, bin_path: Path, namespaces: list[str], *, timeout: float
) -> None:
    """Poll until every Deployment's rollout is done and the HTTP mirror serves
    the release with no fault, in every namespace."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
        while True:
            problems = [p for ns in namespaces for p in _unsettled(cfg, bin_path, http, ns)]
            if not problems:
                return
            if time.monotonic() >= deadline:
                raise SandboxError(
                    f"not back on {manifests.RELEASE} after {timeout:.0f} s: "
                    + "; ".join(problems[:5])
                    + f"; see 'kubectl get deploy -n {namespaces[0]}' and "
                    "'gonogo sandbox logs demo'"
                )
            time.sleep(0.5)


def _unsettled(cfg: SandboxConfig, bin_path: Path, http: httpx.Client, ns: str) -> list[str]:
    found = []
    for item in _deployments(cfg, bin_path, ns):
        name, spec, status = item["metadata"]["name"], item["spec"], item.get("status") or {}
        wanted = spec.get("replicas", 1)
        if (
            status.get("observedGeneration", 0) < item["metadata"].get("generation", 0)
            or status.get("updatedReplicas", 0) != wanted
            or status.get("availableReplicas", 0) != wanted
            or status.get("replicas", 0) != wanted
        ):
            found.append(f"{ns}/{name} rollout not done")
    try:
        served = http.get(cfg.url("demo") + "/_sandbox/services", params={"namespace": ns})
        views = served.json()
    except (httpx.HTTPError, ValueError) as e:
        return [*found, f"the HTTP mirror did not answer ({e.__class__.__name__})"]
    for view in views:
        if view["version"] != manifests.RELEASE or view["faults"] != "none":
            found.append(f"{ns}/{view['name']} serves {view['version']} (faults: {view['faults']})")
    return found


def _deployments(cfg: SandboxConfig, bin_path: Path, namespace: str) -> list[dict[str, Any]]:
    listed = cluster.kubectl(cfg, bin_path, "get", "deployments", "-n", namespace, "-o", "json")
    if listed.returncode != 0:
        raise SandboxError(f"cannot list Deployments in {namespace}: {listed.stderr.strip()}")
    items: list[dict[str, Any]] = json.loads(listed.stdout).get("items") or []
    return items


def forget_history(cfg: SandboxConfig) -> None:
    """No metric, alert or delivery from before: Prometheus and Alertmanager
    stopped, the mirror's counts forgotten while nothing scrapes them, both
    started again on empty storage; the fakes and Redis' demo keys as seeded."""
    prometheus.stop(cfg)
    alertmanager.stop(cfg)
    _forget_counts(cfg)
    alertmanager.start(cfg)
    prometheus.start(cfg)
    fakes.reset(cfg)
    redis.seed_demo_data(cfg, overwrite=True)


def _forget_counts(cfg: SandboxConfig) -> None:
    """Ask the HTTP mirror to forget its request counts; a mirror started by
    an older gonogo, which has no such endpoint, is started again instead."""
    try:
        answer = httpx.post(cfg.url("demo") + "/_sandbox/reset", timeout=HTTP_TIMEOUT_S)
    except httpx.HTTPError as e:
        raise SandboxError(
            f"the HTTP mirror did not answer ({e}); 'gonogo sandbox logs demo' says why"
        ) from e
    if answer.status_code == 404:
        process.stop(cfg, stack.DEMO)
        stack.start_demo(cfg)
    elif answer.status_code != 200:
        raise SandboxError(
            f"the HTTP mirror did not forget its counts (HTTP {answer.status_code}); "
            "'gonogo sandbox logs demo' says why"
        )
