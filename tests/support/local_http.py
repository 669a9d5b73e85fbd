"""Real HTTP servers on loopback for unit tests of the HTTP checks.

A check is tested against a server that speaks HTTP, not a mocked client:
``serving`` runs a ``BaseHTTPRequestHandler`` on an ephemeral port in a
background thread and stops it when the block ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler] | ThreadingHTTPServer,
) -> Iterator[ThreadingHTTPServer]:
    """Serve ``handler`` (or an already built server, e.g. one wrapped in TLS)."""
    server = (
        handler
        if isinstance(handler, ThreadingHTTPServer)
        else ThreadingHTTPServer(("127.0.0.1", 0), handler)
    )
    server.daemon_threads = True
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def url_of(server: ThreadingHTTPServer, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.server_address[1]}"
