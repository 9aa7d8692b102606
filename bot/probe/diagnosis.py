"""Turn a probe result into one plain-language conclusion and the knowledge entry that explains the fix."""

from __future__ import annotations

from dataclasses import dataclass

from bot.probe.model import (
    PROTOCOL_LABELS,
    SECURITY_LABELS,
    ErrorKind,
    MailProtocol,
    ProbeResult,
    Security,
    Stage,
)
from bot.probe.target import IMPLICIT_TLS_PORTS, STANDARD_PORTS

_MAIL_WORDS = {"smtp": MailProtocol.SMTP, "imap": MailProtocol.IMAP, "pop3": MailProtocol.POP3}
_OTHER_SERVICES = {"http": "a web server", "ssh": "an SSH server", "ftp": "an FTP server"}
_OLD_TLS_MARKERS = ("PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW")


@dataclass(frozen=True)
class Diagnosis:
    summary: str
    entry: str | None


def _ports_entry(protocol: MailProtocol, port: int) -> str:
    if protocol is MailProtocol.IMAP:
        return "imap-ports"
    if protocol is MailProtocol.POP3:
        return "pop3-ports"
    if port == 25:
        return "smtp-port-25-blocked"
    return "smtp-port-465" if port == 465 else "smtp-port-587"


def _ssl_port(protocol: MailProtocol) -> int:
    return STANDARD_PORTS[(protocol, Security.SSL)]


def _starttls_port(protocol: MailProtocol) -> int:
    return STANDARD_PORTS[(protocol, Security.STARTTLS)]


def _seconds(result: ProbeResult) -> str:
    return f"{max(1, round(result.elapsed_ms / 1000))} s"


def _expects_tls_first(result: ProbeResult) -> Diagnosis:
    target = result.target
    mode = "a STARTTLS" if target.security is Security.STARTTLS else "an unencrypted"
    summary = (
        f"Port {target.port} expects SSL/TLS from the first byte, so {mode} connection gets no greeting: "
        f"choose SSL/TLS for port {target.port}, or use port {_starttls_port(target.protocol)} with STARTTLS."
    )
    if target.protocol is MailProtocol.SMTP and target.security is Security.PLAIN:
        return Diagnosis(summary, "smtp-server-disconnected")
    return Diagnosis(summary, "port-security-mismatch")


def _success(result: ProbeResult) -> Diagnosis:
    target = result.target
    proto = PROTOCOL_LABELS[target.protocol]
    if target.security is Security.PLAIN:
        if result.starttls_offered:
            return Diagnosis(
                f"{target.host} answers on port {target.port} without encryption and also offers STARTTLS: "
                "choose STARTTLS, otherwise your password travels unprotected.",
                "plain-unencrypted-ports",
            )
        better = _ssl_port(target.protocol)
        return Diagnosis(
            f"{target.host} answers on port {target.port} without encryption and offers no STARTTLS: your "
            f"password would travel unprotected. Use port {better} with SSL/TLS if the provider offers it.",
            "plain-unencrypted-ports",
        )
    version = result.tls.version if result.tls and result.tls.version else "TLS"
    summary = (
        f"{proto} on {target.host} port {target.port} works with {SECURITY_LABELS[target.security]} "
        f"({version}) and a valid certificate: use port {target.port} with "
        f"{SECURITY_LABELS[target.security]}."
    )
    if target.protocol is MailProtocol.SMTP and target.port == 25:
        summary += (
            " Port 25 is meant for server-to-server mail and many home and mobile networks block it: from "
            "a mail app, send through 587 with STARTTLS or 465 with SSL/TLS."
        )
    return Diagnosis(summary, _ports_entry(target.protocol, target.port))


def _timeout(result: ProbeResult, stage: Stage) -> Diagnosis:
    target = result.target
    if stage is Stage.TCP:
        if target.protocol is MailProtocol.SMTP and target.port == 25:
            return Diagnosis(
                f"Port 25 on {target.host} did not answer within {_seconds(result)}. Port 25 is often "
                "blocked; to send from a mail app use 587 with STARTTLS or 465 with SSL/TLS.",
                "smtp-port-25-blocked",
            )
        return Diagnosis(
            f"Nothing answered on port {target.port} within {_seconds(result)}: a firewall drops the "
            "connection, or the server does not use this port.",
            "connection-timeout-firewall",
        )
    if stage is Stage.GREETING:
        if target.security is Security.SSL:
            return Diagnosis(
                f"The SSL/TLS connection worked, but the server sent no {PROTOCOL_LABELS[target.protocol]} "
                f"greeting within {_seconds(result)}.",
                "server-disconnected",
            )
        if target.port in IMPLICIT_TLS_PORTS:
            return _expects_tls_first(result)
        return Diagnosis(
            f"The server accepted the connection on port {target.port} but sent no greeting within "
            f"{_seconds(result)}. It may expect SSL/TLS from the start (try SSL/TLS), or something in "
            "between holds the connection.",
            "port-security-mismatch",
        )
    if stage is Stage.TLS and target.security is Security.SSL:
        return Diagnosis(
            f"Port {target.port} accepted the connection but did not answer the SSL/TLS handshake: it may "
            f"expect STARTTLS or no encryption. The usual pairs are SSL/TLS on {_ssl_port(target.protocol)} "
            f"and STARTTLS on {_starttls_port(target.protocol)}.",
            "ssl-vs-starttls",
        )
    return Diagnosis(
        f"The server stopped answering during the {stage.value.replace('_', ' ')} step.",
        "server-disconnected",
    )


def _tls_failed(result: ProbeResult, message: str) -> Diagnosis:
    target = result.target
    detected = result.detected_protocol
    if detected in _MAIL_WORDS:
        spoken = _MAIL_WORDS[detected]
        if spoken is target.protocol:
            summary = (
                "This port expects STARTTLS, not SSL/TLS: the server greeted in plain text. Choose "
                f"STARTTLS for port {target.port}, or use port {_ssl_port(target.protocol)} with SSL/TLS."
            )
        else:
            summary = (
                f"Port {target.port} greets in plain text like {PROTOCOL_LABELS[spoken]}, not "
                f"{PROTOCOL_LABELS[target.protocol]} over SSL/TLS: this port is for STARTTLS. For "
                f"{PROTOCOL_LABELS[target.protocol]} with SSL/TLS use port {_ssl_port(target.protocol)}."
            )
        return Diagnosis(summary, "ssl-vs-starttls")
    if detected == "text":
        return Diagnosis(
            'The server answered in plain text instead of SSL/TLS ("wrong version number"): '
            f"port {target.port} does not use SSL/TLS from the start; try STARTTLS.",
            "wrong-version-number",
        )
    if any(marker in message.upper() for marker in _OLD_TLS_MARKERS):
        return Diagnosis(
            "The server and the probe share no TLS version: the server probably offers only TLS 1.0 or "
            "1.1, which current mail apps refuse. The provider must enable TLS 1.2 or newer.",
            "tls-version-too-old",
        )
    return Diagnosis(
        f"The SSL/TLS handshake failed ({message}). Check that the security setting matches the port: "
        f"SSL/TLS on {_ssl_port(target.protocol)}, STARTTLS on {_starttls_port(target.protocol)}.",
        "port-security-mismatch",
    )


def _certificate(result: ProbeResult, kind: ErrorKind) -> Diagnosis:
    target = result.target
    certificate = result.tls.certificate if result.tls else None
    if kind is ErrorKind.CERTIFICATE_EXPIRED:
        date = certificate.not_after[:10] if certificate else "an earlier date"
        return Diagnosis(
            f"The server's certificate expired on {date}, so mail apps refuse it or warn that they cannot "
            "verify the server. Only the provider can renew it; don't accept it permanently.",
            "cert-expired",
        )
    if kind is ErrorKind.CERTIFICATE_UNTRUSTED:
        verify_error = (certificate.verify_error or "") if certificate else ""
        if (
            (certificate is not None and certificate.self_signed)
            or "self-signed" in verify_error
            or ("self signed" in verify_error)
        ):
            return Diagnosis(
                "The server presents a self-signed certificate, which no mail app trusts by default. "
                "Accept it only if you run the server yourself; otherwise the provider must install a "
                "proper certificate.",
                "cert-self-signed",
            )
        return Diagnosis(
            f"The certificate does not lead to a trusted authority ({verify_error or 'unknown issuer'}): "
            "the server probably does not send its intermediate certificate, or uses a private certificate "
            "authority.",
            "cert-chain-incomplete",
        )
    names = [name for name in (certificate.sans if certificate else []) if not name.startswith("*.")]
    hint = f" (for example {names[0]})" if names else ""
    how = "an IP address" if target.is_ip else target.host
    return Diagnosis(
        f"The certificate does not match {how}: enter the server name the certificate shows{hint} as the "
        "server in your mail app.",
        "cert-hostname-mismatch",
    )


def _unexpected(result: ProbeResult, message: str) -> Diagnosis:
    target = result.target
    detected = result.detected_protocol or ""
    if detected in _MAIL_WORDS and _MAIL_WORDS[detected] is not target.protocol:
        spoken = _MAIL_WORDS[detected]
        direction = "sending (outgoing)" if spoken is MailProtocol.SMTP else "receiving (incoming)"
        wanted = PROTOCOL_LABELS[target.protocol]
        usual = f"{_ssl_port(target.protocol)} (SSL/TLS) or {_starttls_port(target.protocol)} (STARTTLS)"
        return Diagnosis(
            f"Port {target.port} speaks {PROTOCOL_LABELS[spoken]}, not {wanted}: it is for {direction} "
            f"mail. {wanted} normally uses port {usual}.",
            _ports_entry(target.protocol, STANDARD_PORTS[(target.protocol, target.security)]),
        )
    if detected in _OTHER_SERVICES:
        return Diagnosis(
            f"Port {target.port} on {target.host} answers like {_OTHER_SERVICES[detected]}, not a mail "
            "server: the host name or the port is wrong.",
            "cannot-connect-to-server",
        )
    if detected == "tls":
        return Diagnosis(
            f"Port {target.port} answers with TLS right away: choose SSL/TLS for this port.",
            "port-security-mismatch",
        )
    return Diagnosis(
        f"The server's reply is not a {PROTOCOL_LABELS[target.protocol]} greeting ({message}). The port may "
        "belong to another service, or a proxy or filter sits in between.",
        "cannot-connect-to-server",
    )


def _closed(result: ProbeResult, stage: Stage) -> Diagnosis:
    target = result.target
    if stage is Stage.GREETING and target.security is not Security.SSL and target.port in IMPLICIT_TLS_PORTS:
        return _expects_tls_first(result)
    entry = "smtp-server-disconnected" if target.protocol is MailProtocol.SMTP else "server-disconnected"
    if stage is Stage.TLS:
        return Diagnosis(
            "The server closed the connection during the SSL/TLS handshake: it may not accept this "
            f"security mode on port {target.port} (SSL/TLS on {_ssl_port(target.protocol)}, STARTTLS on "
            f"{_starttls_port(target.protocol)}), or it rejects the TLS versions offered.",
            entry,
        )
    if stage is Stage.GREETING:
        return Diagnosis(
            "The server closed the connection before greeting: it may limit connections per address or "
            "block this network. Try again later, or from another network.",
            entry,
        )
    return Diagnosis(f"The server closed the connection during the {stage.value.replace('_', ' ')} step.", entry)


def diagnose(result: ProbeResult) -> Diagnosis:
    """The conclusion a member reads and the id of the knowledge entry with the fix."""
    target = result.target
    error = result.error
    if error is None:
        return _success(result)
    kind = error.kind
    if kind is ErrorKind.DNS_FAILED:
        if "does not exist" in error.message:
            summary = f"The server name {target.host} does not exist: check the spelling."
        else:
            summary = f"The server name {target.host} could not be looked up: {error.message}."
        return Diagnosis(summary, "dns-name-not-known")
    if kind is ErrorKind.TIMEOUT:
        return _timeout(result, error.stage)
    if kind is ErrorKind.CONNECTION_REFUSED:
        return Diagnosis(
            f"Nothing listens on port {target.port} at {result.address} (connection refused): this server "
            f"does not offer {PROTOCOL_LABELS[target.protocol]} on port {target.port}. Check the port "
            "number.",
            "connection-refused-vs-timeout",
        )
    if kind is ErrorKind.UNREACHABLE:
        return Diagnosis(
            f"There is no network route to {result.address}: the address is not reachable from here.",
            "cannot-connect-to-server",
        )
    if kind is ErrorKind.TLS_HANDSHAKE_FAILED:
        return _tls_failed(result, error.message)
    if kind in {ErrorKind.CERTIFICATE_EXPIRED, ErrorKind.CERTIFICATE_UNTRUSTED, ErrorKind.HOSTNAME_MISMATCH}:
        return _certificate(result, kind)
    if kind is ErrorKind.PROTOCOL_UNEXPECTED:
        return _unexpected(result, error.message)
    if kind is ErrorKind.CLOSED_EARLY:
        return _closed(result, error.stage)
    if kind is ErrorKind.GREETING_REJECTED:
        return Diagnosis(
            f'The server answered but refused the session ("{result.banner or error.message}"): '
            "it may be busy or block this network. Try again later.",
            "server-disconnected",
        )
    if kind is ErrorKind.STARTTLS_NOT_OFFERED:
        return Diagnosis(
            f"The server does not offer STARTTLS on port {target.port}, so a STARTTLS setting cannot work "
            f"there: use port {_ssl_port(target.protocol)} with SSL/TLS, or ask the provider which security "
            "it supports.",
            "starttls-not-offered",
        )
    return Diagnosis(
        f"The server lists STARTTLS but would not start it ({error.message}). This is usually temporary on "
        f"the server's side; SSL/TLS on port {_ssl_port(target.protocol)} may work meanwhile.",
        "starttls-not-offered",
    )
