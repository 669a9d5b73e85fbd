"""A sandbox state directory that needs no sandbox: what the unit tests point
``GONOGO_SANDBOX_DIR`` at.

``targets/sandbox.yaml`` names files under ``${GONOGO_SANDBOX_DIR:-~/.cache/gonogo/sandbox}``,
and a run refuses a target whose ``ca_bundle`` does not exist. Only a machine
where ``gonogo sandbox up`` once ran has the real one; a unit test must not
depend on that (nor read the real sandbox's kubeconfig or logs by accident).
This directory holds a CA of its own, made with trustme, where the sandbox
keeps its own, and nothing else: no kubeconfig, no logs, no running service."""

from __future__ import annotations

from pathlib import Path

import trustme

ENV = "GONOGO_SANDBOX_DIR"
CA_BUNDLE = Path("tls") / "ca.pem"
"""Where, under the state directory, the sandbox keeps its CA certificate."""


def make(directory: Path) -> Path:
    """Fill ``directory`` as a sandbox state directory with only a CA; return it."""
    ca_file = directory / CA_BUNDLE
    ca_file.parent.mkdir(parents=True, exist_ok=True)
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    return directory
