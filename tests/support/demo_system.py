"""A fresh copy of the sandbox's demo system in a namespace of its own.

End-to-end tests that deploy, roll back or break things use this instead of
the shared ``sophia`` namespace: ``demo_system(...)`` creates a namespace,
applies the sandbox's demo manifests there at v1.0.0 (with the sandbox's own
``gonogo_sandbox.manifests`` functions), waits until every Deployment is
Available and writes a copy of ``targets/sandbox.yaml`` pointed at it. The
namespace is deleted on the way out.

    from tests.support.demo_system import demo_system

    with demo_system(tmp_path, "deploy", overrides={"release": "v9.9.9"}) as demo:
        run_release(demo.target_file, tmp_path / "reports", "-m", "deploy")
"""

from __future__ import annotations

import copy
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gonogo.model.target import load_target
from gonogo_sandbox import cluster, manifests
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.demo import traffic
from kubernetes import client as k8s
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[2]
SANDBOX_TARGET = REPO / "targets" / "sandbox.yaml"
AVAILABLE_TIMEOUT_S = 180.0

_PATH_KEYS = ("manifests_dir", "secrets_dir")

RELEASE_SERVICES = (
    "redis",
    "mcp-research",
    "mcp-context",
    "mcp-agents",
    "sophia-dashboard",
    "sophia-business",
    "sophia-hubspot",
    "sophia-github",
    "sophia-lambda",
    "mcp-business",
)
"""The Deployments a release of the demo system changes."""


@dataclass(frozen=True)
class DemoSystem:
    namespace: str
    target_file: Path
    manifests_dir: Path
    base_url: str
    cfg: SandboxConfig

    def api(self) -> k8s.ApiClient:
        """A kubernetes client for the sandbox (close it, or use ``with``)."""
        return k8s_config.new_client_from_config(
            config_file=str(self.cfg.kubeconfig), context=self.cfg.kube_context
        )


def versions(demo: DemoSystem) -> dict[str, tuple[str, str]]:
    """Deployment -> (image tag, resourceVersion)."""
    with demo.api() as api:
        items = (
            k8s.AppsV1Api(api).list_namespaced_deployment(demo.namespace, _request_timeout=10).items
        )
    return {
        d.metadata.name: (
            d.spec.template.spec.containers[0].image.rsplit(":", 1)[1],
            d.metadata.resource_version,
        )
        for d in items
    }


def _absolute(value: str, base: Path) -> str:
    if value.startswith(("/", "~", "$")):
        return value
    return str((base / value).resolve())


def sandbox_target(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """``targets/sandbox.yaml`` with its file paths made absolute (so a copy
    works from any directory), deep-merged with ``overrides``."""
    data = yaml.safe_load(SANDBOX_TARGET.read_text())
    # Each copy keeps its run records in its own reports folder (the default
    # directory store), not in the sandbox's shared store, so no test reads
    # another's proof; a test that wants a shared store names one.
    data.pop("records", None)
    base = SANDBOX_TARGET.parent
    for key in _PATH_KEYS:
        if key in data:
            data[key] = _absolute(data[key], base)
    if "release_notes" in data and "path" in data["release_notes"]:
        data["release_notes"]["path"] = _absolute(data["release_notes"]["path"], base)
    if "security_scan" in data:
        data["security_scan"]["report"] = _absolute(data["security_scan"]["report"], base)
    _merge(data, overrides or {})
    return data


def target_copy(
    namespace: str, directory: Path, cfg: SandboxConfig, overrides: dict[str, Any] | None = None
) -> Path:
    """The sandbox target (``sandbox_target``) pointed at ``namespace``, deep-merged
    with ``overrides``, written to ``directory``."""
    data = sandbox_target()
    data["namespaces"]["production"] = namespace
    data["environments"]["production"]["base_url"] = f"{cfg.url('demo')}/_ns/{namespace}"
    _merge(data, overrides or {})
    path = directory / f"target-{namespace}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def manifests_copy(directory: Path) -> Path:
    """A writable copy of ``sandbox/manifests`` for tests that break one file."""
    out = directory / "manifests"
    shutil.copytree(REPO / "sandbox" / "manifests", out)
    return out


def release_with(directory: Path, service: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of the release's manifests in which ``change`` has been applied to
    ``service``'s Deployment: what a broken release of that one service looks
    like to the deploy stage. Point a target's ``manifests_dir`` at it."""
    manifests = manifests_copy(directory)
    path = manifests / f"{service}.yaml"
    documents = list(yaml.safe_load_all(path.read_text()))
    for doc in documents:
        if doc and doc.get("kind") == "Deployment":
            change(doc)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return manifests


def never_available(deployment: dict[str, Any]) -> None:
    """Ask for more than any node has, and give up after 10 s: the rollout can
    never complete, so the deploy stage fails and rolls back."""
    deployment["spec"]["progressDeadlineSeconds"] = 10
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    impossible = {"cpu": "500", "memory": "1Ti"}
    container["resources"] = {"requests": impossible, "limits": impossible}


def fault(annotation: str, value: str) -> Callable[[dict[str, Any]], None]:
    """A change putting one of the sandbox's fault annotations on the pod template."""

    def change(deployment: dict[str, Any]) -> None:
        metadata = deployment["spec"]["template"]["metadata"]
        metadata.setdefault("annotations", {})[annotation] = value

    return change


@contextmanager
def demo_system(
    directory: Path,
    name: str,
    *,
    overrides: dict[str, Any] | None = None,
    cfg: SandboxConfig | None = None,
) -> Iterator[DemoSystem]:
    """The demo system at v1.0.0 in a fresh namespace ``e2e-<name>-<random>``."""
    cfg = cfg or SandboxConfig()
    namespace = f"e2e-{name}-{secrets.token_hex(3)}"[:63]
    bin_path = cluster.bin_dir()
    try:
        manifests.apply(cfg, bin_path, REPO, namespace)
        manifests.wait_available(cfg, bin_path, namespace, AVAILABLE_TIMEOUT_S)
        target_file = target_copy(namespace, directory, cfg, overrides)
        loaded = yaml.safe_load(target_file.read_text())
        yield DemoSystem(
            namespace,
            target_file,
            Path(loaded["manifests_dir"]),
            loaded["environments"]["production"]["base_url"],
            cfg,
        )
    finally:
        cluster.kubectl(
            cfg, bin_path, "delete", "namespace", namespace, "--wait=false", "--ignore-not-found"
        )


@contextmanager
def user_traffic(demo: DemoSystem) -> Iterator[None]:
    """The demo's users (``gonogo_sandbox.demo.traffic``) on this demo system's
    production services until the block ends: "Performance metrics" judges a
    release only on enough requests since its rollout, which a run that
    finishes in seconds does not make by itself."""
    with traffic.users(load_target(demo.target_file), "production"):
        yield
