"""The sandbox's TLS front for the ingress host: a local CA (made with
trustme), a server certificate for ``localhost`` and ``127.0.0.1`` signed by
it, and a process terminating TLS on loopback in front of the demo HTTP
server. The DNS/TLS checks verify against ``ca_file(cfg)``; without it the
certificate must not verify, as for any private CA.

The CA is kept across restarts (a user may have exported it as
``SSL_CERT_FILE`` or trusted it in a browser); it and the server certificate
are renewed only when they expire within ``RENEW_BEFORE``."""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import sys
from pathlib import Path

import trustme
from cryptography import x509

from gonogo_sandbox import process
from gonogo_sandbox.config import HOST, SandboxConfig
from gonogo_sandbox.services._common import PROBE_TIMEOUT, running, start_process

NAME = "tls"
INGRESS_HOST = "localhost"
"""The ingress host the certificate is issued for (with ``127.0.0.1``)."""
IDENTITIES = (INGRESS_HOST, HOST)
RENEW_BEFORE = dt.timedelta(days=30)
SERVER_VALIDITY = dt.timedelta(days=397)
"""The longest validity public CAs may issue; realistic for expiry checks."""


def tls_dir(cfg: SandboxConfig) -> Path:
    return cfg.state_dir / "tls"


def ca_file(cfg: SandboxConfig) -> Path:
    """The sandbox CA's certificate (PEM): pass it as ``verify=`` / ``cafile``."""
    return tls_dir(cfg) / "ca.pem"


def ca_key_file(cfg: SandboxConfig) -> Path:
    return tls_dir(cfg) / "ca-key.pem"


def server_cert_file(cfg: SandboxConfig) -> Path:
    return tls_dir(cfg) / "server.pem"


def server_key_file(cfg: SandboxConfig) -> Path:
    return tls_dir(cfg) / "server-key.pem"


def url(cfg: SandboxConfig) -> str:
    """The ingress base URL, e.g. ``https://localhost:18443``."""
    return f"https://{INGRESS_HOST}:{cfg.port('tls')}"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _expires_soon(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return True
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE


def _ca(cfg: SandboxConfig) -> trustme.CA:
    """The sandbox CA, loaded from its files or made anew when absent or expiring."""
    if not _expires_soon(ca_file(cfg)) and ca_key_file(cfg).exists():
        return trustme.CA.from_pem(ca_file(cfg).read_bytes(), ca_key_file(cfg).read_bytes())
    ca = trustme.CA(organization_name="gonogo sandbox", organization_unit_name="local CA")
    tls_dir(cfg).mkdir(parents=True, exist_ok=True)
    _write_private(ca_key_file(cfg), ca.private_key_pem.bytes())
    ca_file(cfg).write_bytes(ca.cert_pem.bytes())
    server_cert_file(cfg).unlink(missing_ok=True)  # signed by the old CA, if any
    return ca


def issue_server_cert(cfg: SandboxConfig, *, valid_for: dt.timedelta = SERVER_VALIDITY) -> Path:
    """Issue the ingress certificate, valid from an hour ago for ``valid_for``,
    and put it in place; the running front serves it from its next connection.
    A short ``valid_for`` is how a test makes an expiring certificate."""
    now = dt.datetime.now(dt.UTC)
    leaf = _ca(cfg).issue_cert(
        *IDENTITIES,
        organization_name="gonogo sandbox",
        not_before=now - dt.timedelta(hours=1),
        not_after=now + valid_for,
    )
    _write_private(server_key_file(cfg), leaf.private_key_pem.bytes())
    server_cert_file(cfg).write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return server_cert_file(cfg)


def ensure_certificates(cfg: SandboxConfig) -> None:
    """Make the CA and server certificate unless valid ones are in place."""
    _ca(cfg)
    if _expires_soon(server_cert_file(cfg)) or not server_key_file(cfg).exists():
        issue_server_cert(cfg)


def _handshake(cfg: SandboxConfig) -> bool:
    """True when the front completes a TLS handshake that verifies with the CA."""
    context = ssl.create_default_context(cafile=str(ca_file(cfg)))
    try:
        with (
            socket.create_connection((HOST, cfg.port("tls")), timeout=PROBE_TIMEOUT) as sock,
            context.wrap_socket(sock, server_hostname=INGRESS_HOST),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


def start(cfg: SandboxConfig) -> None:
    ensure_certificates(cfg)
    argv = [
        sys.executable, "-m", "gonogo_sandbox.services.tlsproxy",
        "--listen", f"{HOST}:{cfg.port('tls')}",
        "--backend", f"{HOST}:{cfg.port('demo')}",
        "--cert", str(server_cert_file(cfg)),
        "--key", str(server_key_file(cfg)),
    ]  # fmt: skip
    start_process(cfg, NAME, argv, ports=["tls"], ready=lambda: _handshake(cfg), timeout=20)


def stop(cfg: SandboxConfig) -> None:
    process.stop(cfg, NAME)


def status(cfg: SandboxConfig) -> tuple[bool, str]:
    return running(cfg, NAME) and _handshake(cfg), url(cfg)
