"""The sandbox's Kubernetes control plane: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok and metrics-server, run as local
processes by ``kwokctl --runtime binary`` from the binaries that
``sandbox/cluster/build.sh`` built, so nothing is downloaded.

kwokctl keeps its state under ``<state_dir>/kwok`` (``KWOK_WORKDIR``), never in
``~/.kwok``. The fake nodes are Node objects carrying kwok's annotation; kwok
makes them and their pods Ready through its default stages and emulates their
resource usage, which metrics-server serves as the metrics API.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.process import SandboxError, is_running, wait_until

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
    "kwokctl",
    "metrics-server",
)
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok-controller",
    "metrics-server",
)
"""The processes kwokctl starts, by the names of their pid and log files."""
NODE_PREFIX = "kwok-node-"
NODE_LABEL = "sandbox.gonogo.dev/node"
NODE_ALLOCATABLE = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}

KWOK_CONFIG = """\
# Written by gonogo sandbox up; read by kwokctl through --config.
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: {host}
  kubectlBinary: {bin}/kubectl
  cacheDir: {workdir}/cache
  quietPull: true
# kwok keeps only the sandbox's own nodes alive. A node without their label
# gets no heartbeat and stays NotReady, as a real dead node would: that is how
# tests inject a "node NotReady" fault.
componentsPatches:
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: manage-nodes-with-label-selector
    value: {node_label}=true
# One scheduler and one controller manager, never more: leader election only
# adds a way to stop. Each exits when it misses a lease renewal (10 s without
# the API server, e.g. while a busy 2-core machine starves etcd), and nothing
# restarts it, so new pods would wait for ever while old ones stay Ready.
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
- name: kube-controller-manager
  extraArgs:
  - key: leader-elect
    value: "false"
---
# Every pod uses a little CPU and memory that varies over time, so that
# 'kubectl top' and the metrics API have realistic numbers; kwok's usage
# annotations on a pod override them.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata:
  name: sandbox-usage
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "kwok.x-k8s.io/usage-cpu" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-cpu"])
          : Quantity("20m") * (1.0 + Rand() * 0.5)
      memory:
        expression: |
          "kwok.x-k8s.io/usage-memory" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["kwok.x-k8s.io/usage-memory"])
          : Quantity("96Mi") * (1.0 + Rand() * 0.25)
"""


# -- where things are -----------------------------------------------------------


def find_repo() -> Path:
    """The repository holding ``sandbox/cluster/build.sh``: ``GONOGO_REPO``, else
    the checkout this package is installed from (editable): the sandbox's data
    (manifests, CRDs, the cluster build) lives beside the package, not inside it."""
    env = os.environ.get("GONOGO_REPO")
    candidates = [Path(env)] if env else list(Path(__file__).resolve().parents)
    for path in candidates:
        if (path / "sandbox" / "cluster" / "build.sh").is_file():
            return path
    raise SandboxError(
        "cannot find the gonogo repository (sandbox/cluster/build.sh); "
        "set GONOGO_REPO to its path or install the sandbox with 'pip install -e <repo>/sandbox'"
    )


def versions(repo: Path) -> dict[str, str]:
    out = {}
    for line in (repo / "sandbox" / "cluster" / "versions.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
    return out


def bin_dir(repo: Path | None = None) -> Path:
    """Where build.sh puts the binaries; the same key as build.sh computes."""
    if os.environ.get("GONOGO_SANDBOX_BIN"):
        return Path(os.environ["GONOGO_SANDBOX_BIN"])
    v = versions(repo or find_repo())
    key = (
        f"k8s-{v['KUBERNETES_VERSION']}_etcd-{v['ETCD_VERSION']}"
        f"_kwok-{v['KWOK_VERSION']}_metrics-server-{v['METRICS_SERVER_VERSION']}"
    )
    cache = Path(os.environ.get("GONOGO_CACHE", Path.home() / ".cache" / "gonogo"))
    return cache / key / "bin"


def missing_binaries(bin_path: Path) -> list[str]:
    return [b for b in BINARIES if not os.access(bin_path / b, os.X_OK)]


def workdir(cfg: SandboxConfig) -> Path:
    """kwokctl's KWOK_WORKDIR."""
    return cfg.state_dir / "kwok"


def cluster_dir(cfg: SandboxConfig) -> Path:
    return workdir(cfg) / "clusters" / cfg.cluster_name


def component_log(cfg: SandboxConfig, component: str) -> Path:
    return cluster_dir(cfg) / "logs" / f"{component}.log"


def tool_env(cfg: SandboxConfig, bin_path: Path) -> dict[str, str]:
    """Environment for kwokctl and kubectl: our binaries first on PATH, kwok's
    state under the sandbox directory."""
    return {
        **os.environ,
        "PATH": f"{bin_path}{os.pathsep}{os.environ.get('PATH', '')}",
        "KWOK_WORKDIR": str(workdir(cfg)),
        "KUBECONFIG": str(cfg.kubeconfig),
    }


# -- lifecycle --------------------------------------------------------------------


def create(cfg: SandboxConfig, bin_path: Path, *, timeout: float = 120.0) -> None:
    """Create (or restart) the cluster and wait until the API server is ready."""
    missing = missing_binaries(bin_path)
    if missing:
        raise SandboxError(
            f"cluster binaries missing in {bin_path}: {', '.join(missing)}; "
            "run 'gonogo sandbox build' first"
        )
    workdir(cfg).mkdir(parents=True, exist_ok=True)
    config = cfg.state_dir / "kwok-config.yaml"
    config.write_text(
        KWOK_CONFIG.format(host=HOST, bin=bin_path, workdir=workdir(cfg), node_label=NODE_LABEL)
    )
    argv = [
        str(bin_path / "kwokctl"),
        "--name",
        cfg.cluster_name,
        "--config",
        str(config),
        "create",
        "cluster",
        "--runtime",
        "binary",
        "--kube-apiserver-port",
        str(cfg.port("apiserver")),
        "--kubeconfig",
        str(cfg.kubeconfig),
        "--etcd-binary",
        str(bin_path / "etcd"),
        "--kube-apiserver-binary",
        str(bin_path / "kube-apiserver"),
        "--kube-controller-manager-binary",
        str(bin_path / "kube-controller-manager"),
        "--kube-scheduler-binary",
        str(bin_path / "kube-scheduler"),
        "--kwok-controller-binary",
        str(bin_path / "kwok"),
        "--metrics-server-binary",
        str(bin_path / "metrics-server"),
        "--enable",
        "metrics-server",
        "--quiet-pull",
        "--wait",
        f"{int(timeout)}s",
    ]
    log = cfg.logs_dir / "kwokctl.log"
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        result = subprocess.run(
            argv,
            env=tool_env(cfg, bin_path),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout + 60,
            check=False,
        )
    if result.returncode != 0:
        raise SandboxError(
            f"kwokctl create cluster failed (exit {result.returncode}); see {log} and "
            f"{cluster_dir(cfg) / 'logs'}; 'gonogo sandbox down' cleans up before a retry"
        )
    wait_until(
        lambda: kubectl_ok(cfg, bin_path, "get", "--raw", "/readyz"),
        what="kube-apiserver",
        timeout=timeout,
        log=component_log(cfg, "kube-apiserver"),
    )


def kubectl(
    cfg: SandboxConfig, bin_path: Path, *args: str, timeout: float = 60.0, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the sandbox's kubectl against the sandbox's kubeconfig and context."""
    argv = [
        str(bin_path / "kubectl"),
        "--kubeconfig",
        str(cfg.kubeconfig),
        "--context",
        cfg.kube_context,
        *args,
    ]
    return subprocess.run(
        argv,
        env=tool_env(cfg, bin_path),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def kubectl_ok(cfg: SandboxConfig, bin_path: Path, *args: str) -> bool:
    try:
        return kubectl(cfg, bin_path, *args, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def node_manifest(name: str) -> dict[str, object]:
    """A fake node, as kwokctl's own node template makes one, with the
    allocatable of a modest real machine."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                "metrics.k8s.io/resource-metrics-path": f"/metrics/nodes/{name}/metrics/resource",
            },
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
                NODE_LABEL: "true",
            },
        },
        "spec": {},
        "status": {
            "allocatable": NODE_ALLOCATABLE,
            "capacity": NODE_ALLOCATABLE,
            # metrics-server reaches the node's kubelet endpoint (kwok) here.
            "addresses": [{"type": "InternalIP", "address": HOST}],
        },
    }


def node_names(n: int) -> list[str]:
    return [f"{NODE_PREFIX}{i}" for i in range(n)]


def pids(cfg: SandboxConfig) -> dict[str, int]:
    """The control plane's processes, from kwokctl's pid files."""
    out = {}
    for pid_path in sorted((cluster_dir(cfg) / "pids").glob("*.pid")):
        try:
            out[pid_path.stem] = int(pid_path.read_text().strip())
        except ValueError:
            continue
    return out


def status(cfg: SandboxConfig) -> list[tuple[str, bool, str]]:
    """(component, up?, address or pid) for every control-plane process."""
    running = pids(cfg)
    rows = []
    for name in COMPONENTS:
        pid = running.get(name)
        up = is_running(pid)
        where = (
            f"https://{HOST}:{cfg.port('apiserver')}"
            if name == "kube-apiserver"
            else (f"pid {pid}" if up else "-")
        )
        rows.append((name, up, where))
    return rows


def delete(cfg: SandboxConfig, bin_path: Path | None, *, timeout: float = 20.0) -> list[str]:
    """Delete the cluster and make sure none of its processes is left; return
    the components that had to be killed by pid."""
    before = pids(cfg)
    if bin_path is not None and (bin_path / "kwokctl").exists() and cluster_dir(cfg).exists():
        cfg.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(cfg.logs_dir / "kwokctl.log", "ab") as out:
            subprocess.run(
                [
                    str(bin_path / "kwokctl"),
                    "--name",
                    cfg.cluster_name,
                    "delete",
                    "cluster",
                    "--kubeconfig",
                    str(cfg.kubeconfig),
                ],
                env=tool_env(cfg, bin_path),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout + 30,
                check=False,
            )
    killed = []
    deadline = time.monotonic() + timeout
    for name, pid in before.items():
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if is_running(pid):
            killed.append(name)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for name, pid in before.items():
        wait_until(_exited(pid), what=f"{name} (pid {pid}) to exit", timeout=5)
    return killed


def _exited(pid: int) -> Callable[[], bool]:
    return lambda: not is_running(pid)
