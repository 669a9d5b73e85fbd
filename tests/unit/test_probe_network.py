"""Unit tests of the network probes against real local servers: TLS
certificates (a trustme CA), DNS with a deadline, GitHub review logic and
the in-process load."""

from __future__ import annotations

import datetime as dt
import json
import ssl
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from gonogo.errors import ProbeError
from gonogo.probes import dns, httpload, tls
from gonogo.probes.github import GitHub, Review, latest_review_states

from tests.local_http import serving, url_of


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/repos/o/r/pulls/1/reviews"):
            if self.headers.get("Authorization") != "Bearer t0ken":
                self._send(401, {"message": "Bad credentials"})
                return
            self._send(
                200,
                [
                    {"user": {"login": "a"}, "state": "APPROVED"},
                    {"user": {"login": "b"}, "state": "CHANGES_REQUESTED"},
                    {"user": {"login": "b"}, "state": "COMMENTED"},
                ],
            )
        elif self.path.startswith("/fail"):
            self._send(500, {"error": "x"})
        else:
            self._send(200, {"ok": True})

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    with serving(_Handler) as server:
        yield url_of(server)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


def _tls_server(
    authority: trustme.CA, *, hosts: tuple[str, ...], days: float
) -> ThreadingHTTPServer:
    now = dt.datetime.now(dt.UTC)
    leaf = authority.issue_cert(
        *hosts, not_before=now - dt.timedelta(hours=1), not_after=now + dt.timedelta(days=days)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def test_certificate_verifies_with_its_ca_only(ca: tuple[trustme.CA, Path]) -> None:
    authority, bundle = ca
    with serving(_tls_server(authority, hosts=("localhost",), days=30)) as server:
        port = server.server_address[1]
        good = tls.check("localhost", port, ca_bundle=bundle, timeout=3)
        assert good.verified and good.error is None
        assert "localhost" in good.names
        days = good.days_left()
        assert days is not None and 29 < days < 31
        untrusted = tls.check("localhost", port, timeout=3)
        assert not untrusted.verified and untrusted.error
        assert untrusted.not_after is not None  # still read for the evidence


def test_wrong_host_and_closed_port(ca: tuple[trustme.CA, Path]) -> None:
    authority, bundle = ca
    with serving(_tls_server(authority, hosts=("other.example",), days=30)) as server:
        wrong = tls.check("localhost", server.server_address[1], ca_bundle=bundle, timeout=3)
        assert not wrong.verified and "mismatch" in (wrong.error or "").lower()
    closed = tls.check("127.0.0.1", 9, timeout=1)
    assert not closed.verified and (closed.error or "").startswith("no TLS handshake")


def test_dns_resolves_and_reports_failures() -> None:
    results = {r.host: r for r in dns.resolve_all(["localhost", "no-such-host.invalid"], timeout=5)}
    assert results["localhost"].ok
    assert not results["no-such-host.invalid"].ok


def test_github_reviews_and_auth(http_server: str) -> None:
    with GitHub(http_server, "o/r", "t0ken", timeout=3) as gh:
        standing = latest_review_states(gh.reviews(1))
    assert standing == {"a": "APPROVED", "b": "CHANGES_REQUESTED"}
    with (
        GitHub(http_server, "o/r", None, timeout=3) as anonymous,
        pytest.raises(ProbeError, match="refused"),
    ):
        anonymous.reviews(1)


def test_latest_review_state_ignores_comments() -> None:
    reviews = [Review("x", "CHANGES_REQUESTED"), Review("x", "COMMENTED"), Review("x", "APPROVED")]
    assert latest_review_states(reviews) == {"x": "APPROVED"}


def test_in_process_load_measures_errors(http_server: str) -> None:
    result = httpload.run(
        http_server,
        release="v1",
        environment="staging",
        profile_name="smoke",
        users=2,
        spawn_rate=10,
        duration_s=0.6,
        paths={"/ok": 1, "/fail": 1},
    )
    assert result.requests > 10
    assert 0.3 < result.error_rate < 0.7
    assert result.failures == round(result.error_rate * result.requests)
    assert result.history and result.p95_ms >= 0
