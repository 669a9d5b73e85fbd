"""Where the sandbox keeps its state and which loopback ports it uses.

The ports are fixed so that ``targets/sandbox.yaml`` can name them; each can be
moved with an environment variable ``GONOGO_SANDBOX_PORT_<NAME>`` (for example
``GONOGO_SANDBOX_PORT_REDIS=26379``) when a port is already taken on a machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
"""Every sandbox component listens on loopback only."""

DEFAULT_PORTS: dict[str, int] = {
    "apiserver": 16443,
    "demo": 18080,
    "redis": 16379,
    "prometheus": 19090,
    "alertmanager": 19093,
    "registry": 15000,
    "tls": 18443,
    "grafana": 13000,
    "loki": 13100,
    "github": 18081,
    "hubspot": 18082,
    "webhook": 18083,
}
"""Component name -> TCP port on 127.0.0.1."""


def _default_state_dir() -> Path:
    return Path(os.environ.get("GONOGO_SANDBOX_DIR", Path.home() / ".cache" / "gonogo" / "sandbox"))


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox component needs to know to start, stop and report."""

    state_dir: Path = field(default_factory=_default_state_dir)
    """Pid files, logs, kubeconfig, generated certificates; outside the repository."""
    nodes: int = 3
    """Number of fake (kwok) nodes."""
    cluster_name: str = "gonogo"
    """kwokctl cluster name; the kube context is ``kwok-<cluster_name>``."""

    def port(self, name: str) -> int:
        override = os.environ.get(f"GONOGO_SANDBOX_PORT_{name.upper()}")
        return int(override) if override else DEFAULT_PORTS[name]

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://{HOST}:{self.port(name)}"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def kube_context(self) -> str:
        return f"kwok-{self.cluster_name}"
