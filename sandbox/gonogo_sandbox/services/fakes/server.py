"""A minimal HTTP toolkit for the fakes, on the standard library only: a
route table with ``{name}`` path parameters, JSON responses, and a threaded
server per port. The fakes answer a handful of documented endpoints; a web
framework would be more code to carry than the endpoints themselves."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_BODY = 4 * 1024 * 1024
"""Bytes; a larger request body is refused with 413."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def bearer_token(self) -> str | None:
        """The token of an ``Authorization: Bearer <t>`` (or GitHub's ``token <t>``) header."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "token") and token else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    obj: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(status, json.dumps(obj, indent=1).encode() + b"\n", headers=headers or {})


def text_response(text: str, status: int = 200) -> Response:
    return Response(status, text.encode(), content_type="text/plain; charset=utf-8")


Handler = Callable[[Request], Response]


class App:
    """Routes for one fake API. Subclasses override ``not_found`` and
    ``before`` (authentication) to answer in their API's own error shape."""

    name = "fake"

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def before(self, request: Request) -> Response | None:
        """Called before every routed request; a response here ends it."""
        return None

    def not_found(self, request: Request) -> Response:
        return json_response({"error": f"no route for {request.method} {request.path}"}, 404)

    def handle(self, request: Request) -> Response:
        allowed = []
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if not match:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            request.params = {k: unquote(v) for k, v in match.groupdict().items()}
            return self.before(request) or handler(request)
        if allowed:
            return json_response({"error": f"use {', '.join(sorted(set(allowed)))}"}, 405)
        return self.not_found(request)


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    """A threaded HTTP/1.1 server answering with ``app``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"gonogo-sandbox-{app.name}"

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(json_response({"error": "request body too large"}, 413))
                return
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            request = Request(self.command, url.path, parse_qs(url.query), self.headers, body)
            try:
                response = app.handle(request)
            except Exception as e:  # one bad request must not stop the fake
                traceback.print_exc(file=sys.stderr)
                response = json_response({"error": f"{type(e).__name__}: {e}"}, 500)
            self._send(response)

        def _send(self, response: Response) -> None:
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _dispatch

        def log_message(self, format: str, *args: Any) -> None:
            # The request line and status only: never headers, which carry tokens.
            sys.stderr.write(f"{app.name} {self.address_string()} {format % args}\n")

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
