"""Generated demo systems of N services, for measuring how gonogo scales.

Each generated service has the shape of the demo services (a ServiceAccount, a
Deployment labelled for the sandbox's HTTP mirror with the release image, a
Service), lives in its own namespace ``bench-<N>``, and is described by a
target file that is ``targets/sandbox.yaml`` with the services and namespace
replaced, so every check runs exactly as it does against the demo system."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from gonogo_sandbox import cluster, stack
from gonogo_sandbox.config import SandboxConfig

REPO = Path(__file__).resolve().parents[1]
IMAGE = "127.0.0.1:15000/sophia-mcp-research"
PODS_PER_NODE = 110


def namespace(n: int) -> str:
    return f"bench-{n}"


def service_names(n: int) -> list[str]:
    return [f"svc-{i:03d}" for i in range(n)]


def manifests(n: int, release: str = "v1.0.0") -> list[dict[str, Any]]:
    ns = namespace(n)
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sophia-config", "namespace": ns},
            "data": {
                "ENVIRONMENT": "production",
                "LOG_LEVEL": "info",
                "REDIS_HOST": "redis",
                "REDIS_PORT": "6379",
            },
        },
    ]
    for name in service_names(n):
        labels = {
            "app": name,
            "sandbox.gonogo.dev/http": "true",
            "app.kubernetes.io/part-of": "sophia-bench",
        }
        docs += [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            },
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "revisionHistoryLimit": 5,
                    "progressDeadlineSeconds": 120,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": name,
                            "containers": [
                                {
                                    "name": name,
                                    "image": f"{IMAGE}:{release}",
                                    "ports": [{"name": "http", "containerPort": 8080}],
                                    "envFrom": [{"configMapRef": {"name": "sophia-config"}}],
                                    "resources": {
                                        "requests": {"cpu": "5m", "memory": "8Mi"},
                                        "limits": {"cpu": "50m", "memory": "64Mi"},
                                    },
                                }
                            ],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                # headless: a cluster IP per service would exhaust the sandbox's
                # service range long before 500, and nothing here routes through it
                "spec": {
                    "clusterIP": "None",
                    "selector": {"app": name},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                },
            },
        ]
    return docs


def kubectl(
    cfg: SandboxConfig, *args: str, stdin: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    done = cluster.kubectl(cfg, cluster.bin_dir(), *args, stdin=stdin, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done


def deploy(cfg: SandboxConfig, n: int) -> float:
    """Create (or reset to v1.0.0) the N-service system; return seconds until all Available."""
    nodes = max(cfg.nodes, -(-(n + 60) // PODS_PER_NODE))
    stack.ensure_nodes(cfg, cluster.bin_dir(), nodes)
    started = time.monotonic()
    apply_and_wait(cfg, n, manifests(n))
    return time.monotonic() - started


def apply_and_wait(cfg: SandboxConfig, n: int, docs: list[dict[str, Any]]) -> None:
    """Server-side apply ``docs`` in one request, then wait until every
    Deployment of the N-service system is Available."""
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
    kubectl(
        cfg,
        "apply",
        "--server-side",
        "--field-manager=gonogo-bench",
        "--force-conflicts",
        "-f",
        "-",
        stdin=body,
    )
    kubectl(
        cfg,
        "wait",
        "--for=condition=Available",
        "deployment",
        "--all",
        "-n",
        namespace(n),
        "--timeout=600s",
    )


def remove(cfg: SandboxConfig, n: int) -> None:
    kubectl(
        cfg,
        "delete",
        "namespace",
        namespace(n),
        "--wait=true",
        "--ignore-not-found",
        "--timeout=600s",
    )


def target_file(n: int, directory: Path) -> Path:
    """targets/sandbox.yaml with N generated services in namespace bench-N."""
    base = yaml.safe_load((REPO / "targets" / "sandbox.yaml").read_text())
    ns = namespace(n)
    base["name"] = f"bench-{n}"
    base["namespaces"] = {env: ns for env in base["namespaces"]}
    base["services"] = [
        {
            "name": name,
            "image": "sophia-mcp-research",
            "tier": "core",
            "health_path": f"/{name}/health",
            "version_path": f"/{name}/version",
            "port": 8080,
            "rollout_timeout_s": 120,
        }
        for name in service_names(n)
    ]
    for env in base.get("environments", {}).values():
        env["base_url"] = f"http://127.0.0.1:18080/_ns/{ns}"
    # the demo's workflows and API users name demo services, which are not here
    base.pop("workflows", None)
    for api in base.get("external_apis", []):
        api["used_by"] = []
    # paths in the copy must still point where the original's did
    path = directory / f"bench-{n}.yaml"
    text = yaml.safe_dump(base, sort_keys=False)
    text = text.replace("../", str(REPO) + "/")
    path.write_text(text)
    return path
