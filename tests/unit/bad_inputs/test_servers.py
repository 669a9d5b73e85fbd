"""Broken Kubernetes API servers and broken kubeconfigs, run as a user runs gonogo.

Each case points a target's kubeconfig at a small loopback server started here
(silent, never accepting, closed, answering garbage, 500, 403 or a web page) or
at a kubeconfig that is not one, and runs ``pytest -m predeploy`` or ``-m
deploy``. A clean failure is a NO-GO (exit 1) whose every Kubernetes check
failed with one line naming the API server or the kubeconfig and what to
check, no traceback, no canary, and, for a server that does not answer, within
a wall-clock bound: urllib3's retries once made that 40 s per request, paid by
every check again.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
import trustme

from tests.support.clean_failure import Outcome, assert_clean_failure, run

SILENT_BOUND_S = 40.0
"""The documented 10 s timeout, paid once per run, plus pytest's own start."""

FIX = "check kube.kubeconfig/context or the network"
KUBECONFIG_FIX = "point kube.kubeconfig in the target (or KUBECONFIG) at a kubeconfig"
CONTEXT_FIX = "pass --kube-context or set kube.context in the target"
ONE_LINE_BREAKERS = ("During handling of the above exception", "The above exception was", "urllib3")

TARGET = """\
name: demo
release: v2.0.0
previous_release: v1.9.0
{kube}namespaces:
  production: demo
registry:
  url: http://127.0.0.1:{closed}
  repository_prefix: 127.0.0.1:{closed}/demo
  insecure_http: true
services:
  - name: db
    tier: data
  - name: api
    image: demo-api
    depends_on: [db]
    health_path: /api/health
  - name: web
    image: demo-web
    depends_on: [api]
ingress:
  base_url: http://127.0.0.1:{closed}
records: {{store: kubernetes, namespace: gonogo-records}}
environments:
  production:
    window: any
"""
"""test_target.py's minimal target, every URL on a closed loopback port, its
run records kept in the cluster (so the record store meets the server too)."""

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster: {{server: "{server}", insecure-skip-tls-verify: true}}
users:
- name: demo
  user: {{token: not-a-real-token}}
contexts:
- name: demo
  context: {{cluster: demo, user: demo}}
current-context: demo
"""


# --------------------------------------------------------------------------- #
# Loopback servers
# --------------------------------------------------------------------------- #


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(status: str, content_type: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


ANSWERS: dict[str, bytes] = {
    "garbage": b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n",
    "http500": _http(
        "500 Internal Server Error",
        "application/json",
        b'{"kind":"Status","status":"Failure","message":"etcdserver: request timed out",'
        b'"code":500}',
    ),
    "http403": _http(
        "403 Forbidden",
        "application/json",
        b'{"kind":"Status","status":"Failure","message":"nodes is forbidden: User '
        b'\\"demo\\" cannot list resource \\"nodes\\"","code":403}',
    ),
    "webpage": _http("200 OK", "text/html", b"<html><body>Welcome to nginx!</body></html>"),
}
"""What a server that answers says to every request."""


def _tls() -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA
    the client does not trust (the kubeconfig skips verification)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    return context


@contextmanager
def loopback_server(kind: str) -> Iterator[int]:
    """A server on 127.0.0.1 behaving as ``kind``; yields its port.

    ``silent`` accepts and never answers; ``backlog`` never accepts (its queue
    is full, so a connection is never made); ``slow`` reads the request and
    answers only after the client's timeout; the ``ANSWERS`` kinds answer
    every request with the same bytes, over TLS when prefixed ``tls-``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = int(server.getsockname()[1])
    stop = threading.Event()
    held: list[socket.socket] = []
    if kind == "backlog":
        server.listen(0)
        # Fill the accept queue; further connection attempts are dropped.
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            held.append(filler)
    else:
        server.listen(64)
    server.settimeout(0.2)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if kind in ANSWERS:
                threading.Thread(target=_answer, args=(conn, ANSWERS[kind]), daemon=True).start()
            elif kind.startswith("tls-") and kind[4:] in ANSWERS:
                threading.Thread(
                    target=_answer, args=(conn, ANSWERS[kind[4:]], _tls()), daemon=True
                ).start()
            elif kind == "slow":
                threading.Thread(target=_answer_late, args=(conn, stop), daemon=True).start()

    thread = None
    if kind != "backlog":
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
    try:
        yield port
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=2)
        for conn in held:
            conn.close()
        server.close()


def _answer(conn: socket.socket, answer: bytes, tls: ssl.SSLContext | None = None) -> None:
    try:
        conn.settimeout(5)
        if tls is not None:
            with tls.wrap_socket(conn, server_side=True) as wrapped:
                wrapped.recv(65536)
                wrapped.sendall(answer)
            return
        conn.recv(65536)
        conn.sendall(answer)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _answer_late(conn: socket.socket, stop: threading.Event) -> None:
    try:
        conn.settimeout(5)
        conn.recv(65536)
        if not stop.wait(15):
            conn.sendall(_http("200 OK", "application/json", b'{"items": []}'))
    except OSError:
        pass


# --------------------------------------------------------------------------- #
# Running gonogo against them
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Setup:
    target: Path
    env: dict[str, str]


def write_target(tmp_path: Path, *, kubeconfig: Path | None, context: str | None = None) -> Path:
    lines = []
    if kubeconfig is not None:
        lines.append(f"  kubeconfig: {kubeconfig}\n")
    if context is not None:
        lines.append(f"  context: {context}\n")
    kube = "kube:\n" + "".join(lines) if lines else ""
    path = tmp_path / "target.yaml"
    path.write_text(TARGET.format(kube=kube, closed=closed_port()), encoding="utf-8")
    return path


def write_kubeconfig(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(server=server), encoding="utf-8")
    return path


def gonogo(tmp_path: Path, target: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """``pytest <args> --target=FILE --env production``, as the README runs it."""
    return run(
        ["pytest", *args, f"--target={target}", "--env", "production"],
        tmp_path,
        env=env,
        timeout=150,
    )


def assert_one_line_per_check(outcome: Outcome, cause: str) -> None:
    """Every failure that names ``cause`` is that one line: no frames, no
    chained library exceptions, no urllib3 retry warnings."""
    assert cause in outcome.output, f"no check failed with {cause!r}:\n{outcome.output[-4000:]}"
    for text in ONE_LINE_BREAKERS:
        assert text not in outcome.output, f"{text!r} in the output:\n{outcome.output[-4000:]}"
    lines = outcome.output.splitlines()
    for number, line in enumerate(lines):
        if cause in line and number > 0 and lines[number - 1].startswith("_"):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert following.startswith(("_", "-", "=")) or not following.strip(), (
                f"the failure {line!r} goes on with {following!r}"
            )


def assert_reports_one_line(outcome: Outcome, cause: str) -> None:
    """JUnit carries each failure naming ``cause`` as that line (message and
    body alike), and no written report holds a library traceback."""
    junit = outcome.reports / "junit-production.xml"
    failures = [
        element
        for element in ElementTree.parse(junit).iter()
        if element.tag in ("failure", "error") and cause in (element.get("message") or "")
    ]
    assert failures, f"no failure in {junit} names {cause!r}"
    for element in failures:
        message = element.get("message") or ""
        body = (element.text or "").strip()
        assert "\n" not in body and cause in body and body in message, (
            f"{junit}: the failure is not its one line: {message!r} / {body!r}"
        )
        assert "gonogo." not in message.split(cause)[0], f"{junit}: {message!r}"
    written = outcome.written_text()
    for text in (*ONE_LINE_BREAKERS, "Traceback (most recent call last)"):
        assert text not in written, f"{text!r} in a report under {outcome.reports}"


# --------------------------------------------------------------------------- #
# API servers that do not answer, or answer wrong
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ServerCase:
    id: str
    kind: str
    """A ``loopback_server`` kind, or ``closed``."""
    scheme: str
    args: tuple[str, ...]
    says: str
    """The one line's cause, ``{server}`` standing for the server's URL."""
    slow: bool = False


SERVER_CASES = [
    ServerCase(
        "silent-https-predeploy",
        "silent",
        "https",
        ("-m", "predeploy"),
        "API server {server} did not answer within 10 s (connected, no answer); " + FIX,
        slow=True,
    ),
    ServerCase(
        "silent-https-predeploy-no-gate",
        "silent",
        "https",
        ("-m", "predeploy", "--no-gate"),
        "API server {server} did not answer within 10 s (connected, no answer); " + FIX,
        slow=True,
    ),
    ServerCase(
        "silent-https-deploy",
        "silent",
        "https",
        ("-m", "deploy"),
        "API server {server} did not answer within 10 s (connected, no answer); " + FIX,
        slow=True,
    ),
    ServerCase(
        "silent-http-predeploy",
        "silent",
        "http",
        ("-m", "predeploy"),
        "API server {server} did not answer within 10 s (connected, no answer); " + FIX,
        slow=True,
    ),
    ServerCase(
        "never-accepts-predeploy",
        "backlog",
        "https",
        ("-m", "predeploy"),
        "API server {server} did not answer within 10 s (no connection); " + FIX,
        slow=True,
    ),
    ServerCase(
        "answers-after-the-timeout-deploy",
        "slow",
        "http",
        ("-m", "deploy"),
        "API server {server} did not answer within 10 s (connected, no answer); " + FIX,
        slow=True,
    ),
    ServerCase(
        "closed-port-predeploy",
        "closed",
        "https",
        ("-m", "predeploy"),
        "cannot reach the API server {server} ([Errno 111] Connection refused); is the cluster up? "
        + FIX,
    ),
    ServerCase(
        "closed-port-deploy",
        "closed",
        "https",
        ("-m", "deploy"),
        "cannot reach the API server {server} ([Errno 111] Connection refused); is the cluster up? "
        + FIX,
    ),
    ServerCase(
        "garbage-over-http",
        "garbage",
        "http",
        ("-m", "predeploy"),
        "API server {server} broke off or did not answer in HTTP",
    ),
    ServerCase(
        "garbage-over-https",
        "garbage",
        "https",
        ("-m", "predeploy"),
        "API server {server}: TLS failed",
    ),
    ServerCase(
        "http-500",
        "http500",
        "http",
        ("-m", "predeploy"),
        "API server {server} answered 500 Internal Server Error: etcdserver: request timed out",
    ),
    ServerCase(
        "http-403",
        "http403",
        "http",
        ("-m", "deploy"),
        "API server {server} answered 403 Forbidden",
    ),
    ServerCase(
        "http-403-over-tls-without-verification",
        "tls-http403",
        "https",
        ("-m", "predeploy"),
        "API server {server} answered 403 Forbidden: nodes is forbidden",
    ),
    ServerCase(
        "a-web-page-not-the-api-server",
        "webpage",
        "http",
        ("-m", "predeploy"),
        "API server {server} answered 200 with something that is not JSON; is it the API server's address?",
    ),
]


@contextmanager
def api_server(kind: str) -> Iterator[int]:
    if kind == "closed":
        yield closed_port()
        return
    with loopback_server(kind) as port:
        yield port


@pytest.mark.parametrize("case", SERVER_CASES, ids=[c.id for c in SERVER_CASES])
def test_a_broken_api_server_is_a_no_go_with_one_line_per_check(
    tmp_path: Path, case: ServerCase
) -> None:
    with api_server(case.kind) as port:
        server = f"{case.scheme}://127.0.0.1:{port}"
        kubeconfig = write_kubeconfig(tmp_path, server)
        target = write_target(tmp_path, kubeconfig=kubeconfig)
        outcome = gonogo(tmp_path, target, *case.args)
    says = case.says.format(server=server)
    assert_clean_failure(
        outcome,
        exit_code=1,
        mentions=(says, "NO-GO"),
        max_seconds=SILENT_BOUND_S if case.slow else None,
    )
    assert_one_line_per_check(outcome, says)
    assert_reports_one_line(outcome, says)


# --------------------------------------------------------------------------- #
# Kubeconfigs that are not one
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class KubeconfigCase:
    id: str
    write: Callable[[Path], Path | None]
    """Writes the kubeconfig (or nothing) and returns the path the target names."""
    says: Callable[[Path], tuple[str, ...]]
    context: str | None = None
    env: Callable[[Path], dict[str, str]] | None = None


def _file(text: str | bytes) -> Callable[[Path], Path]:
    def write(tmp_path: Path) -> Path:
        path = tmp_path / "kubeconfig"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


def _kubeconfig_only_in_env(text: str) -> Callable[[Path], None]:
    """Writes the kubeconfig that ``KUBECONFIG`` names; the target names none."""

    def write(tmp_path: Path) -> None:
        _file(text)(tmp_path)

    return write


def _in(tmp_path: Path) -> str:
    return str(tmp_path / "kubeconfig")


GOOD = KUBECONFIG.format(server="https://127.0.0.1:9")
"""A kubeconfig that is fine (its server is never asked in these cases)."""

KUBECONFIG_CASES = [
    KubeconfigCase(
        "not-yaml",
        _file("{{{ this: is not yaml\n  - at all"),
        lambda t: (f"{_in(t)}:", ": is not YAML (", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "yaml-list",
        _file("- apiVersion: v1\n- kind: Config\n"),
        lambda t: (f"{_in(t)}: is not a kubeconfig", "found list", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "yaml-scalar",
        _file("just some words\n"),
        lambda t: (f"{_in(t)}: is not a kubeconfig", "found str", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "empty",
        _file(""),
        lambda t: (f"{_in(t)}: is not a kubeconfig", "found nothing", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "not-utf8",
        _file(b"\xff\xfe\x00k\x00i\x00n\x00d"),
        lambda t: (f"{_in(t)}: is not text (UTF-8)", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "no-contexts",
        _file("apiVersion: v1\nkind: Config\nclusters: []\n"),
        lambda t: (f"{_in(t)}: is not a kubeconfig: it defines no contexts", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "contexts-not-a-list",
        _file("apiVersion: v1\nkind: Config\ncontexts: {demo: {cluster: demo}}\n"),
        lambda t: (f"{_in(t)}: is not a kubeconfig: contexts must be a list", KUBECONFIG_FIX),
    ),
    KubeconfigCase(
        "missing-context",
        _file(GOOD),
        lambda t: (f"no kube context 'prod' in {_in(t)}; contexts are: demo", CONTEXT_FIX),
        context="prod",
    ),
    KubeconfigCase(
        "no-current-context",
        _file(GOOD.replace("current-context: demo\n", "")),
        lambda t: (
            f"no kube context given and no current-context in {_in(t)}; contexts are: demo",
            CONTEXT_FIX,
        ),
    ),
    KubeconfigCase(
        "context-names-no-cluster",
        _file(GOOD.replace("cluster: demo, ", "cluster: x, ")),
        lambda t: (
            f"{_in(t)}: context 'demo' names cluster 'x', which is not defined",
            KUBECONFIG_FIX,
        ),
    ),
    KubeconfigCase(
        "cluster-without-server",
        _file(
            GOOD.replace('{server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}', "{}")
        ),
        lambda t: (
            f"{_in(t)}: cluster 'demo' of context 'demo' has no server URL",
            KUBECONFIG_FIX,
        ),
    ),
    KubeconfigCase(
        "KUBECONFIG-missing",
        lambda t: None,
        lambda t: ("KUBECONFIG names /missing, which does not exist", "set kube.kubeconfig"),
        env=lambda t: {"KUBECONFIG": "/missing"},
    ),
    KubeconfigCase(
        "KUBECONFIG-garbage",
        _kubeconfig_only_in_env("[1, 2, 3]\n"),
        lambda t: (f"{_in(t)}: is not a kubeconfig", KUBECONFIG_FIX),
        env=lambda t: {"KUBECONFIG": _in(t)},
    ),
]


@pytest.mark.parametrize("case", KUBECONFIG_CASES, ids=[c.id for c in KUBECONFIG_CASES])
def test_a_broken_kubeconfig_is_one_line_naming_the_file_and_the_fix(
    tmp_path: Path, case: KubeconfigCase
) -> None:
    target = write_target(tmp_path, kubeconfig=case.write(tmp_path), context=case.context)
    env = case.env(tmp_path) if case.env else None
    outcome = gonogo(tmp_path, target, "-m", "predeploy", env=env)
    says = case.says(tmp_path)
    assert_clean_failure(outcome, exit_code=1, mentions=(*says, "NO-GO"))
    for wrong in ("~/.kube/config", "context None", "ConfigException", "TypeError"):
        assert wrong not in outcome.output, f"{wrong!r} in the output:\n{outcome.output[-4000:]}"
    assert_one_line_per_check(outcome, says[0])
    assert_reports_one_line(outcome, says[0])
