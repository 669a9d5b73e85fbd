"""The target's Redis, for the staging data steps: find leftover test data,
remove it, write the seed data and read it back. Every command has a socket
timeout; client errors become ProbeError."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis as redis_lib

from gonogo.errors import ProbeError, RetryableProbeError


@contextmanager
def connect(
    url: str, *, password: str | None = None, timeout: float = 5.0
) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(
        url,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        decode_responses=True,
    )
    try:
        client.ping()
        yield client
    except redis_lib.AuthenticationError as e:
        raise ProbeError(f"Redis at {_safe(url)} refused the password: check redis.password") from e
    except redis_lib.RedisError as e:
        raise RetryableProbeError(
            f"Redis at {_safe(url)} did not answer: {e.__class__.__name__}; is it up?"
        ) from e
    finally:
        client.close()


def _safe(url: str) -> str:
    return url.split("@")[-1]


def keys_with_prefixes(
    client: redis_lib.Redis, prefixes: list[str], *, limit: int = 10000
) -> list[str]:
    """Keys under any prefix, by SCAN (never KEYS, which blocks the server)."""
    found: list[str] = []
    for prefix in prefixes:
        pattern = _glob_escape(prefix) + "*"
        for key in client.scan_iter(match=pattern, count=500):
            found.append(str(key))
            if len(found) >= limit:
                return sorted(found)
    return sorted(found)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def delete(client: redis_lib.Redis, keys: list[str]) -> int:
    removed = 0
    for start in range(0, len(keys), 500):
        removed += int(client.delete(*keys[start : start + 500]))
    return removed


def write_and_read_back(client: redis_lib.Redis, data: dict[str, str]) -> dict[str, str | None]:
    """Write every key, then read them all back (what Redis really holds)."""
    if data:
        client.mset(data)
    return read(client, list(data))


def read(client: redis_lib.Redis, keys: list[str]) -> dict[str, str | None]:
    values = client.mget(keys) if keys else []
    return {k: (None if v is None else str(v)) for k, v in zip(keys, values, strict=True)}
