"""The gateway websocket: HELLO, IDENTIFY, heartbeats, READY, GUILD_CREATE, dispatches, RESUME and the faults.

Frames are sent as JSON text (the client inflates only binary frames, so `compress=zlib-stream` can be
ignored). Each IDENTIFY opens a session; dispatches are numbered per session and kept, so a RESUME replays
what the client missed. Sessions follow Discord: a client close with 1000/1001 ends the session, any other
loss keeps it resumable until the emulator invalidates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import traceback
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.e2e.emulator.limits import Problem
from tests.e2e.emulator.recording import GatewayFrame, Log
from tests.e2e.emulator.state import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    ChannelType,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.emulator.server import DiscordEmulator

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

CLOSE_UNKNOWN_OP = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014
# Every intent bit Discord documents (what discord.py's Intents.all() sends); any other bit is refused with 4013.
KNOWN_INTENTS = 0b11_0011_0001_1111_1111_1111_1111


@dataclass
class Session:
    id: str
    shard: tuple[int, int]
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    connection: Connection | None = None
    identify: dict[str, Any] = field(default_factory=dict)
    presence: dict[str, Any] | None = None

    def owns_guild(self, guild_id: int) -> bool:
        shard_id, shard_count = self.shard
        return (guild_id >> 22) % shard_count == shard_id


@dataclass
class Connection:
    number: int
    ws: web.WebSocketResponse
    request: web.Request
    path: str
    session: Session | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed_by_server: bool = False
    server_close_code: int | None = None

    async def send(self, frame: dict[str, Any]) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(json.dumps(frame, separators=(",", ":")))
        except (ConnectionError, RuntimeError):
            return False
        return True


class Gateway:
    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emulator = emulator
        self.frames: Log[GatewayFrame] = Log(str)
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        # One entry per session made ready (READY and its GUILD_CREATEs sent) or resumed.
        self.ready: Log[Session] = Log(lambda session: f"session {session.id} shard {session.shard}")
        self.resumed: Log[Session] = Log(lambda session: f"session {session.id} shard {session.shard}")
        self.heartbeat_interval_ms = 41_250
        self.allowed_privileged_intents = PRIVILEGED_INTENTS
        # The intents this gateway knows; a test narrows it to make IDENTIFY fail with 4013.
        self.known_intents = KNOWN_INTENTS
        # The token IDENTIFY accepts; None: the world's, as REST. A test sets another to get 4004 from the
        # gateway after the REST login succeeded (a token reset between the two).
        self.accepted_token: str | None = None
        self._numbers = 0

    # --- the connection -------------------------------------------------------------------------------------

    @property
    def live(self) -> list[Connection]:
        return [connection for connection in self.connections if not connection.ws.closed]

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._numbers += 1
        connection = Connection(self._numbers, ws, request, request.path)
        self.connections.append(connection)
        self.frames.append(
            GatewayFrame("open", connection.number, None, dict(request.query), path=request.path)
        )
        await self._send(
            connection, {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
        )
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._receive(connection, message.data)
                elif message.type is WSMsgType.BINARY:
                    await self._close(connection, CLOSE_DECODE_ERROR, "binary frames are not accepted")
        except Exception:
            # A bug in the emulator must fail the test rather than look like a network failure.
            self.emulator.violate("emulator-error", [Problem("", "EMULATOR_ERROR", traceback.format_exc())])
            await self._close(connection, 4000, "emulator error")
        finally:
            self._closed(connection)
        return ws

    def _closed(self, connection: Connection) -> None:
        # The code of whoever closed first: the emulator's (a fault, a refusal) or the client's.
        code = connection.server_close_code or connection.ws.close_code
        self.frames.append(GatewayFrame("close", connection.number, None, None, close_code=code))
        session = connection.session
        if session is None or session.connection is not connection:
            return
        session.connection = None
        # Discord ends the session when the client closes normally; any other loss leaves it resumable.
        if not connection.closed_by_server and code in (1000, 1001):
            self.sessions.pop(session.id, None)

    async def _send(self, connection: Connection, frame: dict[str, Any]) -> None:
        self.frames.append(
            GatewayFrame(
                "send", connection.number, frame.get("op"), frame.get("d"), frame.get("t"), frame.get("s")
            )
        )
        await connection.send(frame)

    async def _close(self, connection: Connection, code: int, reason: str) -> None:
        connection.closed_by_server = True
        connection.server_close_code = code
        await connection.ws.close(code=code, message=reason.encode())

    async def _receive(self, connection: Connection, text: str) -> None:
        try:
            frame = json.loads(text)
            op = frame["op"]
        except (ValueError, KeyError, TypeError):
            await self._close(connection, CLOSE_DECODE_ERROR, "Error while decoding payload.")
            return
        data = frame.get("d")
        self.frames.append(GatewayFrame("recv", connection.number, op, data))
        if op == OP_HEARTBEAT:
            await self._send(connection, {"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(connection, data or {})
        elif op == OP_RESUME:
            await self._resume(connection, data or {})
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            if connection.session is None:
                await self._close(connection, CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            elif op == OP_PRESENCE_UPDATE:
                connection.session.presence = data
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._members_chunk(connection, data or {})
        else:
            await self._close(connection, CLOSE_UNKNOWN_OP, "Unknown opcode.")

    # --- identify / ready / resume --------------------------------------------------------------------------

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        world = self.emulator.world
        if connection.session is not None:
            await self._close(connection, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        if data.get("token") != (self.accepted_token or world.token):
            await self._close(connection, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents & ~self.known_intents:
            await self._close(connection, CLOSE_INVALID_INTENTS, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await self._close(connection, CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s).")
            return
        shard_id, shard_count = data.get("shard") or [0, 1]
        if not 0 <= shard_id < shard_count:
            await self._close(connection, CLOSE_INVALID_SHARD, "Invalid shard.")
            return
        session = Session(uuid.uuid4().hex, (shard_id, shard_count), intents, identify=data)
        self.sessions[session.id] = session
        session.connection = connection
        connection.session = session
        guilds = [guild for guild in world.guilds.values() if session.owns_guild(guild.id)]
        ready = {
            "v": 10,
            "user": {**world.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.emulator.resume_gateway_url,
            "shard": [shard_id, shard_count],
            "application": {"id": str(world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
        }
        await self._dispatch_to(session, "READY", ready)
        if intents & INTENT_GUILDS:
            for guild in guilds:
                await self._dispatch_to(session, "GUILD_CREATE", guild.create_payload())
        self.ready.append(session)

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self.emulator.world.token:
            await self._close(connection, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        if session is None:
            # Not resumable: the client must IDENTIFY afresh.
            await self._send(connection, {"op": OP_INVALID_SESSION, "d": False})
            return
        previous = session.connection
        if previous is not None and previous is not connection and not previous.ws.closed:
            await self._close(previous, 4000, "Session resumed elsewhere.")
        session.connection = connection
        connection.session = session
        client_seq = data.get("seq") or 0
        async with connection.lock:
            for frame in session.sent:
                if frame["s"] > client_seq:
                    self.frames.append(
                        GatewayFrame(
                            "send", connection.number, OP_DISPATCH, frame["d"], frame["t"], frame["s"]
                        )
                    )
                    await connection.send(frame)
        await self._dispatch_to(session, "RESUMED", {})
        self.resumed.append(session)

    async def _members_chunk(self, connection: Connection, data: dict[str, Any]) -> None:
        if connection.session is None:
            await self._close(connection, CLOSE_NOT_AUTHENTICATED, "Not authenticated.")
            return
        guild = self.emulator.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        query = (data.get("query") or "").lower()
        wanted = {int(user_id) for user_id in data.get("user_ids") or []}
        members = [
            member
            for member in guild.members.values()
            if (not wanted or member.id in wanted) and member.user.username.lower().startswith(query)
        ]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk = {
            "guild_id": str(guild.id),
            "members": [member.payload() for member in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._dispatch_to(connection.session, "GUILD_MEMBERS_CHUNK", chunk)

    # --- dispatching ----------------------------------------------------------------------------------------

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        connection = session.connection
        lock = connection.lock if connection is not None else asyncio.Lock()
        async with lock:
            session.seq += 1
            frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
            session.sent.append(frame)
            if connection is not None:
                self.frames.append(
                    GatewayFrame("send", connection.number, OP_DISPATCH, data, event, session.seq)
                )
                await connection.send(frame)

    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        intent: int = 0,
        transform: Callable[[Session, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Send an event to every session that would receive it: the right shard, and the intent it needs.

        A guild's events go to shard (guild_id >> 22) % shard_count; events outside any guild (direct
        messages) only to shard 0, as Discord sends them.
        """
        for session in list(self.sessions.values()):
            if guild_id is not None and not session.owns_guild(guild_id):
                continue
            if guild_id is None and session.shard[0] != 0:
                continue
            if intent and not session.intents & intent:
                continue
            await self._dispatch_to(session, event, transform(session, data) if transform else data)

    def client_sequences(self) -> dict[int, int]:
        """The last sequence number sent on each shard's current session."""
        return {session.shard[0]: session.seq for session in self.sessions.values() if session.connection}

    # --- faults ---------------------------------------------------------------------------------------------

    async def drop(self, *, resumable: bool = True, close_code: int | None = None) -> None:
        """Lose every live connection: without a close frame (`close_code=None`, like a network failure), or
        with the given close code. With `resumable=False` the sessions are forgotten, so a RESUME is answered
        with INVALID_SESSION and the client must IDENTIFY afresh."""
        for connection in self.live:
            connection.closed_by_server = True
            session = connection.session
            if session is not None and not resumable:
                self.sessions.pop(session.id, None)
            if close_code is None:
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()
            else:
                connection.server_close_code = close_code
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await connection.ws.close(code=close_code, message=b"emulator fault")

    async def invalidate_session(self, *, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION on every live connection (d = resumable)."""
        for connection in self.live:
            if connection.session is not None and not resumable:
                self.sessions.pop(connection.session.id, None)
            await self._send(connection, {"op": OP_INVALID_SESSION, "d": resumable})

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the client should close and RESUME."""
        for connection in self.live:
            await self._send(connection, {"op": OP_RECONNECT, "d": None})

    async def send_raw(self, text: str) -> None:
        """Send `text` as it is, in a text frame, on every live connection: a frame that is not JSON."""
        for connection in self.live:
            self.frames.append(GatewayFrame("send", connection.number, None, text))
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.send_str(text)

    async def request_heartbeat(self) -> None:
        """Send op 1: the client must answer with a heartbeat at once."""
        for connection in self.live:
            await self._send(connection, {"op": OP_HEARTBEAT, "d": None})

    async def close_all(self) -> None:
        for connection in self.live:
            connection.closed_by_server = True
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.ws.close(code=1001, message=b"emulator stopping")


def message_event_transform(bot_id: int) -> Callable[[Session, dict[str, Any]], dict[str, Any]]:
    """Without the MESSAGE_CONTENT intent Discord blanks content, embeds, attachments and components of guild
    messages that neither mention the bot nor come from it."""

    def transform(session: Session, data: dict[str, Any]) -> dict[str, Any]:
        if session.intents & INTENT_MESSAGE_CONTENT or "guild_id" not in data:
            return data
        author = (data.get("author") or {}).get("id")
        mentioned = any(user.get("id") == str(bot_id) for user in data.get("mentions") or [])
        if author == str(bot_id) or mentioned:
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    return transform


def message_intent(channel_type: ChannelType) -> int:
    return INTENT_DIRECT_MESSAGES if channel_type == ChannelType.DM else INTENT_GUILD_MESSAGES
