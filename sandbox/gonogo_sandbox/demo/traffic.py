"""The demo system's users. A production system always has traffic, and the
checks that judge a release by what Prometheus saw since its rollout
("Performance metrics") or by what is happening now (the gate's "Monitoring
systems") need some; the sandbox has no users of its own. While the demo
runs, this sends a request to every production service's health URL, round
after round, as users would: a faulty release answers them with its errors,
and Prometheus counts them like any other request."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx

ROUND_PAUSE_S = 0.5
"""Pause between two rounds: about two requests a second per service."""
REQUEST_TIMEOUT_S = 5.0


@contextlib.contextmanager
def users(target: Any, environment: str) -> Iterator[list[str]]:
    """Send user traffic to ``environment``'s services until the block ends;
    yields the URLs it requests."""
    urls = [
        url
        for service in target.services_in_dependency_order()
        if (url := target.health_url(service, environment))
    ]
    stop = threading.Event()

    def run() -> None:
        with httpx.Client(timeout=REQUEST_TIMEOUT_S) as client:
            while not stop.is_set():
                for url in urls:
                    # An answer, error or not, is what the mirror counts; a
                    # refused connection is counted nowhere, which the checks see.
                    with contextlib.suppress(httpx.HTTPError):
                        client.get(url)
                stop.wait(ROUND_PAUSE_S)

    thread = threading.Thread(target=run, name="gonogo-demo-users", daemon=True)
    thread.start()
    try:
        yield urls
    finally:
        stop.set()
        thread.join(REQUEST_TIMEOUT_S * 2)
