"""What a production gate run against the sandbox needs, made for one test:
a target copy with absolute paths and the run's own output directories, a
sign-off file with current timestamps, a backup taken from the sandbox, and a
real staging run whose record the production gate reads. Running the suites
and reading their outcome is ``tests.support.suite_runner``."""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from gonogo.integrations.kubernetes.client import KubeClient
from gonogo.model import signoffs
from gonogo_sandbox import cluster
from gonogo_sandbox.config import SandboxConfig

from tests.support.demo_system import sandbox_target
from tests.support.suite_runner import REPO, run_suite

MANUAL_ITEMS = (
    "Change approval",
    "Maintenance window scheduled",
    "Team availability",
    "User acceptance testing",
)
ROLES = {"production": "change-management", "staging": "technical-lead"}


def target_copy(path: Path, changes: dict[str, Any]) -> Path:
    """The sandbox target with file paths made absolute and ``changes`` merged
    in (dicts recursively); written to ``path``."""
    path.write_text(yaml.safe_dump(sandbox_target(changes), sort_keys=False))
    return path


def write_signoffs(path: Path, *, skip: tuple[str, ...] = ()) -> Path:
    """Sign-offs for every manual item in production and staging, but ``skip``."""
    path.unlink(missing_ok=True)
    for environment, role in ROLES.items():
        signoffs.write_signoffs(
            path,
            [item for item in MANUAL_ITEMS if item not in skip],
            who="Dana Ops",
            role=role,
            release="v1.1.0",
            environment=environment,
            ticket="CHG-4711",
            append=True,
        )
    return path


_KINDS = {
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "services": ("v1", "Service"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "deployments": ("apps/v1", "Deployment"),
}


def write_backup(kube: KubeClient, namespace: str, directory: Path) -> Path:
    """A namespace backup as the deploy stage writes it: a YAML List, Secret
    values replaced by digests, mode 0600."""
    items = []
    for kind, (api_version, name) in _KINDS.items():
        for obj in kube.list_all(kind, namespace):
            obj["apiVersion"], obj["kind"] = api_version, name
            if name == "Secret":
                obj["data"] = {
                    k: "sha256:" + hashlib.sha256(v.encode()).hexdigest()
                    for k, v in (obj.get("data") or {}).items()
                }
            items.append(obj)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"pre-deployment-{datetime.now(UTC):%Y%m%d-%H%M%S}.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    return path


STAGING_PROOF = "deploy_to_staging or configure_staging or validate_staging or performance_testing"
"""The staging checks that deploy the release and measure it: the part of a
staging run whose record the production gate's "Performance testing" reads."""


def staging_overrides(work: Path, namespace: str) -> dict[str, Any]:
    """Target changes that put staging in ``namespace`` (a copy of the release's
    manifests with the staging ConfigMap pointed there) and keep the run
    records in ``work/records``, shared by every run of the copy."""
    manifests = work / "manifests"
    if not manifests.exists():
        shutil.copytree(REPO / "sandbox" / "manifests", manifests)
    staging_cm = manifests / "configmap-staging.yaml"
    staging_cm.write_text(
        staging_cm.read_text().replace("namespace: sophia-staging", f"namespace: {namespace}")
    )
    return {
        "namespaces": {"staging": namespace},
        "manifests_dir": str(manifests),
        "records": {"store": "directory", "path": str(work / "records")},
        "environments": {"staging": {"base_url": f"{SandboxConfig().url('demo')}/_ns/{namespace}"}},
    }


def run_staging_proof(target: Path, cwd: Path) -> tuple[int, str]:
    """Staging for real (--execute): deploy the release to the copy's staging
    namespace and run its "Performance testing"; the run leaves its record."""
    return run_suite(
        str(REPO / "suites" / "staging"),
        "-m",
        "staging",
        "--target",
        str(target),
        "--env",
        "staging",
        "--execute",
        "-k",
        STAGING_PROOF,
        cwd=cwd,
    )


def delete_namespace(name: str) -> None:
    """Delete a namespace a test created (without waiting for it to go)."""
    cluster.kubectl(
        SandboxConfig(),
        cluster.bin_dir(),
        "delete",
        "namespace",
        name,
        "--wait=false",
        "--ignore-not-found",
    )
