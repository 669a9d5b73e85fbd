"""The sandbox's Redis: Debian's real ``redis-server`` on loopback, with no
persistence, so that the database checks talk to the real protocol and a
``down`` leaves nothing behind but the state directory."""

from __future__ import annotations

import redis as redis_client

from gonogo.sandbox import process
from gonogo.sandbox.config import HOST, SandboxConfig
from gonogo.sandbox.services._common import PROBE_TIMEOUT, running, start_process

NAME = "redis"


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


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    address = f"redis://{HOST}:{cfg.port('redis')}/0"
    return running(cfg, NAME) and _ping(cfg), address
