"""A TLS endpoint's certificate, checked the way a browser would and read
the way an operator would.

Two handshakes: one that verifies (chain to the trusted CA, host name), whose
error is the verdict, and one that does not, to read the certificate even when
it is wrong, so the evidence shows what is served (subject, names, expiry)."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID


@dataclass
class CertificateCheck:
    host: str
    port: int
    verified: bool = False
    error: str | None = None
    """Why verification failed (chain, host name, expiry), or why no handshake."""
    subject: str = ""
    issuer: str = ""
    names: list[str] = field(default_factory=list)
    not_after: datetime | None = None

    def days_left(self, now: datetime | None = None) -> float | None:
        if self.not_after is None:
            return None
        return (self.not_after - (now or datetime.now(UTC))).total_seconds() / 86400

    def row(self) -> dict[str, object]:
        days = self.days_left()
        return {
            "host": f"{self.host}:{self.port}",
            "verified": self.verified,
            "subject": self.subject,
            "issuer": self.issuer,
            "names": ", ".join(self.names),
            "expires": self.not_after.isoformat() if self.not_after else None,
            "days left": round(days, 1) if days is not None else None,
            "error": self.error,
        }


def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.getpeercert(binary_form=True) or b""


def check(
    host: str, port: int = 443, *, ca_bundle: Path | None = None, timeout: float = 5.0
) -> CertificateCheck:
    result = CertificateCheck(host, port)
    verifying = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    try:
        _handshake(host, port, verifying, timeout)
        result.verified = True
    except ssl.SSLCertVerificationError as e:
        result.error = e.verify_message or str(e)
    except (OSError, ssl.SSLError) as e:
        result.error = f"no TLS handshake: {e}"
        return result
    reading = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reading.check_hostname = False
    reading.verify_mode = ssl.CERT_NONE
    try:
        der = _handshake(host, port, reading, timeout)
    except (OSError, ssl.SSLError) as e:
        result.error = result.error or f"no TLS handshake: {e}"
        return result
    if der:
        cert = x509.load_der_x509_certificate(der)
        result.subject = _common_name(cert.subject)
        result.issuer = _common_name(cert.issuer)
        result.not_after = cert.not_valid_after_utc
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            result.names = [str(n) for n in san.get_values_for_type(x509.DNSName)] + [
                str(ip) for ip in san.get_values_for_type(x509.IPAddress)
            ]
        except x509.ExtensionNotFound:
            result.names = []
    return result


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if values:
        return str(values[0].value)
    org = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(org[0].value) if org else name.rfc4514_string()
