"""A TCP connection with hard limits, and TLS done over memory buffers so we see every byte the server sends.

Doing TLS through `ssl.MemoryBIO` rather than asyncio's transport lets the probe show what a plaintext server
said when TLS was expected (the "wrong version number" case), and counts wire bytes against the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

_CHUNK = 4096
_CAPTURE = 1024


class ConnectionClosedError(Exception):
    """The server closed the connection; `during_tls` when it happened inside the handshake."""

    def __init__(self, message: str, *, during_tls: bool = False) -> None:
        super().__init__(message)
        self.during_tls = during_tls


class LimitExceededError(Exception):
    """The server sent a line or a total larger than the probe accepts."""


class PlaintextReplyError(Exception):
    """The TLS handshake failed because the server answered with something that is not TLS."""

    def __init__(self, message: str, received: bytes) -> None:
        super().__init__(message)
        self.received = received


class Channel:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        line_limit: int,
        total_limit: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._line_limit = line_limit
        self._total_limit = total_limit
        self.received_total = 0
        self._buffer = bytearray()
        self._tls: ssl.SSLObject | None = None
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._eof = False

    @classmethod
    async def connect(cls, address: str, port: int, *, line_limit: int, total_limit: int) -> Channel:
        reader, writer = await asyncio.open_connection(address, port, limit=line_limit * 2)
        return cls(reader, writer, line_limit=line_limit, total_limit=total_limit)

    @property
    def local_address(self) -> str:
        sockname = self._writer.get_extra_info("sockname")
        return str(sockname[0]) if sockname else "127.0.0.1"

    @property
    def tls_object(self) -> ssl.SSLObject | None:
        return self._tls

    async def _receive_raw(self) -> bytes:
        if self._eof:
            return b""
        data = await self._reader.read(_CHUNK)
        if not data:
            self._eof = True
            return b""
        self.received_total += len(data)
        if self.received_total > self._total_limit:
            raise LimitExceededError(f"the server sent more than {self._total_limit} bytes")
        return data

    async def _flush(self) -> None:
        pending = self._outgoing.read()
        if pending:
            self._writer.write(pending)
            await self._writer.drain()

    async def send(self, data: bytes) -> None:
        if self._tls is not None:
            self._tls.write(data)
            await self._flush()
        else:
            self._writer.write(data)
            await self._writer.drain()

    async def _fill(self) -> None:
        """Add at least one byte to the buffer, or raise ConnectionClosedError."""
        if self._tls is None:
            data = await self._receive_raw()
            if not data:
                raise ConnectionClosedError("the server closed the connection")
            self._buffer.extend(data)
            return
        while True:
            try:
                data = self._tls.read(_CHUNK)
            except ssl.SSLWantReadError:
                raw = await self._receive_raw()
                if raw:
                    self._incoming.write(raw)
                else:
                    self._incoming.write_eof()
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                raise ConnectionClosedError("the server closed the connection") from None
            if not data:
                raise ConnectionClosedError("the server closed the connection")
            self._buffer.extend(data)
            await self._flush()  # TLS 1.3 may want to answer post-handshake messages
            return

    async def read_line(self) -> bytes:
        """One line without its line ending. Raises LimitExceededError for a line over the cap."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                if end + 1 > self._line_limit:
                    raise LimitExceededError(f"the server sent a line longer than {self._line_limit} bytes")
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line.rstrip(b"\r\n")
            if len(self._buffer) > self._line_limit:
                raise LimitExceededError(f"the server sent a line longer than {self._line_limit} bytes")
            await self._fill()

    def pending_bytes(self) -> bytes:
        return bytes(self._buffer)

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        """Run the TLS handshake on this connection. Raises ssl.SSLError, ConnectionClosedError or
        PlaintextReplyError."""
        if self._buffer:
            # Bytes sent before the handshake would be trusted as if protected (STARTTLS command injection).
            raise PlaintextReplyError("the server sent data before the TLS handshake", bytes(self._buffer))
        tls = context.wrap_bio(self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname)
        self._tls = tls
        captured = bytearray()
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                raw = await self._receive_raw()
                if not raw:
                    self._incoming.write_eof()
                    try:
                        tls.do_handshake()
                    except ssl.SSLError:
                        pass
                    else:
                        break
                    raise ConnectionClosedError(
                        "the server closed the connection during the TLS handshake", during_tls=True
                    ) from None
                if len(captured) < _CAPTURE:
                    captured.extend(raw[: _CAPTURE - len(captured)])
                self._incoming.write(raw)
            except ssl.SSLCertVerificationError:
                raise
            except ssl.SSLError as exc:
                if _looks_like_plaintext(exc) and captured and not is_tls_record(bytes(captured)):
                    raise PlaintextReplyError(str(exc), bytes(captured)) from exc
                raise
        await self._flush()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 0.5)


def _looks_like_plaintext(error: ssl.SSLError) -> bool:
    reason = (getattr(error, "reason", None) or "").upper()
    text = str(error).lower()
    return reason in {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "HTTP_REQUEST",
    } or ("wrong version number" in text or "record layer failure" in text)


def is_tls_record(data: bytes) -> bool:
    """Content types 20-23 with major version 3: a real TLS record (an alert, say) rather than plain text."""
    return len(data) >= 2 and 20 <= data[0] <= 23 and data[1] == 3
