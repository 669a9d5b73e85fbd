"""The sandbox's Redis: Debian's real ``redis-server`` on loopback, with no
persistence, so that the database checks talk to the real protocol and a
``down`` leaves nothing behind but the state directory."""

from __future__ import annotations

import redis as redis_client

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services._common import PROBE_TIMEOUT, running, start_process

NAME = "redis"

DEMO_DATA: dict[str, str | dict[str, str]] = {
    "config:feature-flags": '{"new-dashboard": true, "hubspot-sync-v2": false}',
    "business:customers:index": {"1001": "Example Customer", "1002": "Sample Trading Ltd"},
}
"""The demo system's own data: what a release must not lose. The sandbox
target lists these keys for the data-consistency check."""


def _ping(cfg: SandboxConfig) -> bool:
    client = redis_client.Redis(
        host=HOST,
        port=cfg.port("redis"),
        socket_timeout=PROBE_TIMEOUT,
        socket_connect_timeout=PROBE_TIMEOUT,
    )
    try:
        return bool(client.ping())
    except redis_client.RedisError:
        return False
    finally:
        client.close()


def start(cfg: SandboxConfig) -> None:
    data = cfg.state_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    argv = [
        "redis-server",
        "--bind", HOST,
        "--port", str(cfg.port("redis")),
        "--protected-mode", "yes",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(data),
        "--daemonize", "no",
        "--logfile", "",
    ]  # fmt: skip
    start_process(cfg, NAME, argv, ports=["redis"], ready=lambda: _ping(cfg), timeout=20)
    seed_demo_data(cfg)


def seed_demo_data(cfg: SandboxConfig, *, overwrite: bool = False) -> None:
    """Write the demo data where it is missing; ``start`` never overwrites what
    a test changed, a reset (``overwrite``) puts every key back as documented."""
    client = redis_client.Redis(
        host=HOST,
        port=cfg.port("redis"),
        socket_timeout=PROBE_TIMEOUT,
        socket_connect_timeout=PROBE_TIMEOUT,
        decode_responses=True,
    )
    try:
        for key, value in DEMO_DATA.items():
            if client.exists(key):
                if not overwrite:
                    continue
                client.delete(key)
            if isinstance(value, dict):
                client.hset(key, mapping=dict(value.items()))
            else:
                client.set(key, value)
    finally:
        client.close()


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    address = f"redis://{HOST}:{cfg.port('redis')}/0"
    return running(cfg, NAME) and _ping(cfg), address
