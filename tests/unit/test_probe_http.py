"""The concurrent HTTP probe against real local servers."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from gonogo.integrations.http.client import HttpRequest, probe

from tests.support.local_http import serving, url_of


class _Handler(BaseHTTPRequestHandler):
    lock = threading.Lock()
    in_flight = 0
    most_in_flight = 0

    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            cls = type(self)
            with cls.lock:
                cls.in_flight += 1
                cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
            time.sleep(float(self.path.rsplit("/", 1)[-1]))
            with cls.lock:
                cls.in_flight -= 1
        status = 503 if self.path == "/down" else 200
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # the client may have given up waiting, as the timeout test wants it to
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(_Handler) as httpd:
        yield url_of(httpd)


def test_results_keep_request_order_and_decode_json(server: str) -> None:
    results = probe([HttpRequest("a", f"{server}/a"), HttpRequest("down", f"{server}/down")])
    assert [r.name for r in results] == ["a", "down"]
    assert results[0].ok and results[0].json["path"] == "/a"
    assert not results[1].ok and results[1].status == 503
    assert results[1].summary() == "down: HTTP 503 in " + results[1].summary().split(" in ")[1]


def test_requests_run_concurrently_up_to_the_limit(server: str) -> None:
    _Handler.most_in_flight = 0
    results = probe([HttpRequest(f"s{i}", f"{server}/slow/0.5") for i in range(8)], concurrency=4)
    assert all(r.ok for r in results)
    assert _Handler.most_in_flight == 4


def test_each_request_is_bounded_by_its_timeout(server: str) -> None:
    (result,) = probe([HttpRequest("slow", f"{server}/slow/3", timeout=0.3)])
    assert result.error == "no answer within 0.3 s"
    assert not result.ok


def test_unreachable_endpoint_is_an_error_not_an_exception() -> None:
    (result,) = probe([HttpRequest("closed", "http://127.0.0.1:9/health", timeout=1)])
    assert result.error is not None and "ConnectError" in result.error


def test_summary_never_shows_credentials_in_urls() -> None:
    (result,) = probe([HttpRequest("creds", "http://user:s3cr3tpass@127.0.0.1:9/x", timeout=1)])
    assert "s3cr3tpass" not in result.summary()


def test_results_keep_request_order_when_a_slow_request_finishes_last(server: str) -> None:
    requests = [HttpRequest("slow", f"{server}/slow/0.3")] + [
        HttpRequest(f"fast{i}", f"{server}/fast{i}") for i in range(5)
    ]
    results = probe(requests, concurrency=2)
    assert [r.name for r in results] == ["slow"] + [f"fast{i}" for i in range(5)]
    assert [r.json["path"] for r in results] == ["/slow/0.3"] + [f"/fast{i}" for i in range(5)]


def test_requests_unanswered_at_the_probe_deadline_say_so(server: str) -> None:
    requests = [
        HttpRequest("quick", f"{server}/quick"),
        HttpRequest("slow", f"{server}/slow/2"),
        HttpRequest("queued", f"{server}/queued"),
    ]
    quick, slow, queued = probe(requests, concurrency=1, deadline=0.5)
    assert quick.ok
    assert slow.error == queued.error == "probe deadline of 0.5 s passed"
