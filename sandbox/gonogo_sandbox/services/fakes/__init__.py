"""Local servers speaking the documented APIs of Grafana, Loki, GitHub and
HubSpot, where no real one can run on loopback, and the webhook receiver that
notifications and Alertmanager deliver to. All five run in one process
(``python -m gonogo_sandbox.services.fakes``), one port each, to keep the
sandbox light; this module starts, stops and reports that process.

Tokens the sandbox uses (sandbox-only values, not secrets):
``GONOGO_SANDBOX_GITHUB_TOKEN`` defaults to ``sandbox-github-token`` and
``GONOGO_SANDBOX_HUBSPOT_TOKEN`` to ``sandbox-hubspot-token``; set them
before ``gonogo sandbox up`` to make the fakes accept other values.
The fakes' data, and how to inject faults into it, is in ``state``."""

from __future__ import annotations

import sys

import httpx

from gonogo_sandbox import process
from gonogo_sandbox.config import SandboxConfig
from gonogo_sandbox.services._common import PROBE_TIMEOUT, port_open, running, start_process
from gonogo_sandbox.services.fakes import state, webhook

NAME = "fakes"
PORTS = ("grafana", "loki", "github", "hubspot", "webhook")
"""Config port names of the servers this process runs."""


def _listening(cfg: SandboxConfig) -> dict[str, bool]:
    return {name: port_open(cfg.port(name)) for name in PORTS}


def start(cfg: SandboxConfig) -> None:
    """Start the fakes unless they run; a start begins from the healthy seed,
    whatever faults an earlier run left in the state file."""
    if not running(cfg, NAME) or not state.state_file(cfg).exists():
        state.save(cfg, state.seed_state())
    argv = [
        sys.executable,
        "-m",
        "gonogo_sandbox.services.fakes",
        "--state-dir",
        str(cfg.state_dir),
    ]
    start_process(
        cfg, NAME, argv, ports=PORTS,
        ready=lambda: all(_listening(cfg).values()), timeout=20,
    )  # fmt: skip


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def reset(cfg: SandboxConfig) -> None:
    """The healthy seed again, and the webhook's record of deliveries forgotten."""
    state.reset(cfg)
    try:
        httpx.delete(cfg.url("webhook") + webhook.RECEIVED_PATH, timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as e:
        raise process.SandboxError(
            f"the webhook fake at {cfg.url('webhook')} did not answer ({e}); "
            "'gonogo sandbox logs fakes' says why"
        ) from e


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    listening = _listening(cfg)
    address = ", ".join(
        f"{name} {cfg.url(name)}" + ("" if up else " (down)") for name, up in listening.items()
    )
    return running(cfg, NAME) and all(listening.values()), address
