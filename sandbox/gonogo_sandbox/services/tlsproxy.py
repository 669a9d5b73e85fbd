"""The TLS front's process: terminates TLS for the ingress host on loopback
and relays the decrypted bytes to the demo HTTP server.

It relays bytes rather than parsing HTTP, so keep-alive, chunked bodies and
whatever the demo server answers pass through unchanged. The certificate is
read again whenever its file changes, so a test can put an expiring
certificate in place (``tls.issue_server_cert``) without a restart.

Run as ``python -m gonogo_sandbox.services.tlsproxy --listen HOST:PORT
--backend HOST:PORT --cert FILE --key FILE``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import ssl
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

CONNECT_TIMEOUT = 5.0
IDLE_TIMEOUT = 300.0
HANDSHAKE_TIMEOUT = 10.0
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 36\r\n"
    b"Connection: close\r\n\r\nsandbox TLS front: backend is down\r\n"
)


class Certificates:
    """An SSL server context that follows the certificate and key files."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert, self.key = cert, key
        self._stamp: tuple[float, float] | None = None
        self._context: ssl.SSLContext | None = None

    def context(self) -> ssl.SSLContext:
        stamp = (os.stat(self.cert).st_mtime, os.stat(self.key).st_mtime)
        if self._context is None or stamp != self._stamp:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.load_cert_chain(self.cert, self.key)
            context.set_alpn_protocols(["http/1.1"])
            self._context, self._stamp = context, stamp
        return self._context


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, TimeoutError, ssl.SSLError):
        while data := await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT):
            writer.write(data)
            await writer.drain()
    if writer.can_write_eof():
        with contextlib.suppress(OSError):
            writer.write_eof()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), CONNECT_TIMEOUT)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def serve(certs: Certificates, backend: tuple[str, int]) -> Handler:
    """The connection handler: TLS handshake, then relay to ``backend``."""

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            await client_w.start_tls(certs.context(), ssl_handshake_timeout=HANDSHAKE_TIMEOUT)
        except (OSError, ssl.SSLError, TimeoutError):
            await _close(client_w)
            return
        try:
            backend_r, backend_w = await asyncio.wait_for(
                asyncio.open_connection(*backend), CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError):
            with contextlib.suppress(OSError, ssl.SSLError):
                client_w.write(BAD_GATEWAY)
                await client_w.drain()
            await _close(client_w)
            return
        try:
            await asyncio.gather(_pump(client_r, backend_w), _pump(backend_r, client_w))
        finally:
            await _close(backend_w)
            await _close(client_w)

    return handle


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _main(args: argparse.Namespace) -> None:
    certs = Certificates(Path(args.cert), Path(args.key))
    certs.context()  # fail at start, not at the first client, on a bad certificate
    host, port = _hostport(args.listen)
    server = await asyncio.start_server(serve(certs, _hostport(args.backend)), host, port)
    print(f"TLS front on {args.listen} -> {args.backend}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gonogo_sandbox.services.tlsproxy")
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept TLS on")
    parser.add_argument("--backend", required=True, help="HOST:PORT of the plain HTTP server")
    parser.add_argument("--cert", required=True, help="PEM certificate chain")
    parser.add_argument("--key", required=True, help="PEM private key")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_main(args))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
