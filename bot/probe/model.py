"""What a probe is pointed at and what it found, with the JSON form the CLI and the cog show."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MailProtocol(StrEnum):
    IMAP = "imap"
    POP3 = "pop3"
    SMTP = "smtp"


class Security(StrEnum):
    """How the connection is protected: implicit TLS, an upgrade with STARTTLS, or none."""

    SSL = "ssl"
    STARTTLS = "starttls"
    PLAIN = "plain"


class Stage(StrEnum):
    """The steps of a probe in the order they run; timings and failures name one of them."""

    DNS = "dns"
    TCP = "tcp"
    TLS = "tls"
    GREETING = "greeting"
    CAPABILITIES = "capabilities"
    STARTTLS = "starttls"
    CAPABILITIES_AFTER_TLS = "capabilities_after_tls"
    CLOSE = "close"


class ErrorKind(StrEnum):
    DNS_FAILED = "dns_failed"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    UNREACHABLE = "unreachable"
    TLS_HANDSHAKE_FAILED = "tls_handshake_failed"
    CERTIFICATE_UNTRUSTED = "certificate_untrusted"
    HOSTNAME_MISMATCH = "hostname_mismatch"
    CERTIFICATE_EXPIRED = "certificate_expired"
    PROTOCOL_UNEXPECTED = "protocol_unexpected"
    CLOSED_EARLY = "closed_early"
    GREETING_REJECTED = "greeting_rejected"
    STARTTLS_NOT_OFFERED = "starttls_not_offered"
    STARTTLS_REFUSED = "starttls_refused"


# The words accepted for each protocol and security mode, including the names mail apps and people use.
PROTOCOL_WORDS = {
    "imap": MailProtocol.IMAP,
    "imap4": MailProtocol.IMAP,
    "pop": MailProtocol.POP3,
    "pop3": MailProtocol.POP3,
    "smtp": MailProtocol.SMTP,
    "submission": MailProtocol.SMTP,
}
SECURITY_WORDS = {
    "ssl": Security.SSL,
    "tls": Security.SSL,
    "ssl/tls": Security.SSL,
    "implicit": Security.SSL,
    "starttls": Security.STARTTLS,
    "stls": Security.STARTTLS,
    "plain": Security.PLAIN,
    "none": Security.PLAIN,
}
SECURITY_LABELS = {Security.SSL: "SSL/TLS", Security.STARTTLS: "STARTTLS", Security.PLAIN: "no encryption"}
PROTOCOL_LABELS = {MailProtocol.IMAP: "IMAP", MailProtocol.POP3: "POP3", MailProtocol.SMTP: "SMTP"}


@dataclass(frozen=True)
class ProbeTarget:
    """A checked target. `host` is lower-case ASCII (an A-label name or a canonical IP address)."""

    host: str
    port: int
    protocol: MailProtocol
    security: Security
    is_ip: bool = False

    @property
    def key(self) -> str:
        """The per-target rate-limit key: the host, whatever the port (sweeping ports counts per try)."""
        return self.host

    def describe(self) -> str:
        how = SECURITY_LABELS[self.security]
        return f"{PROTOCOL_LABELS[self.protocol]} {self.host} port {self.port} with {how}"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol.value,
            "security": self.security.value,
        }


@dataclass
class CertificateInfo:
    subject: str
    issuer: str
    sans: list[str]
    not_before: str
    not_after: str
    days_left: int
    hostname_matches: bool
    trusted: bool
    self_signed: bool
    # OpenSSL's words when the chain did not verify ("certificate has expired", "self-signed certificate"
    # ...).
    verify_error: str | None = None
    chain_length: int | None = None
    sha256: str = ""

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "sans": list(self.sans),
            "not_before": self.not_before,
            "not_after": self.not_after,
            "days_left": self.days_left,
            "hostname_matches": self.hostname_matches,
            "trusted": self.trusted,
            "self_signed": self.self_signed,
            "verify_error": self.verify_error,
            "chain_length": self.chain_length,
            "sha256": self.sha256,
        }


@dataclass
class TlsInfo:
    version: str | None
    cipher: str | None
    certificate: CertificateInfo | None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "certificate": self.certificate.to_json() if self.certificate else None,
        }


@dataclass
class ProbeError:
    stage: Stage
    kind: ErrorKind
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage.value, "kind": self.kind.value, "message": self.message}


@dataclass
class ProbeResult:
    target: ProbeTarget
    address: str | None = None
    ok: bool = False
    banner: str | None = None
    capabilities: list[str] = field(default_factory=list)
    # Capabilities read before STARTTLS; the list above is the one after the upgrade when there was one.
    capabilities_before_tls: list[str] | None = None
    starttls_offered: bool | None = None
    tls: TlsInfo | None = None
    error: ProbeError | None = None
    stages: dict[str, float] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    # What the server turned out to speak when it was not what we expected ("smtp", "http", "ssh", "binary"
    # ...).
    detected_protocol: str | None = None

    @property
    def outcome(self) -> str:
        """One word for logs and the audit trail: `ok` or the error kind."""
        return "ok" if self.ok else (self.error.kind.value if self.error else "failed")

    def to_json(self) -> dict[str, Any]:
        from bot.probe.diagnosis import diagnose  # here: diagnosis imports this module

        diagnosis = diagnose(self)
        return {
            "target": self.target.to_json(),
            "address": self.address,
            "ok": self.ok,
            "banner": self.banner,
            "capabilities": list(self.capabilities),
            "capabilities_before_tls": (
                list(self.capabilities_before_tls) if self.capabilities_before_tls is not None else None
            ),
            "starttls": {"offered": self.starttls_offered},
            "tls": self.tls.to_json() if self.tls else None,
            "error": self.error.to_json() if self.error else None,
            "detected_protocol": self.detected_protocol,
            "diagnosis": {"summary": diagnosis.summary, "entry": diagnosis.entry},
            "stages": {name: round(ms, 1) for name, ms in self.stages.items()},
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
