"""Strict reading of what a member typed (host, port, protocol, security) before any network use.

Two kinds of "no": ProbeRequestError when what was typed is not a usable request (not a host name, host:port,
no port and no protocol, an unknown protocol), ProbeRefused when it is one the guard's rules forbid (this
machine, a private address, an IP address in an unusual form, a port off the allowed list).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import TYPE_CHECKING

from bot.probe.addresses import check_address
from bot.probe.errors import ProbeRefused, ProbeRequestError
from bot.probe.model import PROTOCOL_WORDS, SECURITY_WORDS, MailProtocol, ProbeTarget, Security

if TYPE_CHECKING:
    from bot.settings import Settings

# The port each protocol uses for each security mode (RFC 8314, RFC 6409, RFC 2595).
STANDARD_PORTS: dict[tuple[MailProtocol, Security], int] = {
    (MailProtocol.IMAP, Security.SSL): 993,
    (MailProtocol.IMAP, Security.STARTTLS): 143,
    (MailProtocol.IMAP, Security.PLAIN): 143,
    (MailProtocol.POP3, Security.SSL): 995,
    (MailProtocol.POP3, Security.STARTTLS): 110,
    (MailProtocol.POP3, Security.PLAIN): 110,
    (MailProtocol.SMTP, Security.SSL): 465,
    (MailProtocol.SMTP, Security.STARTTLS): 587,
    (MailProtocol.SMTP, Security.PLAIN): 25,
}
PORT_PROTOCOLS: dict[int, MailProtocol] = {
    25: MailProtocol.SMTP,
    465: MailProtocol.SMTP,
    587: MailProtocol.SMTP,
    2525: MailProtocol.SMTP,
    143: MailProtocol.IMAP,
    993: MailProtocol.IMAP,
    110: MailProtocol.POP3,
    995: MailProtocol.POP3,
}
IMPLICIT_TLS_PORTS = frozenset({465, 993, 995})

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# A last label like `1` or `0x7f` means an IP address in a form `inet_aton` accepts but `ipaddress` does not.
_NUMERIC_LABEL = re.compile(r"^(?:[0-9]+|0x[0-9a-f]*)$")
_HOST_MAX = 253


def _refuse_invisible(text: str) -> None:
    for char in text:
        if char.isspace() or unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            raise ProbeRequestError("The host name contains spaces or invisible characters; type just the server name.")


def normalize_host(raw: str) -> tuple[str, bool]:
    """Lower-case ASCII host and whether it is an IP address. Refuses anything that is not plainly one or the
    other."""
    text = raw.strip()
    if not text:
        raise ProbeRequestError("Give a server name such as imap.example.com.")
    if len(text) > _HOST_MAX + 2:
        raise ProbeRequestError("That host name is too long to be a server name.")
    _refuse_invisible(text)
    if "://" in text or "/" in text or "@" in text or "?" in text or "#" in text:
        raise ProbeRequestError(
            "Give only the server name (like imap.example.com), not a web address or an email address."
        )
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if "%" in text:
        raise ProbeRefused("Scoped IPv6 addresses (with %) are not accepted.")
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text)), True
        except ValueError:
            raise ProbeRequestError(
                "That is neither a server name nor an IPv6 address. Give the port separately, not as host:port."
            ) from None
    try:
        return str(ipaddress.IPv4Address(text)), True
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    try:
        ascii_name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ProbeRequestError(f"{name!r} is not a valid server name.") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > _HOST_MAX or not all(_LABEL.match(label) for label in labels):
        raise ProbeRequestError(
            f"{name!r} is not a valid server name (letters, digits and hyphens between dots, like mail.example.com)."
        )
    if _NUMERIC_LABEL.match(labels[-1]):
        raise ProbeRefused(
            f"{name!r} looks like an IP address written in an unusual form; write it as four decimal "
            "numbers (like 192.0.2.10) or use the server name."
        )
    # Before the single-label rule: "localhost" is this machine, not a name missing its domain.
    if labels[-1] == "localhost":
        raise ProbeRefused(f"{ascii_name} means this machine; the probe only checks servers on the Internet.")
    if len(labels) < 2:
        raise ProbeRequestError(f"Give the full server name, such as imap.{ascii_name}.com, not just {ascii_name!r}.")
    return ascii_name, False


def normalize_domain(raw: str) -> str:
    """A mail domain for discovery: a name, never an address. Accepts `user@domain` and takes the domain."""
    text = raw.strip()
    if text.count("@") == 1:
        text = text.split("@", 1)[1]
    host, is_ip = normalize_host(text)
    if is_ip:
        raise ProbeRequestError("Discovery needs a mail domain (the part after @), not an IP address.")
    return host


def _read_protocol(value: str | None) -> MailProtocol | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word not in PROTOCOL_WORDS:
        raise ProbeRequestError(f"Unknown protocol {value!r}: choose imap, pop3 or smtp.")
    return PROTOCOL_WORDS[word]


def _read_security(value: str | None) -> Security | None:
    if value is None or not value.strip():
        return None
    word = value.strip().lower()
    if word not in SECURITY_WORDS:
        raise ProbeRequestError(f"Unknown security {value!r}: choose ssl, starttls or plain.")
    return SECURITY_WORDS[word]


def parse_target(
    host: str,
    port: int | None,
    protocol: str | None,
    security: str | None,
    settings: Settings,
) -> ProbeTarget:
    """Build a target from what was typed, or raise ProbeRequestError or ProbeRefused with a reason a member can
    act on.

    A port alone names its protocol and the usual security for it (993 -> IMAP with SSL/TLS); a protocol alone
    takes its SSL/TLS port (RFC 8314); protocol and security give the standard port for that pair.
    """
    name, is_ip = normalize_host(host)
    wanted_protocol = _read_protocol(protocol)
    wanted_security = _read_security(security)
    allowed = sorted(settings.probe_allowed_ports)
    allowed_text = ", ".join(str(number) for number in allowed)

    if port is not None:
        if isinstance(port, bool) or not 1 <= int(port) <= 65535:
            raise ProbeRequestError(f"{port} is not a TCP port number.")
        if port not in allowed:
            raise ProbeRefused(f"Port {port} is not a mail port the probe may use (allowed: {allowed_text}).")
        chosen_protocol = wanted_protocol or PORT_PROTOCOLS.get(port)
        if chosen_protocol is None:
            raise ProbeRequestError(f"Port {port} has no usual mail protocol; say which one (imap, pop3 or smtp).")
        chosen_security = wanted_security or (Security.SSL if port in IMPLICIT_TLS_PORTS else Security.STARTTLS)
        chosen_port = port
    else:
        if wanted_protocol is None:
            raise ProbeRequestError("Give a port, or a protocol (imap, pop3, smtp) with a security mode.")
        chosen_protocol = wanted_protocol
        chosen_security = wanted_security or Security.SSL
        chosen_port = STANDARD_PORTS[(chosen_protocol, chosen_security)]
        if chosen_port not in allowed:
            raise ProbeRefused(f"Port {chosen_port} is not a mail port the probe may use (allowed: {allowed_text}).")

    if is_ip:
        check_address(ipaddress.ip_address(name), settings)
    return ProbeTarget(host=name, port=chosen_port, protocol=chosen_protocol, security=chosen_security, is_ip=is_ip)
