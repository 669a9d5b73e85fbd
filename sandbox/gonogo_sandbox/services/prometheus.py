"""The sandbox's Prometheus: Debian's real server, scraping the demo services
through the file-SD list that the demo HTTP server keeps current, evaluating a
few real alert rules and sending alerts to the sandbox's Alertmanager.

The 2 s scrape and evaluation intervals are deliberately short: the checks
and tests that read PromQL should not wait a minute for the first sample."""

from __future__ import annotations

from pathlib import Path

import yaml

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services._common import fresh_storage, http_ok, running, start_process

NAME = "prometheus"
SCRAPE_INTERVAL = "2s"

RULE_GROUP = "gonogo-sandbox"
RULES: list[dict[str, object]] = [
    {
        "alert": "GonogoSandboxWatchdog",
        "expr": "vector(1)",
        "labels": {"severity": "none"},
        "annotations": {
            "summary": "Always firing: proves the Prometheus -> Alertmanager -> webhook path."
        },
    },
    {
        "alert": "DemoServiceDown",
        "expr": 'up{job="demo"} == 0',
        "for": "10s",
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": "{{ $labels.service }} in {{ $labels.namespace }} is not scraped."
        },
    },
    {
        "alert": "DemoHighErrorRatio",
        "expr": (
            'sum by (namespace, service) (rate(http_requests_total{job="demo",code=~"5.."}[1m]))'
            ' / sum by (namespace, service) (rate(http_requests_total{job="demo"}[1m])) > 0.05'
        ),
        "for": "10s",
        "labels": {"severity": "critical"},
        "annotations": {
            "summary": "{{ $labels.service }} answers {{ $value | humanizePercentage }} errors."
        },
    },
    {
        "alert": "DemoHighLatencyP95",
        "expr": (
            "histogram_quantile(0.95, sum by (namespace, service, le) ("
            'rate(http_request_duration_seconds_bucket{job="demo"}[1m]))) > 0.5'
        ),
        "for": "10s",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "{{ $labels.service }} p95 latency is {{ $value }} s."},
    },
]
"""Alert rules on the demo services' metrics (``http_requests_total`` with a
``code`` label and ``http_request_duration_seconds``), grouped by the
``service`` and ``namespace`` labels that the file-SD target groups carry.

``DemoHighErrorRatio`` fires above the sandbox target's production
``error_rate_max`` (5 %): 10 s after a service starts failing, with the 2 s
evaluation interval, so the pre-deployment gate's "Monitoring systems" (which
stops a release while a critical alert fires) is tested in seconds."""


def targets_file(cfg: SandboxConfig) -> Path:
    """The file-SD list of demo targets; the demo HTTP server rewrites it."""
    return cfg.state_dir / "prometheus" / "targets.json"


def url(cfg: SandboxConfig) -> str:
    return cfg.url("prometheus")


def _config(cfg: SandboxConfig, rules_file: Path) -> dict[str, object]:
    def static(job: str, address: str) -> dict[str, object]:
        return {"job_name": job, "static_configs": [{"targets": [address]}]}

    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(rules_file)],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{HOST}:{cfg.port('alertmanager')}"]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "demo",
                "file_sd_configs": [{"files": [str(targets_file(cfg))], "refresh_interval": "5s"}],
            },
            static("prometheus", f"{HOST}:{cfg.port('prometheus')}"),
            static("alertmanager", f"{HOST}:{cfg.port('alertmanager')}"),
        ],
    }


def start(cfg: SandboxConfig) -> None:
    """Start Prometheus unless it runs; a start always begins with an empty TSDB."""
    home = cfg.state_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    if not targets_file(cfg).exists():
        targets_file(cfg).write_text("[]\n")
    rules_file = home / "rules.yml"
    rules_file.write_text(
        yaml.safe_dump({"groups": [{"name": RULE_GROUP, "rules": RULES}]}, sort_keys=False)
    )
    config_file = home / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(_config(cfg, rules_file), sort_keys=False))
    argv = [
        "prometheus",
        f"--config.file={config_file}",
        f"--storage.tsdb.path={home / 'data'}",
        "--storage.tsdb.retention.time=2d",
        f"--web.listen-address={HOST}:{cfg.port('prometheus')}",
        f"--web.external-url={url(cfg)}",
        "--web.enable-lifecycle",
        # Resend firing alerts every few seconds rather than every minute: the
        # first send after start can precede the discovery of Alertmanager.
        "--rules.alert.resend-delay=5s",
    ]
    with fresh_storage(cfg, NAME, home / "data"):
        start_process(
            cfg, NAME, argv, ports=["prometheus"],
            ready=lambda: http_ok(url(cfg) + "/-/ready"), timeout=60,
        )  # fmt: skip


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def reset(cfg: SandboxConfig) -> None:
    """Start again with no samples, alert state or rule history."""
    stop(cfg)
    start(cfg)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    return running(cfg, NAME) and http_ok(url(cfg) + "/-/ready"), url(cfg)
