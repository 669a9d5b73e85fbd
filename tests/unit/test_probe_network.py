"""Unit tests of the network probes against real local servers: TLS
certificates (a trustme CA), DNS with a deadline, GitHub review logic, the
in-process load, and the Kubernetes client against API servers that do not
answer."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from gonogo.errors import ProbeError
from gonogo.integrations import dns, tls
from gonogo.integrations.github import GitHub, Review, latest_review_states
from gonogo.integrations.http import smoke_load as httpload

from tests.support.local_http import serving, url_of


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


# --------------------------------------------------------------------------- #
# The Kubernetes client against API servers that do not answer
# --------------------------------------------------------------------------- #


class _SilentServer:
    """Accepts connections on 127.0.0.1 and never answers; counts them."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.1)
        self.port = int(self.socket.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.socket.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.socket.close()


@pytest.fixture
def silent_server() -> Iterator[_SilentServer]:
    from gonogo.integrations.kubernetes.client import forget_unreachable

    forget_unreachable()
    server = _SilentServer()
    yield server
    server.close()
    forget_unreachable()


def _kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        f"clusters: [{{name: x, cluster: {{server: '{server}'}}}}]\n"
        "contexts: [{name: x, context: {cluster: x, user: x}}]\nusers: [{name: x, user: {}}]\n"
    )
    return path


def test_a_silent_api_server_is_asked_once_per_request_and_then_not_again(
    tmp_path: Path, silent_server: _SilentServer
) -> None:
    from gonogo.integrations.kubernetes.client import (
        ApiServerUnreachable,
        KubeClient,
        forget_unreachable,
    )

    server = f"http://127.0.0.1:{silent_server.port}"
    kubeconfig = _kubeconfig(tmp_path, server)
    first = KubeClient(kubeconfig=kubeconfig, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ApiServerUnreachable) as raised:
        first.list_all("nodes")
    waited = time.monotonic() - started
    first.close()
    cause = (
        f"API server {server} did not answer within 0.5 s (connected, no answer); "
        "check kube.kubeconfig/context or the network"
    )
    assert str(raised.value) == f"list nodes: {cause}"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    # No urllib3 retries: one connection, one timeout (they made it four).
    assert len(silent_server.accepted) == 1
    assert waited < 1.5

    # Another client of the same server (the record store's, the rollback's)
    # fails at once with the same cause, without a connection.
    second = KubeClient(kubeconfig=kubeconfig, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ApiServerUnreachable, match="list pods in demo: API server"):
        second.list_all("pods", "demo")
    assert time.monotonic() - started < 0.1
    with pytest.raises(ApiServerUnreachable) as again:
        second.get("/version")
    assert str(again.value) == f"GET /version: {cause}"
    assert len(silent_server.accepted) == 1

    forget_unreachable(server)
    with pytest.raises(ApiServerUnreachable):
        second.get("/version")
    assert len(silent_server.accepted) == 2
    second.close()


def test_a_refused_connection_is_not_remembered_and_names_the_server(tmp_path: Path) -> None:
    from gonogo.integrations.kubernetes.client import (
        ApiServerUnreachable,
        KubeClient,
        unreachable_cause,
    )

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = f"https://127.0.0.1:{port}"
    kube = KubeClient(kubeconfig=_kubeconfig(tmp_path, server), timeout=2)
    with pytest.raises(ApiServerUnreachable, match=rf"cannot reach the API server {server} \("):
        kube.list_all("nodes")
    kube.close()
    assert unreachable_cause(server) is None


def test_api_status_errors_carry_their_status_not_the_library_exception() -> None:
    from gonogo.integrations.kubernetes.client import (
        ApiStatusError,
        RetryableApiStatusError,
        status_of,
        translate,
    )
    from kubernetes.client.exceptions import ApiException

    forbidden = ApiException(status=403, reason="Forbidden")
    forbidden.body = '{"message": "nodes is forbidden"}'
    error = translate(forbidden, "list nodes", server="https://k:6443")
    assert isinstance(error, ApiStatusError) and status_of(error) == 403
    assert str(error) == (
        "list nodes: API server https://k:6443 answered 403 Forbidden: nodes is forbidden; "
        "check the kube context's credentials and RBAC"
    )
    unavailable = translate(ApiException(status=503, reason="Service Unavailable"), "get x")
    assert isinstance(unavailable, RetryableApiStatusError) and status_of(unavailable) == 503
    assert status_of(ProbeError("x")) is None


@pytest.mark.parametrize(
    ("text", "context", "says"),
    [
        (": not: yaml: [", None, r"kubeconfig:\d+: is not YAML \("),
        ("[a, b]", None, r"kubeconfig: is not a kubeconfig .*found list"),
        ("kind: Config\ncontexts: nope\n", None, r"contexts must be a list of entries"),
        (
            "kind: Config\ncontexts: [{name: a, context: {cluster: a}}]\n"
            "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:9'}}]\n",
            "prod",
            r"no kube context 'prod' in .*kubeconfig; contexts are: a; pass --kube-context",
        ),
    ],
    ids=["not-yaml", "a-list", "contexts-not-a-list", "unknown-context"],
)
def test_a_broken_kubeconfig_is_a_config_error_naming_the_file(
    tmp_path: Path, text: str, context: str | None, says: str
) -> None:
    from gonogo.errors import ConfigError
    from gonogo.integrations.kubernetes.client import KubeClient

    path = tmp_path / "kubeconfig"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says) as raised:
        KubeClient(kubeconfig=path, context=context)
    assert str(path) in str(raised.value)
    assert raised.value.__cause__ is None


def test_kubeconfig_from_the_environment_is_named_as_it_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gonogo.errors import ConfigError
    from gonogo.integrations.kubernetes.client import KubeClient

    monkeypatch.setenv("KUBECONFIG", "/missing")
    with pytest.raises(ConfigError, match=r"^KUBECONFIG names /missing, which does not exist"):
        KubeClient()


def test_http_probes_trust_a_ca_bundle_and_name_a_missing_one(
    ca: tuple[trustme.CA, Path], tmp_path: Path
) -> None:
    from gonogo.integrations.http.client import get_json

    authority, bundle = ca
    with serving(_tls_server(authority, hosts=("localhost",), days=30)) as server:
        url = f"https://localhost:{server.server_address[1]}/ok"
        result = get_json(url, timeout=3, ca_bundle=bundle)
        assert result.ok, result.summary()
        missing = tmp_path / "nowhere" / "ca.pem"
        with pytest.raises(
            ProbeError, match=rf"^CA bundle {missing} does not exist; fix ca_bundle"
        ):
            get_json(url, timeout=3, ca_bundle=missing)
        not_pem = tmp_path / "not.pem"
        not_pem.write_text("not a certificate\n")
        with pytest.raises(ProbeError, match=rf"^CA bundle {not_pem} cannot be used"):
            get_json(url, timeout=3, ca_bundle=not_pem)
