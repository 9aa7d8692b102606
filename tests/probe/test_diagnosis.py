"""Every outcome maps to a conclusion and to a knowledge entry that exists in the plan."""

from __future__ import annotations

import itertools

import pytest

from bot.probe import (
    CertificateInfo,
    ErrorKind,
    MailProtocol,
    ProbeError,
    ProbeResult,
    ProbeTarget,
    Security,
    Stage,
    TlsInfo,
    diagnose,
)
from bot.probe.dialogues import identify, sanitize

# The entry ids the diagnosis may point to (knowledge/entries, Part A and B of the plan).
KNOWN_ENTRIES = {
    "port-security-mismatch",
    "ssl-vs-starttls",
    "wrong-version-number",
    "starttls-not-offered",
    "starttls-required-530",
    "smtp-server-disconnected",
    "tls-version-too-old",
    "connection-refused-vs-timeout",
    "connection-timeout-firewall",
    "cannot-connect-to-server",
    "dns-name-not-known",
    "smtp-port-25-blocked",
    "smtp-port-465",
    "smtp-port-587",
    "imap-ports",
    "pop3-ports",
    "cert-hostname-mismatch",
    "cert-expired",
    "cert-self-signed",
    "cert-chain-incomplete",
    "plain-unencrypted-ports",
    "antivirus-mail-scanning",
    "server-disconnected",
    "email-settings-discovery",
    "test-port-yourself",
}
PORTS = {
    MailProtocol.IMAP: (993, 143),
    MailProtocol.POP3: (995, 110),
    MailProtocol.SMTP: (465, 587, 25, 2525),
}


def certificate(**changes: object) -> CertificateInfo:
    values: dict[str, object] = {
        "subject": "CN=mail.example.com",
        "issuer": "CN=Some CA",
        "sans": ["mail.example.com"],
        "not_before": "2025-01-01T00:00:00+00:00",
        "not_after": "2026-01-01T00:00:00+00:00",
        "days_left": 40,
        "hostname_matches": True,
        "trusted": True,
        "self_signed": False,
    }
    values.update(changes)
    return CertificateInfo(**values)  # type: ignore[arg-type]


def results() -> list[ProbeResult]:
    made = []
    for protocol, ports in PORTS.items():
        for port, security, detected in itertools.product(ports, Security, (None, "smtp", "imap", "http", "text")):
            target = ProbeTarget("mail.example.com", port, protocol, security)
            made.append(ProbeResult(target=target, ok=True, address="192.0.2.1"))
            for stage, kind in itertools.product(Stage, ErrorKind):
                made.append(
                    ProbeResult(
                        target=target,
                        address="192.0.2.1",
                        error=ProbeError(stage, kind, "a message"),
                        detected_protocol=detected,
                        tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384", certificate()),
                    )
                )
    return made


def test_every_outcome_has_a_summary_and_a_known_entry() -> None:
    seen = set()
    for result in results():
        diagnosis = diagnose(result)
        assert len(diagnosis.summary) > 40, result
        assert diagnosis.entry in KNOWN_ENTRIES, (result, diagnosis)
        seen.add(diagnosis.entry)
    # The diagnosis really discriminates: most of the entries are reachable.
    assert len(seen) >= 18


def test_old_tls_versions_point_to_the_tls_entry() -> None:
    target = ProbeTarget("mail.example.com", 993, MailProtocol.IMAP, Security.SSL)
    for reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"):
        result = ProbeResult(
            target=target, error=ProbeError(Stage.TLS, ErrorKind.TLS_HANDSHAKE_FAILED, f"TLS error: {reason}")
        )
        assert diagnose(result).entry == "tls-version-too-old"


@pytest.mark.parametrize(
    ("changes", "kind", "entry"),
    [
        ({"days_left": -3, "trusted": False}, ErrorKind.CERTIFICATE_EXPIRED, "cert-expired"),
        ({"trusted": False, "self_signed": True}, ErrorKind.CERTIFICATE_UNTRUSTED, "cert-self-signed"),
        (
            {"trusted": False, "verify_error": "self-signed certificate in certificate chain"},
            ErrorKind.CERTIFICATE_UNTRUSTED,
            "cert-self-signed",
        ),
        (
            {"trusted": False, "verify_error": "unable to get local issuer certificate"},
            ErrorKind.CERTIFICATE_UNTRUSTED,
            "cert-chain-incomplete",
        ),
        ({"hostname_matches": False}, ErrorKind.HOSTNAME_MISMATCH, "cert-hostname-mismatch"),
    ],
)
def test_certificate_problems(changes: dict[str, object], kind: ErrorKind, entry: str) -> None:
    target = ProbeTarget("imap.example.net", 993, MailProtocol.IMAP, Security.SSL)
    result = ProbeResult(
        target=target,
        tls=TlsInfo("TLSv1.3", "x", certificate(**changes)),
        error=ProbeError(Stage.TLS, kind, "m"),
    )
    diagnosis = diagnose(result)
    assert diagnosis.entry == entry
    if kind is ErrorKind.HOSTNAME_MISMATCH:
        assert "mail.example.com" in diagnosis.summary  # the name to use instead


def test_greeting_identification_and_sanitizing() -> None:
    assert identify(b"220 mx.example.com ESMTP\r\n") == "smtp"
    assert identify(b"220 ProFTPD Server ready\r\n") == "ftp"
    assert identify(b"* OK IMAP4rev1 ready\r\n") == "imap"
    assert identify(b"+OK POP3 ready\r\n") == "pop3"
    assert identify(b"SSH-2.0-OpenSSH_9.6\r\n") == "ssh"
    assert identify(b"HTTP/1.0 400 Bad Request\r\n") == "http"
    assert identify(b"\x15\x03\x03\x00\x02\x02\x46") == "tls"
    assert identify(bytes(range(256))) == "binary"
    assert sanitize(b"220 hi\x1b[31m\x00\xff\r\n") == "220 hi [31m \ufffd"
    assert sanitize("a\u200bb\u202e") == "a b"
    assert sanitize("x" * 1000).endswith("…")
    assert len(sanitize("x" * 1000)) == 300
