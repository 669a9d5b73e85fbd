"""The whole sandbox in order: the cluster, its fake nodes, the demo system,
the HTTP mirror, then the services around it (``gonogo_sandbox.services``).

``up`` is idempotent: every step checks what is already there. ``down`` stops
everything in reverse and then checks, by pid, that nothing is left.
"""

from __future__ import annotations

import base64
import importlib
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from gonogo_sandbox import cluster, manifests
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import (
    SandboxError,
    is_running,
    log_file,
    read_pid,
    spawn,
    stop,
    wait_until,
)

DEMO = "demo"
Out = Callable[[str], None]


def services() -> list[ModuleType]:
    """The service modules in start order, or none while that package is absent."""
    try:
        module = importlib.import_module("gonogo_sandbox.services")
    except ModuleNotFoundError as e:
        if e.name != "gonogo_sandbox.services":
            raise
        return []
    return list(module.ALL)


class _Clock:
    """Prints each step with the time since ``up`` began."""

    def __init__(self, out: Out):
        self.out, self.start = out, time.monotonic()

    def __call__(self, component: str, message: str) -> None:
        self.out(f"[{time.monotonic() - self.start:5.1f}s] {component}: {message}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def up(cfg: SandboxConfig, *, staging: bool = False, out: Out = print) -> float:
    """Start everything; return the seconds it took."""
    step = _Clock(out)
    repo = cluster.find_repo()
    bin_path = cluster.bin_dir(repo)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)

    step("cluster", f"starting with kwokctl (binaries in {bin_path})")
    cluster.create(cfg, bin_path)
    step("cluster", f"kube-apiserver ready at {cfg.url('apiserver', 'https')}")

    ensure_nodes(cfg, bin_path, cfg.nodes)
    step("nodes", f"{cfg.nodes} fake nodes Ready")

    namespaces = [manifests.NAMESPACE] + ([manifests.STAGING_NAMESPACE] if staging else [])
    for ns in namespaces:
        manifests.apply(cfg, bin_path, repo, ns)
        step("demo system", f"manifests applied to {ns} at release {manifests.RELEASE}")
    manifests.apply_ledger(cfg, bin_path, repo, manifests.LEDGER_NAMESPACE)
    step("ledger", f"manifests applied to {manifests.LEDGER_NAMESPACE} at {manifests.RELEASE}")

    start_demo(cfg)
    step("http mirror", f"serving at {cfg.url('demo')}")

    mods = services()
    if not mods:
        step("services", "package gonogo_sandbox.services not found; skipped")
    for mod in mods:
        mod.start(cfg)
        ok, address = mod.status(cfg)
        step(mod.NAME, f"up at {address}" if ok else f"started, not answering at {address}")

    if any(m.NAME == "tls" for m in mods):
        for ns in namespaces:
            publish_tls_secret(cfg, bin_path, ns)
        step("tls", f"certificate published as Secret {TLS_SECRET} in {', '.join(namespaces)}")

    for ns in namespaces:
        manifests.wait_available(cfg, bin_path, ns, timeout=120)
        step("demo system", f"every Deployment in {ns} Available")
    manifests.wait_available(cfg, bin_path, manifests.LEDGER_NAMESPACE, timeout=120)
    step("ledger", f"every Deployment in {manifests.LEDGER_NAMESPACE} Available")

    write_env(cfg)
    out(
        f"sandbox up in {step.elapsed:.1f} s; kube context {cfg.kube_context!r} in {cfg.kubeconfig}"
    )
    out(f"  export KUBECONFIG={cfg.kubeconfig}")
    out(f"  (or: source {env_file(cfg)})")
    return step.elapsed


def apply_json(
    cfg: SandboxConfig, bin_path: Path, obj: Mapping[str, object]
) -> subprocess.CompletedProcess[str]:
    """Server-side apply of one object (or a List) as the sandbox's field
    manager, taking fields back from whoever changed them since."""
    return cluster.kubectl(
        cfg,
        bin_path,
        "apply",
        "--server-side",
        f"--field-manager={manifests.FIELD_MANAGER}",
        "--force-conflicts",
        "-f",
        "-",
        stdin=json.dumps(obj),
    )


TLS_SECRET = "sophia-tls"
"""The Secret the Ingress and the Certificate name. No cert-manager runs in the
sandbox, so the sandbox plays its part: it stores the TLS front's certificate
(issued by the sandbox CA) there, as cert-manager would."""


def publish_tls_secret(cfg: SandboxConfig, bin_path: Path, namespace: str) -> None:
    from gonogo_sandbox.services import tls

    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": TLS_SECRET, "namespace": namespace},
        "data": {
            "tls.crt": base64.b64encode(tls.server_cert_file(cfg).read_bytes()).decode(),
            "tls.key": base64.b64encode(tls.server_key_file(cfg).read_bytes()).decode(),
            "ca.crt": base64.b64encode(tls.ca_file(cfg).read_bytes()).decode(),
        },
    }
    done = apply_json(cfg, bin_path, secret)
    if done.returncode != 0:
        raise SandboxError(
            f"cannot store Secret {TLS_SECRET} in {namespace}: {done.stderr.strip()}"
        )


def down(cfg: SandboxConfig, *, out: Out = print) -> list[str]:
    """Stop everything ``up`` started; return what was still running afterwards
    (empty when the machine is clean)."""
    for mod in reversed(services()):
        try:
            mod.stop(cfg)
            out(f"{mod.NAME}: stopped")
        except Exception as e:  # one service failing to stop must not keep the rest running
            out(f"{mod.NAME}: stop failed: {e}")
    if stop(cfg, DEMO):
        out("http mirror: stopped")
    try:
        bin_path: Path | None = cluster.bin_dir()
    except SandboxError:
        bin_path = None
    killed = cluster.delete(cfg, bin_path)
    out("cluster: deleted" + (f" (killed by pid: {', '.join(killed)})" if killed else ""))
    env_file(cfg).unlink(missing_ok=True)
    return leftovers(cfg)


def leftovers(cfg: SandboxConfig) -> list[str]:
    """Sandbox components still running, by their pid files."""
    left = [name for name, up_, _ in cluster.status(cfg) if up_]
    if is_running(read_pid(cfg, DEMO)):
        left.append(DEMO)
    left += [mod.NAME for mod in services() if mod.status(cfg)[0]]
    return left


def status(cfg: SandboxConfig) -> list[tuple[str, bool, str]]:
    """(component, up?, address) for every part of the sandbox."""
    rows = list(cluster.status(cfg))
    rows.append((DEMO, demo_ready(cfg), cfg.url("demo")))
    for mod in services():
        ok, address = mod.status(cfg)
        rows.append((mod.NAME, ok, address))
    return rows


# -- parts ----------------------------------------------------------------------


def ensure_nodes(cfg: SandboxConfig, bin_path: Path, count: int) -> None:
    """Exactly ``count`` fake nodes, all Ready."""
    wanted = cluster.node_names(count)
    nodes = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [cluster.node_manifest(n) for n in wanted],
    }
    result = apply_json(cfg, bin_path, nodes)
    if result.returncode != 0:
        raise SandboxError(f"creating the fake nodes failed: {result.stderr.strip()}")
    listed = cluster.kubectl(
        cfg, bin_path, "get", "nodes", "-l", f"{cluster.NODE_LABEL}=true", "-o", "name"
    )
    for name in listed.stdout.split():
        if name.removeprefix("node/") not in wanted:
            cluster.kubectl(cfg, bin_path, "delete", name, "--wait=false")
    result = cluster.kubectl(
        cfg,
        bin_path,
        "wait",
        "--for=condition=Ready",
        "node",
        "-l",
        f"{cluster.NODE_LABEL}=true",
        "--timeout=60s",
        timeout=90,
    )
    if result.returncode != 0:
        raise SandboxError(
            f"fake nodes not Ready: {result.stderr.strip()}; "
            f"see {cluster.component_log(cfg, 'kwok-controller')}"
        )


def start_demo(cfg: SandboxConfig) -> None:
    spawn(
        cfg,
        DEMO,
        [
            sys.executable,
            "-m",
            "gonogo_sandbox.demo_server",
            "--kubeconfig",
            str(cfg.kubeconfig),
            "--context",
            cfg.kube_context,
            "--port",
            str(cfg.port("demo")),
            "--redis-port",
            str(cfg.port("redis")),
            "--targets-file",
            str(targets_file(cfg)),
        ],
    )
    wait_until(lambda: demo_ready(cfg), what="http mirror", timeout=30, log=log_file(cfg, DEMO))


def demo_ready(cfg: SandboxConfig) -> bool:
    try:
        with urllib.request.urlopen(cfg.url("demo") + "/_sandbox/ready", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def targets_file(cfg: SandboxConfig) -> Path:
    """Prometheus file-SD targets of the HTTP mirror (read by the Prometheus service)."""
    return cfg.state_dir / "prometheus" / "targets.json"


def env_file(cfg: SandboxConfig) -> Path:
    return cfg.state_dir / "sandbox.env"


def client_env(cfg: SandboxConfig) -> dict[str, str]:
    """What a client of the sandbox needs in its environment: the kubeconfig,
    and the tokens the local GitHub and HubSpot servers accept, which
    ``targets/sandbox.yaml`` references by these variable names. They are
    sandbox-only values, not secrets of any real system."""
    from gonogo_sandbox.services.fakes import github, hubspot

    return {
        "KUBECONFIG": str(cfg.kubeconfig),
        "GONOGO_SANDBOX_KUBE_CONTEXT": cfg.kube_context,
        "GONOGO_SANDBOX_DEMO_URL": cfg.url("demo"),
        github.TOKEN_ENV: github.token(),
        hubspot.TOKEN_ENV: hubspot.token(),
    }


def write_env(cfg: SandboxConfig) -> None:
    """Shell exports for using the sandbox from another terminal."""
    env_file(cfg).write_text("".join(f"export {k}={v}\n" for k, v in client_env(cfg).items()))


def log_path(cfg: SandboxConfig, component: str) -> Path:
    """Where a component writes its log: the control plane under kwokctl's
    cluster directory, everything else under the sandbox's logs directory."""
    if component in cluster.COMPONENTS:
        return cluster.component_log(cfg, component)
    return log_file(cfg, component)


def log_components(cfg: SandboxConfig) -> list[str]:
    names = list(cluster.COMPONENTS) + ["kwokctl", DEMO] + [m.NAME for m in services()]
    return names
