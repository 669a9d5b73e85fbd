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

from gonogo_sandbox import faults
from gonogo_sandbox.demo import targets

RELEASE = "v1.2.0"
FAULTY_SERVICE = "mcp-context"
FAULT = {faults.ERROR_RATE: "0.2"}
"""20 % of the service's requests answer 500; production rolls back above 5 %."""


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
    base = targets.load_copy(base_target)
    previous = str(base["release"])
    manifests = faulty_manifests(Path(base["manifests_dir"]), directory)
    fault = ", ".join(f"{k}={v}" for k, v in FAULT.items())
    changes: dict[str, Any] = {
        "release": RELEASE,
        "previous_release": previous,
        "manifests_dir": str(manifests),
        "security_scan": {"report": str(repo / "sandbox" / "fixtures" / f"trivy-{RELEASE}.json")},
        # The candidate goes straight to the release run; the pre-deployment
        # gate's sources (release notes, the GitHub release) are not written.
        "release_notes": None,
        "github": {"release_ref": RELEASE},
    }
    return targets.write_copy(
        base_target,
        directory / "target.yaml",
        changes,
        f"The release candidate {RELEASE} (previous release {previous}), whose manifests\n"
        f"put {fault} on {FAULTY_SERVICE}'s pod template.",
    )
