"""The demo's faulty release candidate: the next release, v1.2.0, whose
images are real (the sandbox's registry holds them, and the scan report
covers their digests) but whose manifests make one service answer 20 % of
its requests with errors, the way a bad configuration change would.

Nothing about it is special to gonogo: it is a target file and a manifests
folder, written into the demo's reports folder, that differ from
``targets/sandbox.yaml`` and ``sandbox/manifests/`` only in the release they
name and in that one service's pod template."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from gonogo.sandbox import faults

RELEASE = "v1.2.0"
FAULTY_SERVICE = "mcp-context"
FAULT = {faults.ERROR_RATE: "0.2"}
"""20 % of the service's requests answer 500; production rolls back above 5 %."""

HEADER = """\
# Written by 'gonogo demo': targets/sandbox.yaml for the release candidate
# {release} (previous release {previous}), whose manifests ({manifests})
# put {fault} on {service}'s pod template. Paths are absolute so the file
# works from any directory.
"""


def _absolute(value: str, base: Path) -> str:
    if value.startswith(("/", "~", "$")):
        return value
    return str((base / value).resolve())


def _absolute_paths(data: dict[str, Any], base: Path) -> None:
    """Make the target's file paths absolute (they are relative to the target
    file, and the copy lives elsewhere)."""
    for key in ("manifests_dir", "secrets_dir"):
        if isinstance(data.get(key), str):
            data[key] = _absolute(data[key], base)
    for section, key in (("release_notes", "path"), ("security_scan", "report")):
        if isinstance(data.get(section), dict) and isinstance(data[section].get(key), str):
            data[section][key] = _absolute(data[section][key], base)
    kube = data.get("kube") or {}
    if isinstance(kube.get("kubeconfig"), str):
        kube["kubeconfig"] = _absolute(kube["kubeconfig"], base)
    monitoring = data.get("monitoring") or {}
    if isinstance(monitoring.get("error_log_paths"), list):
        monitoring["error_log_paths"] = [
            _absolute(p, base) if isinstance(p, str) else p for p in monitoring["error_log_paths"]
        ]
    for host in (data.get("ingress") or {}).get("tls_hosts") or []:
        if isinstance(host, dict) and isinstance(host.get("ca_bundle"), str):
            host["ca_bundle"] = _absolute(host["ca_bundle"], base)


def faulty_manifests(source: Path, directory: Path) -> Path:
    """A copy of ``source`` (the release's manifests) with the fault on
    ``FAULTY_SERVICE``'s pod template."""
    out = directory / "manifests"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(source, out)
    path = out / f"{FAULTY_SERVICE}.yaml"
    documents = list(yaml.safe_load_all(path.read_text()))
    changed = 0
    for doc in documents:
        if doc and doc.get("kind") == "Deployment":
            metadata = doc["spec"]["template"].setdefault("metadata", {})
            metadata.setdefault("annotations", {}).update(FAULT)
            changed += 1
    if not changed:
        raise ValueError(f"{path} holds no Deployment to put the demo's fault on")
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    return out


def write_candidate(base_target: Path, repo: Path, directory: Path) -> Path:
    """Write the candidate's target file (and its manifests) under
    ``directory``; returns the target file."""
    data = yaml.safe_load(base_target.read_text())
    base = base_target.resolve().parent
    _absolute_paths(data, base)
    previous = str(data["release"])
    directory.mkdir(parents=True, exist_ok=True)
    manifests = faulty_manifests(Path(data["manifests_dir"]), directory)
    data["release"] = RELEASE
    data["previous_release"] = previous
    data["manifests_dir"] = str(manifests)
    data["security_scan"]["report"] = str(repo / "sandbox" / "fixtures" / f"trivy-{RELEASE}.json")
    # The candidate goes straight to the release run; the pre-deployment gate's
    # sources (release notes, the GitHub release) are not written for it.
    data.pop("release_notes", None)
    if isinstance(data.get("github"), dict):
        data["github"]["release_ref"] = RELEASE
    path = directory / "target.yaml"
    fault = ", ".join(f"{k}={v}" for k, v in FAULT.items())
    path.write_text(
        HEADER.format(
            release=RELEASE,
            previous=previous,
            manifests=manifests,
            fault=fault,
            service=FAULTY_SERVICE,
        )
        + yaml.safe_dump(data, sort_keys=False)
    )
    return path
