"""Name resolution with a deadline.

``getaddrinfo`` has no timeout of its own and a broken resolver can hang it
for tens of seconds, so every host is resolved in a worker thread and the
whole lookup is bounded."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field


@dataclass
class Resolution:
    host: str
    addresses: list[str] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.addresses)


def _resolve(host: str) -> Resolution:
    start = time.perf_counter()
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as e:
        elapsed = time.perf_counter() - start
        return Resolution(host, error=f"does not resolve: {e}", elapsed_s=elapsed)
    addresses = sorted({str(info[4][0]) for info in infos})
    return Resolution(host, addresses, elapsed_s=time.perf_counter() - start)


def resolve_all(hosts: list[str], *, timeout: float = 5.0) -> list[Resolution]:
    """Resolve every host concurrently; a host not answered in ``timeout`` fails."""
    unique = list(dict.fromkeys(hosts))
    if not unique:
        return []
    pool = ThreadPoolExecutor(max_workers=min(16, len(unique)))
    try:
        futures = {host: pool.submit(_resolve, host) for host in unique}
        wait(futures.values(), timeout=timeout)
        return [
            f.result() if f.done() else Resolution(h, error=f"no answer within {timeout:g} s")
            for h, f in futures.items()
        ]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
