"""Data consistency across a release: checksums of the Redis keys the target
lists (``redis.consistency_keys``), taken before the deployment and compared
after it.

The pre-deployment gate's "Backup verification" keeps the checksums in its run
record (see ``gonogo.integrations.records``), and the post-deployment "Data consistency"
reads them from the record store, possibly in another CI job on another
machine. A key recorded as ``None`` did not exist then. Only digests are kept,
never values: the keys may hold customer data."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis as redis_lib

from gonogo.errors import ProbeError

Digest = dict[str, str] | None


def _canonical(client: redis_lib.Redis, key: str, kind: str) -> Any:
    """The key's value in a form that does not depend on Redis' internal order."""
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return sorted(dict(client.hgetall(key) or {}).items())
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        entries = client.xrange(key) or []
        return [[entry_id, sorted(dict(fields or {}).items())] for entry_id, fields in entries]
    raise ProbeError(f"key {key!r} has Redis type {kind!r}, which gonogo cannot checksum")


def digest(client: redis_lib.Redis, key: str) -> Digest:
    """``{"type", "sha256"}`` of the key's value; None when the key does not exist."""
    try:
        kind = str(client.type(key))
        if kind == "none":
            return None
        value = _canonical(client, key, kind)
    except redis_lib.RedisError as e:
        raise ProbeError(f"cannot read Redis key {key!r}: {e.__class__.__name__}: {e}") from e
    text = json.dumps(value, sort_keys=True, default=str)
    return {"type": kind, "sha256": hashlib.sha256(text.encode()).hexdigest()}


def snapshot(client: redis_lib.Redis, keys: list[str]) -> dict[str, Digest]:
    return {key: digest(client, key) for key in keys}


def compare(before: dict[str, Digest], after: dict[str, Digest]) -> list[str]:
    """One sentence per key that was lost, changed, or is not in the record."""
    problems = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            problems.append(f"{key}: not in the pre-deployment record; record it again")
            continue
        old, new = before[key], after.get(key)
        if old is not None and new is None:
            problems.append(f"{key}: lost (existed before the deployment, missing now)")
        elif old is None and new is not None:
            continue  # created by the release: not a loss
        elif old is not None and new is not None and old != new:
            problems.append(
                f"{key}: changed ({old['type']} sha256 {old['sha256'][:12]} -> "
                f"{new['type']} sha256 {new['sha256'][:12]})"
            )
    return problems
