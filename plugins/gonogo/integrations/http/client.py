"""HTTP probes: many endpoints at once, each request bounded in time.

A gate that checks nine (or five hundred) health endpoints one after another
waits for the sum of their latencies; probing them concurrently waits for the
slowest. Every request has its own timeout and the whole probe a deadline."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gonogo.errors import ProbeError
from gonogo.redact import redactor

DEFAULT_TIMEOUT = 5.0
DEFAULT_CONCURRENCY = 32


@dataclass
class HttpResult:
    """What one request saw."""

    name: str
    url: str
    status: int | None = None
    elapsed_s: float = 0.0
    body: str = ""
    json: Any = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def summary(self) -> str:
        if self.error:
            return f"{self.name}: {self.error} ({redactor.text(self.url)})"
        return f"{self.name}: HTTP {self.status} in {self.elapsed_s * 1000:.0f} ms"


@dataclass(frozen=True)
class HttpRequest:
    name: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    json: Any = None
    timeout: float = DEFAULT_TIMEOUT


def tls_verify(ca_bundle: Path | None, verify: bool) -> Any:
    """What httpx verifies servers with: a context trusting ``ca_bundle`` (httpx
    deprecates a path), the system's CAs, or nothing. A bundle that is missing
    or not PEM is a ProbeError naming it, not a bare FileNotFoundError."""
    if not verify:
        return False
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except FileNotFoundError:
        raise ProbeError(
            f"CA bundle {ca_bundle} does not exist; fix ca_bundle in the target"
        ) from None
    except (ssl.SSLError, OSError) as e:
        raise ProbeError(
            f"CA bundle {ca_bundle} cannot be used ({e.__class__.__name__}: {e}); "
            "give a PEM file of CA certificates as ca_bundle in the target"
        ) from None


async def _one(client: httpx.AsyncClient, req: HttpRequest) -> HttpResult:
    result = HttpResult(name=req.name, url=req.url)
    start = time.perf_counter()
    try:
        response = await client.request(
            req.method,
            req.url,
            headers=dict(req.headers or {}),
            json=req.json,
            timeout=req.timeout,
        )
    except httpx.TimeoutException:
        result.error = f"no answer within {req.timeout:g} s"
    except httpx.HTTPError as e:
        result.error = f"{e.__class__.__name__}: {e}"
    else:
        result.status = response.status_code
        result.body = response.text[:4000]
        result.headers = dict(response.headers)
        if "json" in response.headers.get("content-type", ""):
            try:
                result.json = response.json()
            except ValueError:
                result.json = None
    result.elapsed_s = time.perf_counter() - start
    return result


async def probe_async(
    requests: Sequence[HttpRequest],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    ca_bundle: Path | None = None,
    verify: bool = True,
    deadline: float | None = None,
) -> list[HttpResult]:
    """``concurrency`` workers take the requests in order, each through a
    client of its own holding one connection. One client shared by all would
    do the same with less code, but its connection pool compares every waiting
    request with every connection each time one frees: with 32 connections
    that choice cost more CPU than the probes themselves (T+10 at 100 services
    spent most of its time there)."""
    if not requests:
        # Nothing to ask: asyncio.wait refuses an empty set, and "no requests"
        # has one honest answer, no results.
        return []
    tls = tls_verify(ca_bundle, verify)
    if tls is True:
        tls = httpx.create_ssl_context()  # once, not once per worker
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    results: list[HttpResult | None] = [None] * len(requests)
    queue = iter(enumerate(requests))  # shared: each request goes to the first free worker

    async def worker() -> None:
        async with httpx.AsyncClient(
            verify=tls, limits=one_connection, follow_redirects=False
        ) as client:
            for index, req in queue:
                results[index] = await _one(client, req)

    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(requests)))]
    # Without an explicit deadline: enough for every wave of requests to
    # use its full timeout, plus a second, so a request's own timeout
    # always speaks first.
    waves = 1 + len(requests) // max(concurrency, 1)
    slowest = max((r.timeout for r in requests), default=DEFAULT_TIMEOUT)
    budget = deadline or slowest * waves + 1.0
    done, pending = await asyncio.wait(workers, timeout=budget)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)  # their clients close
    for task in done:
        task.result()  # a worker's unexpected error is the probe's, as before
    return [
        result
        if result is not None
        else HttpResult(req.name, req.url, error=f"probe deadline of {budget:g} s passed")
        for req, result in zip(requests, results, strict=True)
    ]


def probe(requests: Sequence[HttpRequest], **kwargs: Any) -> list[HttpResult]:
    """Run ``requests`` concurrently and return their results in the same order."""
    return asyncio.run(probe_async(requests, **kwargs))


def get_json(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    headers: Mapping[str, str] | None = None,
    ca_bundle: Path | None = None,
) -> HttpResult:
    """One GET, for checks that ask one thing."""
    return probe(
        [HttpRequest(name=url, url=url, headers=headers, timeout=timeout)], ca_bundle=ca_bundle
    )[0]
