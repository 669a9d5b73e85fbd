"""Data consistency across a release: checksums of the Redis keys the target
lists (``redis.consistency_keys``), recorded before the deployment and compared
after it.

The record is a JSON file the pre-deploy run writes and the post-deploy run
reads, possibly on another machine or CI job, so it lives with the run's
reports: ``<reports_dir>/consistency/<target>-<environment>.json``::

    {"target": "sophia", "environment": "production", "release": "v1.1.0",
     "recorded_at": "2026-11-27T02:00:00+00:00",
     "keys": {"config:feature-flags": {"type": "string", "sha256": "..."},
              "business:customers:index": null}}

A key recorded as ``null`` did not exist then. Only digests are stored, never
values: the keys may hold customer data."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis as redis_lib

from gonogo.errors import ProbeError

Digest = dict[str, str] | None


def record_path(reports_dir: Path, target_name: str, environment: str) -> Path:
    return Path(reports_dir) / "consistency" / f"{target_name}-{environment}.json"


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


def write_record(
    path: Path, *, target: str, environment: str, release: str, keys: dict[str, Digest]
) -> Path:
    """Write the record atomically (a half-written record must never be compared)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "target": target,
        "environment": environment,
        "release": release,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "keys": keys,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".consistency-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)
    return path


def read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProbeError(
            f"no pre-deployment record of the consistency keys at {path}; run the pre-deploy "
            "checks (pytest -m predeploy) before deploying, with the same --reports-dir"
        ) from None
    except (OSError, ValueError) as e:
        raise ProbeError(
            f"{path} is not a consistency record ({e}); run the pre-deploy checks "
            "again to rewrite it"
        ) from e
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise ProbeError(f"{path} holds no 'keys'; run the pre-deploy checks again to rewrite it")
    return data


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
