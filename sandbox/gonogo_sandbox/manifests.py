"""The demo systems in the cluster: CRDs, namespaces, Secrets and the seed's
manifests, applied at release v1.0.0 with server-side apply, in the order the
checklist deploys them; and the second sample application, the ledger (four
services of its own in namespace ``ledger``, ``sandbox/manifests/ledger/``),
which shares nothing with the seed's system but the cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path

from gonogo_sandbox import cluster
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.process import SandboxError

NAMESPACE = "sophia"
STAGING_NAMESPACE = "sophia-staging"
FIELD_MANAGER = "gonogo-sandbox"
RELEASE = "v1.0.0"

ORDER = (
    "configmap-production.yaml",
    "network-policies.yaml",
    "rbac.yaml",
    "cert-manager.yaml",
    "redis.yaml",
    "mcp-research.yaml",
    "mcp-context.yaml",
    "mcp-agents.yaml",
    "sophia-dashboard.yaml",
    "sophia-business.yaml",
    "sophia-hubspot.yaml",
    "sophia-github.yaml",
    "sophia-lambda.yaml",
    "mcp-business.yaml",
    "maintenance.yaml",
    "ingress-enhanced-ssl.yaml",
    "hpa.yaml",
    "prometheus.yaml",
    "grafana.yaml",
    "loki.yaml",
    "advanced-alerts.yaml",
)
"""The seed's deployment order; configmap-staging.yaml is applied to staging only."""

LEDGER_NAMESPACE = "ledger"
LEDGER_DIR = "ledger"
"""The second sample application's namespace and its folder under sandbox/manifests."""

NAMESPACE_MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
  labels:
    app.kubernetes.io/part-of: {part_of}
    sandbox.gonogo.dev/environment: {environment}
"""


def sandbox_dir(repo: Path) -> Path:
    return repo / "sandbox"


def files_for(repo: Path, namespace: str) -> list[Path]:
    """Manifest files in apply order for ``namespace``; every one must exist."""
    manifests = sandbox_dir(repo) / "manifests"
    names = list(ORDER)
    if namespace == STAGING_NAMESPACE:
        names.insert(1, "configmap-staging.yaml")
    paths = [manifests / n for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SandboxError(
            f"demo manifests missing: {', '.join(missing)}; restore sandbox/manifests/"
        )
    return paths


def ledger_files(repo: Path) -> list[Path]:
    """The ledger's manifests, one file per service; there must be some."""
    paths = sorted((sandbox_dir(repo) / "manifests" / LEDGER_DIR).glob("*.yaml"))
    if not paths:
        raise SandboxError(
            f"ledger manifests missing in {sandbox_dir(repo) / 'manifests' / LEDGER_DIR}; "
            "restore sandbox/manifests/ledger/"
        )
    return paths


def apply_ledger(cfg: SandboxConfig, bin_path: Path, repo: Path, namespace: str) -> None:
    """The second sample application at v1.0.0 in ``namespace``: its namespace
    and its four services, nothing of the seed's system."""
    _apply(
        cfg,
        bin_path,
        ["-f", "-"],
        stdin=NAMESPACE_MANIFEST.format(name=namespace, part_of="ledger", environment="production"),
    )
    files = [arg for path in ledger_files(repo) for arg in ("-f", str(path))]
    _apply(cfg, bin_path, ["-n", namespace, *files])


def apply(cfg: SandboxConfig, bin_path: Path, repo: Path, namespace: str) -> None:
    """CRDs, the namespace, the Secrets and the manifests, in one pass each
    (namespace ``ledger``: the second sample application instead)."""
    if namespace == LEDGER_NAMESPACE:
        apply_ledger(cfg, bin_path, repo, namespace)
        return
    environment = "staging" if namespace == STAGING_NAMESPACE else "production"
    _apply(cfg, bin_path, ["-f", str(sandbox_dir(repo) / "crds")])
    _check(
        cluster.kubectl(
            cfg,
            bin_path,
            "wait",
            "--for=condition=established",
            "crd",
            "-l",
            "app.kubernetes.io/part-of=gonogo-sandbox",
            "--timeout=60s",
            timeout=90,
        ),
        "waiting for the CRDs",
    )
    _apply(
        cfg,
        bin_path,
        ["-f", "-"],
        stdin=NAMESPACE_MANIFEST.format(name=namespace, part_of="sophia", environment=environment),
    )
    files = ["-f", str(sandbox_dir(repo) / "secrets")]
    for path in files_for(repo, namespace):
        files += ["-f", str(path)]
    _apply(cfg, bin_path, ["-n", namespace, *files])


def wait_available(cfg: SandboxConfig, bin_path: Path, namespace: str, timeout: float) -> None:
    result = cluster.kubectl(
        cfg,
        bin_path,
        "wait",
        "--for=condition=available",
        "deployment",
        "--all",
        "-n",
        namespace,
        f"--timeout={int(timeout)}s",
        timeout=timeout + 30,
    )
    _check(result, f"waiting for the Deployments in {namespace} to become available")


def _apply(cfg: SandboxConfig, bin_path: Path, args: list[str], stdin: str | None = None) -> None:
    result = cluster.kubectl(
        cfg,
        bin_path,
        "apply",
        "--server-side",
        f"--field-manager={FIELD_MANAGER}",
        "--force-conflicts",
        *args,
        stdin=stdin,
        timeout=120,
    )
    _check(result, "kubectl apply " + " ".join(args))


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        err = (result.stderr or "").strip().splitlines()
        detail = err[-1] if err else f"exit {result.returncode}"
        raise SandboxError(f"{what} failed: {detail}; see 'gonogo sandbox logs kube-apiserver'")
