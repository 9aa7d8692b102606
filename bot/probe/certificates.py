"""TLS contexts for the probe and a reading of the server certificate with `cryptography`.

Trust is OpenSSL's verdict from a verifying handshake (system store plus GUIDENEST_PROBE_CA_FILE); host name
matching is done here against the subject alternative names (RFC 6125: no common-name fallback, a wildcard
only as the whole left-most label), so the two are reported separately.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import ssl
from functools import lru_cache
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from bot.probe.model import CertificateInfo

if TYPE_CHECKING:
    from pathlib import Path


@lru_cache(maxsize=8)
def _context(ca_file: Path | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    # Host names are matched by `hostname_matches` below, so that a mismatch is reported rather than fatal.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    return context


def tls_context(ca_file: Path | None, *, verify: bool) -> ssl.SSLContext:
    """A client context; `verify` fails the handshake on an untrusted chain (host names are not checked)."""
    return _context(ca_file, verify)


def _names(certificate: x509.Certificate) -> tuple[list[str], list[str]]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return [], []
    dns_names = [str(name).lower().rstrip(".") for name in extension.value.get_values_for_type(x509.DNSName)]
    addresses = [str(address) for address in extension.value.get_values_for_type(x509.IPAddress)]
    return dns_names, addresses


def _dns_name_matches(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[2:]
    head, dot, rest = host.partition(".")
    # One whole label only; `*.com`-style patterns with a single label after the star are not honoured.
    return bool(dot) and bool(head) and rest == suffix and "." in suffix


def hostname_matches(certificate: x509.Certificate, host: str, *, is_ip: bool) -> bool:
    dns_names, addresses = _names(certificate)
    if is_ip:
        wanted = ipaddress.ip_address(host)
        return any(ipaddress.ip_address(address) == wanted for address in addresses)
    target = host.lower().rstrip(".")
    return any(_dns_name_matches(pattern, target) for pattern in dns_names)


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def describe_certificate(
    der: bytes,
    *,
    host: str,
    is_ip: bool,
    trusted: bool,
    verify_error: str | None,
    chain_length: int | None = None,
    now: dt.datetime | None = None,
) -> CertificateInfo:
    certificate = x509.load_der_x509_certificate(der)
    moment = now or dt.datetime.now(dt.UTC)
    not_after = certificate.not_valid_after_utc
    dns_names, addresses = _names(certificate)
    seconds_left = (not_after - moment).total_seconds()
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        sans=dns_names + addresses,
        not_before=certificate.not_valid_before_utc.isoformat(),
        not_after=not_after.isoformat(),
        days_left=math.floor(seconds_left / 86400),
        hostname_matches=hostname_matches(certificate, host, is_ip=is_ip),
        trusted=trusted,
        self_signed=_is_self_signed(certificate),
        verify_error=verify_error,
        chain_length=chain_length,
        sha256=certificate.fingerprint(hashes.SHA256()).hex(),
    )


def sent_chain_length(tls: ssl.SSLObject) -> int | None:
    """How many certificates the server sent, when Python can tell (a missing intermediate shows as 1)."""
    inner = getattr(tls, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is None:
        return None
    try:
        chain = getter()
    except (ValueError, ssl.SSLError):
        return None
    return len(chain) if chain is not None else None
