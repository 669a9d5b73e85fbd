"""The sandbox's Alertmanager: Debian's real ``prometheus-alertmanager``,
clustering off, routing every alert to the webhook fake so that tests and
checks can see a notification arrive end to end."""

from __future__ import annotations

import yaml

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services._common import fresh_storage, http_ok, running, start_process

NAME = "alertmanager"
WEBHOOK_PATH = "/hooks/alertmanager"
"""Where on the webhook fake Alertmanager delivers its notifications."""


def _config(cfg: SandboxConfig) -> dict[str, object]:
    return {
        "route": {
            "receiver": "sandbox-webhook",
            "group_by": ["alertname", "service"],
            # Short waits: tests wait for a notification, not for batching.
            "group_wait": "1s",
            "group_interval": "5s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "sandbox-webhook",
                "webhook_configs": [
                    {"url": cfg.url("webhook") + WEBHOOK_PATH, "send_resolved": True}
                ],
            }
        ],
    }


def url(cfg: SandboxConfig) -> str:
    return cfg.url("alertmanager")


def start(cfg: SandboxConfig) -> None:
    """Start Alertmanager unless it runs; a start always begins with no
    silences, alerts or notification log."""
    home = cfg.state_dir / "alertmanager"
    home.mkdir(parents=True, exist_ok=True)
    config_file = home / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(_config(cfg), sort_keys=False))
    argv = [
        "prometheus-alertmanager",
        f"--config.file={config_file}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address={HOST}:{cfg.port('alertmanager')}",
        f"--web.external-url={url(cfg)}",
        "--cluster.listen-address=",
        "--log.level=info",
    ]
    with fresh_storage(cfg, NAME, home / "data"):
        start_process(
            cfg, NAME, argv, ports=["alertmanager"],
            ready=lambda: http_ok(url(cfg) + "/-/ready"), timeout=30,
        )  # fmt: skip


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def reset(cfg: SandboxConfig) -> None:
    """Start again with no silences, alerts or notification log."""
    stop(cfg)
    start(cfg)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    return running(cfg, NAME) and http_ok(url(cfg) + "/-/ready"), url(cfg)
