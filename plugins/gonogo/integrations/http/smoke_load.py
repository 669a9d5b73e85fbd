"""A short HTTP load for the staging smoke profile, without leaving the process.

The full load runs (Locust, in its own process) belong to post-deploy
validation. Staging's "Performance testing" only needs a few users for a few
seconds to prove the release is within the staging thresholds, so it runs
them as asyncio tasks on httpx: users ramp up at the profile's spawn rate,
each picks paths by their weights, every request has a timeout, and each
second of the run becomes one history sample."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from gonogo.model.loadresult import LoadRecord


@dataclass
class _Sample:
    ok: int = 0
    failed: int = 0
    latencies_ms: list[float] = field(default_factory=list)


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def _user(
    client: httpx.AsyncClient,
    base_url: str,
    paths: list[str],
    weights: list[int],
    stop_at: float,
    samples: dict[int, _Sample],
    started: float,
    seed: int,
    timeout: float,
) -> None:
    chooser = random.Random(seed)
    while time.monotonic() < stop_at:
        path = chooser.choices(paths, weights)[0]
        begin = time.monotonic()
        try:
            response = await client.get(base_url + path, timeout=timeout)
            good = response.status_code < 400
        except httpx.HTTPError:
            good = False
        end = time.monotonic()
        sample = samples.setdefault(int(end - started), _Sample())
        sample.latencies_ms.append((end - begin) * 1000)
        if good:
            sample.ok += 1
        else:
            sample.failed += 1


async def _run(
    base_url: str,
    paths: dict[str, int],
    users: int,
    spawn_rate: float,
    duration_s: float,
    timeout: float,
) -> tuple[dict[int, _Sample], float]:
    samples: dict[int, _Sample] = {}
    started = time.monotonic()
    stop_at = started + duration_s
    names, weights = list(paths), list(paths.values())
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(limits=limits) as client:
        tasks = []
        for index in range(users):
            tasks.append(
                asyncio.create_task(
                    _user(
                        client, base_url, names, weights, stop_at, samples, started, index, timeout
                    )
                )
            )
            if index < users - 1:
                await asyncio.sleep(1.0 / spawn_rate)
        await asyncio.gather(*tasks)
    return samples, time.monotonic() - started


def run(
    base_url: str,
    *,
    release: str,
    environment: str,
    profile_name: str,
    users: int,
    spawn_rate: float,
    duration_s: float,
    paths: dict[str, int],
    timeout: float = 5.0,
) -> LoadRecord:
    """Run the load and return it in the shared result shape."""
    started = datetime.now(UTC)
    samples, elapsed = asyncio.run(_run(base_url, paths, users, spawn_rate, duration_s, timeout))
    latencies = [ms for s in samples.values() for ms in s.latencies_ms]
    failures = sum(s.failed for s in samples.values())
    requests = len(latencies)
    history = []
    for second in sorted(samples):
        s = samples[second]
        count = s.ok + s.failed
        history.append(
            {
                "t_s": float(second + 1),
                "users": users,
                "rps": float(count),
                "error_rate": s.failed / count if count else 0.0,
                "mean_ms": sum(s.latencies_ms) / count if count else 0.0,
                "p95_ms": _p95(s.latencies_ms),
            }
        )
    return LoadRecord(
        release=release,
        environment=environment,
        profile=profile_name,
        started=started.isoformat(),
        duration_s=round(elapsed, 3),
        users=users,
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 1.0,
        mean_ms=sum(latencies) / requests if requests else 0.0,
        p95_ms=_p95(latencies),
        rps=requests / elapsed if elapsed > 0 else 0.0,
        history=history,
    )
