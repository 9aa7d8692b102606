"""Greeting-level conversations: banner, capabilities, STARTTLS, goodbye. Never credentials, never
MAIL/RCPT/DATA.

SMTP: 220 banner, EHLO, STARTTLS (RFC 3207), EHLO again, QUIT. IMAP: greeting, CAPABILITY, STARTTLS (RFC 2595
/ RFC 9051), LOGOUT. POP3: greeting, CAPA (RFC 2449), STLS (RFC 2595), QUIT.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, ClassVar

from bot.probe.channel import LimitExceededError, is_tls_record
from bot.probe.model import MailProtocol

if TYPE_CHECKING:
    from bot.probe.channel import Channel

BANNER_MAX = 300
_SMTP_LINE = re.compile(rb"^(\d{3})([ -]|$)(.*)$", re.DOTALL)
_MAX_REPLY_LINES = 200


class UnexpectedReplyError(Exception):
    """The server said something that is not the expected protocol."""

    def __init__(self, message: str, sample: bytes) -> None:
        super().__init__(message)
        self.sample = sample
        self.detected = identify(sample)


class GreetingRejectedError(Exception):
    """The server speaks the protocol but refused the session (SMTP 421/554, IMAP BYE, POP3 -ERR)."""

    def __init__(self, message: str, banner: str) -> None:
        super().__init__(message)
        self.banner = banner


class StarttlsRefusedError(Exception):
    """The server offered STARTTLS but did not agree to start it."""


def sanitize(data: bytes | str, limit: int = BANNER_MAX) -> str:
    """Printable text from a server reply: control and invisible characters dropped, spaces collapsed, length
    capped."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category.startswith("C") or category in {"Zl", "Zp"}:
            kept.append(" ")
        else:
            kept.append(char)
    cleaned = " ".join("".join(kept).split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def identify(data: bytes) -> str:
    """A best guess at what a server speaks from its first bytes."""
    head = data.lstrip(b"\r\n\t ")[:80]
    if not head:
        return "nothing"
    upper = head.upper()
    if is_tls_record(head):
        return "tls"
    if upper.startswith((b"HTTP/", b"<!DOCTYPE", b"<HTML")):
        return "http"
    if head.startswith(b"SSH-"):
        return "ssh"
    if upper.startswith((b"* OK", b"* PREAUTH", b"* BYE")):
        return "imap"
    if upper.startswith((b"+OK", b"-ERR")):
        return "pop3"
    if _SMTP_LINE.match(head.split(b"\n", 1)[0]):
        return "ftp" if b"FTP" in upper else "smtp"
    printable = sum(1 for byte in head if 32 <= byte < 127 or byte in (9, 10, 13))
    return "text" if printable >= len(head) * 0.9 else "binary"


def _describe_unexpected(sample: bytes, expected: str) -> str:
    detected = identify(sample)
    names = {
        "http": "a web server (HTTP)",
        "ssh": "an SSH server",
        "imap": "an IMAP server",
        "pop3": "a POP3 server",
        "smtp": "an SMTP server",
        "ftp": "an FTP server",
        "tls": "TLS (it expects an encrypted connection)",
        "binary": "binary data",
        "text": "text that is not a mail greeting",
    }
    return f"expected a {expected} greeting but the server answered like {names.get(detected, detected)}"


class Dialogue:
    protocol: ClassVar[MailProtocol]

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.banner_lines: list[str] = []

    @property
    def banner(self) -> str:
        return sanitize(" | ".join(self.banner_lines))

    async def greeting(self) -> None:
        raise NotImplementedError

    async def capabilities(self) -> list[str]:
        raise NotImplementedError

    @staticmethod
    def starttls_offered(capabilities: list[str]) -> bool:
        raise NotImplementedError

    async def starttls(self) -> None:
        raise NotImplementedError

    async def goodbye(self) -> None:
        raise NotImplementedError


class SmtpDialogue(Dialogue):
    protocol = MailProtocol.SMTP

    async def _reply(self, *, first: bool = False) -> tuple[int, list[bytes]]:
        lines: list[bytes] = []
        while True:
            raw = await self.channel.read_line()
            match = _SMTP_LINE.match(raw)
            if match is None:
                sample = raw + b"\n" + self.channel.pending_bytes()
                if first:
                    raise UnexpectedReplyError(_describe_unexpected(sample, "SMTP"), sample)
                raise UnexpectedReplyError(
                    f"the server sent a line that is not an SMTP reply: {sanitize(raw, 80)}", sample
                )
            lines.append(match.group(3))
            if match.group(2) != b"-":
                return int(match.group(1)), lines
            if len(lines) >= _MAX_REPLY_LINES:
                raise LimitExceededError(f"the server sent a reply of more than {_MAX_REPLY_LINES} lines")

    async def greeting(self) -> None:
        code, lines = await self._reply(first=True)
        self.banner_lines = [f"{code} {sanitize(line)}".strip() for line in lines]
        if code != 220:
            raise GreetingRejectedError(f"the server refused the session: {self.banner}", self.banner)

    async def capabilities(self) -> list[str]:
        # An address literal is a valid EHLO argument (RFC 5321 4.1.4) and says nothing about the bot's host.
        local = self.channel.local_address
        literal = f"[IPv6:{local}]" if ":" in local else f"[{local}]"
        await self.channel.send(f"EHLO {literal}\r\n".encode())
        code, lines = await self._reply()
        if code != 250:
            return []
        return [sanitize(line, 120) for line in lines[1:] if line.strip()]

    @staticmethod
    def starttls_offered(capabilities: list[str]) -> bool:
        return any(item.split(" ", 1)[0].upper() == "STARTTLS" for item in capabilities)

    async def starttls(self) -> None:
        await self.channel.send(b"STARTTLS\r\n")
        code, lines = await self._reply()
        if code != 220:
            raise StarttlsRefusedError(f"the server answered STARTTLS with {code} {sanitize(b' '.join(lines), 120)}")

    async def goodbye(self) -> None:
        await self.channel.send(b"QUIT\r\n")
        await self._reply()


class ImapDialogue(Dialogue):
    protocol = MailProtocol.IMAP

    def __init__(self, channel: Channel) -> None:
        super().__init__(channel)
        self._tag_number = 0

    async def _command(self, command: str) -> tuple[str, list[bytes]]:
        """Send a tagged command; return the tagged status word and the untagged lines before it."""
        self._tag_number += 1
        tag = f"g{self._tag_number}"
        await self.channel.send(f"{tag} {command}\r\n".encode())
        untagged: list[bytes] = []
        prefix = tag.encode() + b" "
        while True:
            line = await self.channel.read_line()
            if line.startswith(prefix):
                status = line[len(prefix) :].split(b" ", 1)[0].decode("ascii", errors="replace").upper()
                return status, untagged
            if not line.startswith((b"*", b"+")):
                raise UnexpectedReplyError(f"the server sent a line that is not IMAP: {sanitize(line, 80)}", line)
            if len(untagged) < _MAX_REPLY_LINES:
                untagged.append(line)

    async def greeting(self) -> None:
        line = await self.channel.read_line()
        upper = line.upper()
        if not upper.startswith((b"* OK", b"* PREAUTH", b"* BYE")):
            sample = line + b"\n" + self.channel.pending_bytes()
            raise UnexpectedReplyError(_describe_unexpected(sample, "IMAP"), sample)
        self.banner_lines = [sanitize(line)]
        if upper.startswith(b"* BYE"):
            raise GreetingRejectedError(f"the server refused the session: {self.banner}", self.banner)

    async def capabilities(self) -> list[str]:
        status, lines = await self._command("CAPABILITY")
        if status != "OK":
            return []
        words: list[str] = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[1].upper() == b"CAPABILITY":
                words.extend(sanitize(word, 60) for word in parts[2:])
        return words

    @staticmethod
    def starttls_offered(capabilities: list[str]) -> bool:
        return any(item.upper() == "STARTTLS" for item in capabilities)

    async def starttls(self) -> None:
        status, _ = await self._command("STARTTLS")
        if status != "OK":
            raise StarttlsRefusedError(f"the server answered STARTTLS with {status}")

    async def goodbye(self) -> None:
        await self._command("LOGOUT")


class Pop3Dialogue(Dialogue):
    protocol = MailProtocol.POP3

    async def _status(self) -> tuple[bool, bytes]:
        line = await self.channel.read_line()
        if line.startswith(b"+OK"):
            return True, line
        if line.startswith(b"-ERR"):
            return False, line
        raise UnexpectedReplyError(f"the server sent a line that is not POP3: {sanitize(line, 80)}", line)

    async def greeting(self) -> None:
        line = await self.channel.read_line()
        if not line.startswith((b"+OK", b"-ERR")):
            sample = line + b"\n" + self.channel.pending_bytes()
            raise UnexpectedReplyError(_describe_unexpected(sample, "POP3"), sample)
        self.banner_lines = [sanitize(line)]
        if line.startswith(b"-ERR"):
            raise GreetingRejectedError(f"the server refused the session: {self.banner}", self.banner)

    async def capabilities(self) -> list[str]:
        await self.channel.send(b"CAPA\r\n")
        ok, _ = await self._status()
        if not ok:
            return []
        items: list[str] = []
        while True:
            line = await self.channel.read_line()
            if line == b".":
                return items
            if len(items) < _MAX_REPLY_LINES:
                # Dot-stuffing (RFC 1939): a leading ".." stands for ".".
                items.append(sanitize(line[1:] if line.startswith(b"..") else line, 120))

    @staticmethod
    def starttls_offered(capabilities: list[str]) -> bool:
        return any(item.split(" ", 1)[0].upper() == "STLS" for item in capabilities)

    async def starttls(self) -> None:
        await self.channel.send(b"STLS\r\n")
        ok, line = await self._status()
        if not ok:
            raise StarttlsRefusedError(f"the server answered STLS with {sanitize(line, 120)}")

    async def goodbye(self) -> None:
        await self.channel.send(b"QUIT\r\n")
        await self._status()


DIALOGUES: dict[MailProtocol, type[Dialogue]] = {
    MailProtocol.SMTP: SmtpDialogue,
    MailProtocol.IMAP: ImapDialogue,
    MailProtocol.POP3: Pop3Dialogue,
}
