"""The Discord emulator: an aiohttp server on 127.0.0.1 with the REST API (under /api/v10) and the gateway.

It answers the requests discord.py makes, keeps the state they change (messages, reactions, threads,
registered commands, interaction responses), records every REST call and gateway frame, checks every request
against Discord's limits (`limits.py`), and lets a test inject what members do (messages, slash commands,
message context-menu commands, autocomplete, clicks, selects, modal submits, reactions) and what goes wrong
(rate limits, server errors, dropped connections, invalid sessions).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.e2e.emulator import limits
from tests.e2e.emulator.faults import Faults
from tests.e2e.emulator.gateway import Gateway, message_event_transform, message_intent
from tests.e2e.emulator.limits import Problem
from tests.e2e.emulator.recording import Log, RestCall, StoredMessage, UploadedFile, Violation
from tests.e2e.emulator.state import (
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILDS,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    MESSAGEABLE_TYPES,
    Channel,
    ChannelType,
    DefaultWorld,
    Guild,
    Member,
    Perm,
    Role,
    User,
    World,
    iso,
    mentioned_role_ids,
    mentioned_user_ids,
    unique_token,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

API_PREFIX = "/api/v10"
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
# Discord signs attachment URLs (ex: expiry, is: issued, hm: an HMAC of both and the path); they last a day.
ATTACHMENT_URL_LIFETIME = 24 * 60 * 60

# Interaction types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Callback types each interaction type may answer with.
_CALLBACKS_ALLOWED = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}

# Application command option types.
OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10


class ApiError(Exception):
    """An error answer, in Discord's shape: {"message": …, "code": …}."""

    def __init__(self, status: int, code: int, message: str, *, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"message": message, "code": code}


class CommandNotAvailable(Exception):  # noqa: N818 - named for what Discord's client would show
    """Discord would not let this member run the command: it lacks the command's default permissions."""


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    created: float
    channel_id: int
    guild_id: int | None
    user: User
    label: str
    source_message_id: int | None = None  # the message whose component was used
    response_type: int | None = None
    response: dict[str, Any] | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    expect_no_response: bool = False


@dataclass(frozen=True)
class MemberAttachment:
    """A file a member attaches to a message. `width`/`height`: what Discord reports for an image (None: not
    reported). `url`: a test's override, for an attachment said to live on another host."""

    filename: str
    data: bytes
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = None


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Awaitable[tuple[int, Any]]]
    needs_bot_auth: bool


class DiscordEmulator:
    """Start with `await emulator.start()`; point the client at `api_base` and `gateway_url`."""

    def __init__(self, world: World | None = None, *, host: str = "127.0.0.1") -> None:
        self.world: World = world or DefaultWorld()
        self.host = host
        self.port = 0
        self.calls: Log[RestCall] = Log(str)
        self.messages: dict[int, StoredMessage] = {}
        # Every message created, by the bot or injected, in order; deleted ones stay here too.
        self.created_messages: Log[StoredMessage] = Log(str)
        self.edited_messages: Log[StoredMessage] = Log(str)
        self.violations: list[Violation] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, InteractionRecord] = {}
        self.faults = Faults()
        self.gateway = Gateway(self)
        self.recommended_shards = 1
        self.interaction_ack_timeout = 3.0
        # Project policy on top of Discord's rules: the bot never pings anyone.
        self.policy_no_pings = True
        self.inflight = 0
        self._runner: web.AppRunner | None = None
        self._routes: list[_Route] = []
        self._command_versions = 0
        # Attachment id -> (content type, bytes), served under /attachments/ as Discord's CDN serves them.
        self.attachment_files: dict[int, tuple[str | None, bytes]] = {}
        # Every attachment download (path and query), answered or refused.
        self.attachment_downloads: Log[str] = Log(str)
        self._url_key = unique_token("cdn-key").encode()
        self._add_routes()

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway/resume"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_rest)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        # Port 0 asked the system for a free port; read back which one it gave.
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- violations -----------------------------------------------------------------------------------------

    def violate(self, rule: str, problems: list[Problem], call: RestCall | None = None) -> None:
        self.violations.append(Violation(rule, problems, call))

    def take_violations(self, rule: str | None = None) -> list[Violation]:
        """Return and forget the recorded violations (of one rule, or all)."""
        taken = [violation for violation in self.violations if rule is None or violation.rule == rule]
        self.violations = [violation for violation in self.violations if violation not in taken]
        return taken

    def _reject(self, rule: str, problems: list[Problem], call: RestCall) -> None:
        if problems:
            self.violate(rule, problems, call)
            raise ApiError(400, 50035, "Invalid Form Body", body=limits.form_error(problems))

    def _check_message_body(
        self, call: RestCall, payload: Any, *, prefix: str = "", is_reply: bool = False
    ) -> None:
        problems = limits.check_message(payload, prefix) + limits.check_files(len(call.files))
        self._reject("limits", problems, call)
        if self.policy_no_pings and isinstance(payload, dict):
            pinged = limits.pings(payload, is_reply=is_reply)
            if pinged:
                # Discord would send it; the project's rule is that the bot never pings anyone.
                problem = Problem(
                    f"{prefix}.allowed_mentions" if prefix else "allowed_mentions",
                    "POLICY_NO_PINGS",
                    f"the message would ping {', '.join(pinged)}",
                )
                self.violate("no-pings", [problem], call)

    # --- the REST entry point -------------------------------------------------------------------------------

    async def _read_call(self, request: web.Request) -> RestCall:
        path = request.path[len(API_PREFIX) :] or "/"
        body: Any = None
        files: list[UploadedFile] = []
        content_type = request.content_type
        if content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                name = getattr(part, "name", None) or ""
                data = await part.read()  # type: ignore[union-attr]
                if name == "payload_json":
                    body = json.loads(bytes(data))
                else:
                    files.append(
                        UploadedFile(
                            name,
                            getattr(part, "filename", None),
                            part.headers.get("Content-Type"),
                            bytes(data),
                        )
                    )
        elif request.can_read_body:
            raw = await request.read()
            if raw:
                body = json.loads(raw) if content_type == "application/json" else raw.decode(errors="replace")
        return RestCall(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            authorization=request.headers.get("Authorization"),
        )

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        self.inflight += 1
        try:
            try:
                call = await self._read_call(request)
            except ValueError as error:
                # Discord answers a body it cannot parse with 400/50109; a client that sends one has a bug.
                self.violate(
                    "bad-request", [Problem("", "INVALID_JSON", f"{request.method} {request.path}: {error}")]
                )
                return web.Response(
                    status=400,
                    body=json.dumps(
                        {"message": "The request body contains invalid JSON.", "code": 50109}
                    ).encode(),
                    content_type="application/json",
                )
            fault = self.faults.take(call)
            if fault is not None:
                response, body, label = fault.response()
                call.status, call.response, call.fault = fault.status, body, label
                self.calls.append(call)
                return response
            try:
                status, body = await self._route(call)
            except ApiError as error:
                status, body = error.status, error.body
            except Exception:
                # A bug in the emulator must fail the test, not look like a Discord answer.
                self.violate("emulator-error", [Problem("", "EMULATOR_ERROR", traceback.format_exc())])
                status, body = 400, {"message": "emulator error (see the test's violations)", "code": 0}
            call.status, call.response = status, body
            self.calls.append(call)
            if status == 204:
                return web.Response(status=204)
            # Exactly application/json: discord.py parses JSON only for that content type, with no charset.
            return web.Response(
                status=status, body=json.dumps(body).encode(), content_type="application/json"
            )
        finally:
            self.inflight -= 1

    async def _route(self, call: RestCall) -> tuple[int, Any]:
        path_matched = False
        for route in self._routes:
            match = route.pattern.fullmatch(call.path)
            if match is None:
                continue
            path_matched = True
            if route.method != call.method:
                continue
            if route.needs_bot_auth and call.authorization != f"Bot {self.world.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            return await route.handler(call, **match.groupdict())
        if path_matched:
            raise ApiError(405, 0, "405: Method Not Allowed")
        # Not something Discord lacks, but something the emulator lacks: say so loudly.
        self.violate(
            "unsupported-route",
            [
                Problem(
                    "", "EMULATOR_UNSUPPORTED", f"the emulator does not implement {call.method} {call.path}"
                )
            ],
            call,
        )
        raise ApiError(404, 0, "404: Not Found")

    def _add(
        self,
        method: str,
        pattern: str,
        handler: Callable[..., Awaitable[tuple[int, Any]]],
        *,
        auth: bool = True,
    ) -> None:
        regex = re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", pattern)
        self._routes.append(_Route(method, re.compile(regex), handler, auth))

    def _add_routes(self) -> None:
        add = self._add
        add("GET", "/users/@me", self._get_me)
        add("GET", "/users/{user_id}", self._get_user)
        add("POST", "/users/@me/channels", self._open_dm)
        add("GET", "/oauth2/applications/@me", self._get_application)
        add("GET", "/applications/@me", self._get_application)
        add("GET", "/gateway", self._get_gateway)
        add("GET", "/gateway/bot", self._get_gateway_bot)
        # Commands.
        add("GET", "/applications/{app_id}/commands", self._list_commands)
        add("PUT", "/applications/{app_id}/commands", self._put_commands)
        add("POST", "/applications/{app_id}/commands", self._upsert_command)
        add("GET", "/applications/{app_id}/commands/{command_id}", self._get_command)
        add("PATCH", "/applications/{app_id}/commands/{command_id}", self._edit_command)
        add("DELETE", "/applications/{app_id}/commands/{command_id}", self._delete_command)
        add("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._list_commands)
        add("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands)
        add("POST", "/applications/{app_id}/guilds/{guild_id}/commands", self._upsert_command)
        add("GET", "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}", self._get_command)
        add("PATCH", "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}", self._edit_command)
        add("DELETE", "/applications/{app_id}/guilds/{guild_id}/commands/{command_id}", self._delete_command)
        # Guilds.
        add("GET", "/guilds/{guild_id}", self._get_guild)
        add("GET", "/guilds/{guild_id}/channels", self._get_guild_channels)
        add("GET", "/guilds/{guild_id}/roles", self._get_guild_roles)
        add("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member)
        # Channels and messages.
        add("GET", "/channels/{channel_id}", self._get_channel)
        add("PATCH", "/channels/{channel_id}", self._edit_channel)
        add("POST", "/channels/{channel_id}/typing", self._typing)
        add("GET", "/channels/{channel_id}/messages", self._history)
        add("POST", "/channels/{channel_id}/messages", self._create_message)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message)
        add("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me", self._add_reaction)
        add(
            "DELETE",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user_id}",
            self._remove_reaction,
        )
        add("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions", self._clear_reactions)
        add("POST", "/channels/{channel_id}/threads", self._create_thread)
        add("POST", "/channels/{channel_id}/messages/{message_id}/threads", self._create_thread_from_message)
        add("PUT", "/channels/{channel_id}/thread-members/@me", self._join_thread)
        add("DELETE", "/channels/{channel_id}/thread-members/@me", self._join_thread)
        # Interactions and their webhooks carry no Authorization header: the token in the path is the
        # credential.
        add("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback, auth=False)
        add("POST", "/webhooks/{app_id}/{token}", self._followup, auth=False)
        add("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_get, auth=False)
        add("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_edit, auth=False)
        add("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_delete, auth=False)

    # --- users, application, gateway ------------------------------------------------------------------------

    async def _get_me(self, call: RestCall) -> tuple[int, Any]:
        return 200, {**self.world.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0}

    async def _get_user(self, call: RestCall, user_id: str) -> tuple[int, Any]:
        user = self.world.users.get(_snowflake(user_id))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, user.payload()

    async def _open_dm(self, call: RestCall) -> tuple[int, Any]:
        user = self.world.users.get(_snowflake((call.json or {}).get("recipient_id")))
        if user is None:
            raise ApiError(400, 50035, "Invalid Form Body")
        return 200, self.world.open_dm(user).payload()

    async def _get_application(self, call: RestCall) -> tuple[int, Any]:
        return 200, self.world.application_payload()

    async def _get_gateway(self, call: RestCall) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, call: RestCall) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": self.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    # --- application commands -------------------------------------------------------------------------------

    def _command_scope(self, app_id: str, guild_id: str | None) -> int | None:
        if _snowflake(app_id) != self.world.application_id:
            raise ApiError(403, 50001, "Missing Access")
        if guild_id is None:
            return None
        scope = _snowflake(guild_id)
        if scope not in self.world.guilds:
            raise ApiError(403, 50001, "Missing Access")
        return scope

    def _stored_command(
        self, command: dict[str, Any], scope: int | None, existing: list[dict[str, Any]]
    ) -> dict[str, Any]:
        kind = command.get("type", 1)
        previous = next((c for c in existing if c["name"] == command["name"] and c["type"] == kind), None)
        self._command_versions += 1
        permissions = command.get("default_member_permissions")
        stored = {
            **command,
            "id": previous["id"] if previous else str(self.world.ids.next()),
            "application_id": str(self.world.application_id),
            "type": kind,
            "version": str(self._command_versions),
            "description": command.get("description") or "",
            "options": command.get("options") or [],
            "default_member_permissions": None if permissions is None else str(permissions),
            "nsfw": bool(command.get("nsfw")),
        }
        if scope is not None:
            stored["guild_id"] = str(scope)
        return stored

    async def _list_commands(
        self, call: RestCall, app_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        return 200, self.commands.get(self._command_scope(app_id, guild_id), [])

    async def _put_commands(
        self, call: RestCall, app_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        scope = self._command_scope(app_id, guild_id)
        self._reject("limits", limits.check_command_list(call.json), call)
        existing = self.commands.get(scope, [])
        self.commands[scope] = [self._stored_command(command, scope, existing) for command in call.json]
        return 200, self.commands[scope]

    async def _upsert_command(
        self, call: RestCall, app_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        scope = self._command_scope(app_id, guild_id)
        self._reject("limits", limits.check_command(call.json), call)
        existing = self.commands.setdefault(scope, [])
        stored = self._stored_command(call.json, scope, existing)
        self.commands[scope] = [c for c in existing if c["id"] != stored["id"]] + [stored]
        return 201, stored

    def _find_command_by_id(self, scope: int | None, command_id: str) -> dict[str, Any]:
        for command in self.commands.get(scope, []):
            if command["id"] == command_id:
                return command
        raise ApiError(404, 10063, "Unknown application command")

    async def _get_command(
        self, call: RestCall, app_id: str, command_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        return 200, self._find_command_by_id(self._command_scope(app_id, guild_id), command_id)

    async def _edit_command(
        self, call: RestCall, app_id: str, command_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        scope = self._command_scope(app_id, guild_id)
        current = self._find_command_by_id(scope, command_id)
        merged = {**current, **(call.json or {})}
        self._reject("limits", limits.check_command(merged), call)
        current.update(self._stored_command(merged, scope, self.commands[scope]))
        return 200, current

    async def _delete_command(
        self, call: RestCall, app_id: str, command_id: str, guild_id: str | None = None
    ) -> tuple[int, Any]:
        scope = self._command_scope(app_id, guild_id)
        self._find_command_by_id(scope, command_id)
        self.commands[scope] = [c for c in self.commands[scope] if c["id"] != command_id]
        return 204, None

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """The commands registered for a guild (or, with None, globally), as Discord stores them."""
        return list(self.commands.get(guild_id, []))

    def find_command(self, name: str, guild_id: int | None = None, *, kind: int = 1) -> dict[str, Any]:
        """A command by name and type (1 chat input, 3 message context menu): the guild's own first, then
        the global ones."""
        scopes = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name and command["type"] == kind:
                    return command
        known = sorted({c["name"] for scope in scopes for c in self.commands.get(scope, []) if c["type"] == kind})
        raise LookupError(f"no command {name!r} of type {kind} is registered (registered: {known})")

    # --- guilds and channels --------------------------------------------------------------------------------

    def _guild(self, guild_id: str) -> Guild:
        guild = self.world.guilds.get(_snowflake(guild_id))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, call: RestCall, guild_id: str) -> tuple[int, Any]:
        payload = self._guild(guild_id).create_payload()
        for key in (
            "channels",
            "threads",
            "members",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
        ):
            payload.pop(key, None)
        return 200, payload

    async def _get_guild_channels(self, call: RestCall, guild_id: str) -> tuple[int, Any]:
        guild = self._guild(guild_id)
        return 200, [channel.payload() for channel in guild.channels.values() if not channel.is_thread]

    async def _get_guild_roles(self, call: RestCall, guild_id: str) -> tuple[int, Any]:
        return 200, [role.payload() for role in self._guild(guild_id).roles.values()]

    async def _get_member(self, call: RestCall, guild_id: str, user_id: str) -> tuple[int, Any]:
        member = self._guild(guild_id).members.get(_snowflake(user_id))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, member.payload()

    def _channel(self, channel_id: str | int) -> Channel:
        channel = self.world.channels.get(_snowflake(channel_id))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _bot_member(self, guild: Guild | None) -> Member | None:
        return guild.members.get(self.world.bot_user.id) if guild else None

    def _require(self, channel: Any, permission: int) -> None:
        guild = self.world.guild_of(channel)
        member = self._bot_member(guild)
        if guild is None or member is None:
            return
        allowed = guild.permissions_in(member, channel)
        if not allowed & Perm.VIEW_CHANNEL:
            raise ApiError(403, 50001, "Missing Access")
        if allowed & permission != permission:
            raise ApiError(403, 50013, "Missing Permissions")

    async def _get_channel(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        return 200, self._channel(channel_id).payload()

    async def _edit_channel(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        channel = self._channel(channel_id)
        body = call.json or {}
        if "name" in body:
            self._reject("limits", limits.check_thread_name(body["name"]), call)
        if channel.is_thread:
            is_owner = channel.owner_id == self.world.bot_user.id
            if not is_owner and set(body) - {
                "archived",
                "locked",
                "name",
                "applied_tags",
                "auto_archive_duration",
            }:
                raise ApiError(400, 50035, "Invalid Form Body")
            if ("locked" in body or not is_owner) and set(body) & {"locked", "name", "applied_tags"}:
                self._require(channel, Perm.MANAGE_THREADS)
            if "applied_tags" in body:
                self._reject("limits", self._tag_problems(channel, body["applied_tags"]), call)
        else:
            self._require(channel, Perm.MANAGE_CHANNELS)
        for key in ("name", "archived", "locked", "auto_archive_duration", "topic"):
            if key in body:
                setattr(channel, key, body[key])
        if "applied_tags" in body:
            channel.applied_tags = [int(tag) for tag in body["applied_tags"]]
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        await self.gateway.dispatch(event, channel.payload(), guild_id=channel.guild_id, intent=INTENT_GUILDS)
        return 200, channel.payload()

    def _tag_problems(self, thread: Any, tags: Any) -> list[Problem]:
        parent = self.world.channels.get(thread.parent_id) if thread.parent_id else None
        known = {int(tag["id"]) for tag in parent.available_tags} if parent else set()
        problems: list[Problem] = []
        if len(tags) > limits.FORUM_TAGS_MAX:
            problems.append(Problem("applied_tags", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length."))
        if any(int(tag) not in known for tag in tags):
            problems.append(Problem("applied_tags", "FORUM_TAG_UNKNOWN", "Unknown forum tag"))
        return problems

    async def _typing(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        self._channel(channel_id)
        return 204, None

    # --- messages -------------------------------------------------------------------------------------------

    def message(self, message_id: int) -> StoredMessage:
        return self.messages[message_id]

    def channel_messages(self, channel_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        return [
            message
            for message in self.messages.values()
            if message.channel_id == channel_id and (include_deleted or not message.deleted)
        ]

    def bot_messages(self, channel_id: int | None = None, *, since: int = 0) -> list[StoredMessage]:
        """Messages the bot created (in one channel, or anywhere) since a `created_messages.mark()`."""
        bot_id = self.world.bot_user.id
        return [
            message
            for message in self.created_messages.items[since:]
            if message.author_id == bot_id and (channel_id is None or message.channel_id == channel_id)
        ]

    def _stored(self, channel_id: str | int, message_id: str | int) -> StoredMessage:
        message = self.messages.get(_snowflake(message_id))
        if message is None or message.deleted or message.channel_id != _snowflake(channel_id):
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _mentions(
        self, content: str, guild: Guild | None, allowed: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        parse = {"users"} if allowed is None else set(allowed.get("parse") or [])
        listed = set() if allowed is None else {str(user) for user in allowed.get("users") or []}
        found = []
        for user_id in mentioned_user_ids(content):
            user = self.world.users.get(user_id)
            if user is None or ("users" not in parse and str(user_id) not in listed):
                continue
            payload = user.payload()
            if guild and (member := guild.members.get(user_id)):
                payload["member"] = member.payload(with_user=False)
            found.append(payload)
        return found

    def _new_message(
        self,
        channel: Any,
        author: User,
        body: dict[str, Any],
        *,
        files: list[UploadedFile] | None = None,
        message_type: int = 0,
        flags: int = 0,
        interaction: InteractionRecord | None = None,
        message_id: int | None = None,
    ) -> StoredMessage:
        guild = self.world.guild_of(channel)
        content = body.get("content") or ""
        allowed = body.get("allowed_mentions")
        # A member's mentions always resolve; the bot's follow its allowed_mentions (everything when absent).
        from_bot = author.id == self.world.bot_user.id
        roles_ping = not from_bot or allowed is None or "roles" in (allowed.get("parse") or [])
        data: dict[str, Any] = {
            "id": str(message_id or self.world.ids.next()),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": content,
            "timestamp": iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": self._mentions(content, guild, allowed if from_bot else None),
            "mention_roles": [str(role) for role in mentioned_role_ids(content)] if roles_ping else [],
            "attachments": self._attachments(files or [], channel.id),
            "embeds": [{"type": "rich", **embed} for embed in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "type": message_type,
            "flags": flags | ((body.get("flags") or 0) & ~MESSAGE_FLAG_EPHEMERAL),
            "components": body.get("components") or [],
        }
        if guild is not None:
            data["guild_id"] = str(guild.id)
            member = guild.members.get(author.id)
            if member is not None:
                data["member"] = member.payload(with_user=False)
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            referenced = self.messages.get(_snowflake(reference["message_id"]))
            data["type"] = 19
            data["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id") or channel.id),
                "guild_id": str(guild.id) if guild else None,
            }
            if referenced is not None:
                data["referenced_message"] = {
                    k: v for k, v in referenced.data.items() if k != "referenced_message"
                }
        if interaction is not None:
            data["application_id"] = str(self.world.application_id)
            data["webhook_id"] = str(self.world.application_id)
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": {"0": str(interaction.guild_id)}
                if interaction.guild_id
                else {},
            }
        stored = StoredMessage(
            data,
            ephemeral=bool((flags | (body.get("flags") or 0)) & MESSAGE_FLAG_EPHEMERAL),
            interaction_id=interaction.id if interaction else None,
        )
        if stored.ephemeral:
            data["flags"] |= MESSAGE_FLAG_EPHEMERAL
        self.messages[stored.id] = stored
        if channel.is_thread:
            channel.message_count += 1
        self.created_messages.append(stored)
        return stored

    def _attachments(
        self, files: list[UploadedFile] | list[MemberAttachment], channel_id: int
    ) -> list[dict[str, Any]]:
        attachments = []
        for file in files:
            attachment_id = self.world.ids.next()
            filename = file.filename or "file"
            self.attachment_files[attachment_id] = (file.content_type, file.data)
            url = self._signed_url(f"/attachments/{channel_id}/{attachment_id}/{urllib.parse.quote(filename)}")
            attachment: dict[str, Any] = {
                "id": str(attachment_id),
                "filename": filename,
                "size": len(file.data),
                "url": url,
                "proxy_url": url,
                "content_type": file.content_type,
            }
            if isinstance(file, MemberAttachment):
                if file.width is not None and file.height is not None:
                    attachment.update(width=file.width, height=file.height)
                if file.url is not None:
                    attachment.update(url=file.url, proxy_url=file.url)
            attachments.append(attachment)
        return attachments

    def _url_signature(self, path: str, expires: str, issued: str) -> str:
        return hmac.new(self._url_key, f"{path}?ex={expires}&is={issued}".encode(), hashlib.sha256).hexdigest()

    def _signed_url(self, path: str) -> str:
        issued = int(time.time())
        expires, issued_hex = f"{issued + ATTACHMENT_URL_LIFETIME:x}", f"{issued:x}"
        signature = self._url_signature(path, expires, issued_hex)
        return f"{self.base_url}{path}?ex={expires}&is={issued_hex}&hm={signature}&"

    async def _serve_attachment(self, request: web.Request) -> web.StreamResponse:
        """GET an attachment as Discord's CDN does: its bytes with content type and length, if the URL's
        signature holds and has not expired; 404 otherwise."""
        self.attachment_downloads.append(request.path_qs)
        query = request.query
        expected = self._url_signature(request.path, query.get("ex", ""), query.get("is", ""))
        attachment_id = request.match_info["attachment_id"]
        stored = self.attachment_files.get(int(attachment_id)) if attachment_id.isdigit() else None
        expires = query.get("ex", "")
        fresh = re.fullmatch(r"[0-9a-f]{1,16}", expires) is not None and int(expires, 16) >= time.time()
        if stored is None or not fresh or not hmac.compare_digest(expected, query.get("hm", "")):
            return web.Response(status=404, text="This content is no longer available.")
        content_type, data = stored
        return web.Response(body=data, content_type=content_type or "application/octet-stream")

    async def _announce(self, event: str, message: StoredMessage) -> None:
        if message.ephemeral:
            return
        channel = self.world.channels[message.channel_id]
        await self.gateway.dispatch(
            event,
            message.data,
            guild_id=channel.guild_id,
            intent=message_intent(channel.type),
            transform=message_event_transform(self.world.bot_user.id),
        )

    async def _history(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        channel = self._channel(channel_id)
        self._require(channel, Perm.READ_MESSAGE_HISTORY)
        limit = int(call.query.get("limit", 50))
        messages = sorted(self.channel_messages(channel.id), key=lambda m: m.id, reverse=True)
        if "before" in call.query:
            messages = [m for m in messages if m.id < int(call.query["before"])]
        if "after" in call.query:
            messages = [m for m in messages if m.id > int(call.query["after"])]
        return 200, [m.data for m in messages if not m.ephemeral][:limit]

    async def _create_message(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        channel = self._channel(channel_id)
        if channel.type not in MESSAGEABLE_TYPES:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        needed = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
        self._require(channel, needed | (Perm.ATTACH_FILES if call.files else 0))
        if channel.is_thread and channel.locked:
            self._require(channel, Perm.MANAGE_THREADS)
        body = call.json if isinstance(call.json, dict) else {}
        reference = body.get("message_reference") or {}
        self._check_message_body(call, call.json, is_reply=bool(reference))
        if limits.is_empty_message(body, files=len(call.files)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if reference.get("message_id") and _snowflake(reference["message_id"]) not in self.messages:
            if reference.get("fail_if_not_exists", True):
                problem = Problem("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
                raise ApiError(400, 50035, "Invalid Form Body", body=limits.form_error([problem]))
            body = {**body, "message_reference": None}
        if channel.archived and not channel.locked:
            channel.archived = False
        message = self._new_message(channel, self.world.bot_user, body, files=call.files)
        await self._announce("MESSAGE_CREATE", message)
        return 200, message.data

    async def _get_message(self, call: RestCall, channel_id: str, message_id: str) -> tuple[int, Any]:
        return 200, self._stored(channel_id, message_id).data

    def _apply_edit(
        self, call: RestCall, message: StoredMessage, body: dict[str, Any], *, prefix: str = ""
    ) -> None:
        self._check_message_body(call, body, prefix=prefix)
        updated = dict(message.data)
        for key in ("content", "components"):
            if key in body:
                updated[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "embeds" in body:
            updated["embeds"] = [{"type": "rich", **embed} for embed in body["embeds"] or []]
        if "attachments" in body:
            kept = {str(a.get("id")) for a in body["attachments"] or []}
            updated["attachments"] = [a for a in message.data.get("attachments") or [] if a["id"] in kept]
        updated["attachments"] = (updated.get("attachments") or []) + self._attachments(
            call.files, message.channel_id
        )
        updated["flags"] = (message.flags & ~MESSAGE_FLAG_LOADING) | ((body.get("flags") or 0) & (1 << 2))
        if limits.is_empty_message(updated):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if not message.flags & MESSAGE_FLAG_LOADING:
            updated["edited_timestamp"] = iso()
        message.edits.append(message.data)
        message.data = updated
        self.edited_messages.append(message)

    async def _edit_message(self, call: RestCall, channel_id: str, message_id: str) -> tuple[int, Any]:
        message = self._stored(channel_id, message_id)
        body = call.json if isinstance(call.json, dict) else {}
        if message.author_id != self.world.bot_user.id:
            if set(body) - {"flags"}:
                raise ApiError(403, 50005, "Cannot edit a message authored by another user")
            self._require(self.world.channels[message.channel_id], Perm.MANAGE_MESSAGES)
        self._apply_edit(call, message, body)
        await self._announce("MESSAGE_UPDATE", message)
        return 200, message.data

    async def _remove(self, message: StoredMessage) -> None:
        message.deleted = True
        if message.ephemeral:
            return
        channel = self.world.channels[message.channel_id]
        data = {"id": str(message.id), "channel_id": str(channel.id)}
        if channel.guild_id:
            data["guild_id"] = str(channel.guild_id)
        await self.gateway.dispatch(
            "MESSAGE_DELETE", data, guild_id=channel.guild_id, intent=message_intent(channel.type)
        )

    async def _delete_message(self, call: RestCall, channel_id: str, message_id: str) -> tuple[int, Any]:
        message = self._stored(channel_id, message_id)
        if message.author_id != self.world.bot_user.id:
            self._require(self.world.channels[message.channel_id], Perm.MANAGE_MESSAGES)
        await self._remove(message)
        return 204, None

    # --- reactions ------------------------------------------------------------------------------------------

    @staticmethod
    def _emoji(raw: str) -> dict[str, Any]:
        text = urllib.parse.unquote(raw)
        name, _, emoji_id = text.partition(":")
        return {"id": emoji_id or None, "name": name}

    async def _react(self, message: StoredMessage, emoji: dict[str, Any], user: User, *, add: bool) -> None:
        reactions = message.data.setdefault("reactions", [])
        entry = next(
            (
                r
                for r in reactions
                if r["emoji"]["name"] == emoji["name"] and r["emoji"].get("id") == emoji["id"]
            ),
            None,
        )
        users: set[int] = set(entry.get("_users", [])) if entry else set()
        if add == (user.id in users):
            return
        users = users | {user.id} if add else users - {user.id}
        if entry is None:
            entry = {
                "emoji": emoji,
                "count": 0,
                "me": False,
                "burst_count": 0,
                "me_burst": False,
                "burst_colors": [],
                "count_details": {"burst": 0, "normal": 0},
            }
            reactions.append(entry)
        entry["_users"] = sorted(users)
        entry["count"] = len(users)
        entry["count_details"]["normal"] = len(users)
        entry["me"] = self.world.bot_user.id in users
        if not users:
            reactions.remove(entry)
        channel = self.world.channels[message.channel_id]
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(channel.id),
            "message_id": str(message.id),
            "emoji": emoji,
            "burst": False,
            "type": 0,
        }
        guild = self.world.guild_of(channel)
        if guild is not None:
            data["guild_id"] = str(guild.id)
            if add and (member := guild.members.get(user.id)):
                data["member"] = member.payload()
        if add:
            data["message_author_id"] = str(message.author_id)
        intent = INTENT_GUILD_MESSAGE_REACTIONS if guild else INTENT_DIRECT_MESSAGE_REACTIONS
        event = "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE"
        await self.gateway.dispatch(event, data, guild_id=channel.guild_id, intent=intent)

    async def _add_reaction(
        self, call: RestCall, channel_id: str, message_id: str, emoji: str
    ) -> tuple[int, Any]:
        message = self._stored(channel_id, message_id)
        self._require(self.world.channels[message.channel_id], Perm.ADD_REACTIONS | Perm.READ_MESSAGE_HISTORY)
        await self._react(message, self._emoji(emoji), self.world.bot_user, add=True)
        return 204, None

    async def _remove_reaction(
        self, call: RestCall, channel_id: str, message_id: str, emoji: str, user_id: str
    ) -> tuple[int, Any]:
        message = self._stored(channel_id, message_id)
        user = self.world.bot_user if user_id == "@me" else self.world.users.get(_snowflake(user_id))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        if user is not self.world.bot_user:
            self._require(self.world.channels[message.channel_id], Perm.MANAGE_MESSAGES)
        await self._react(message, self._emoji(emoji), user, add=False)
        return 204, None

    async def _clear_reactions(self, call: RestCall, channel_id: str, message_id: str) -> tuple[int, Any]:
        message = self._stored(channel_id, message_id)
        self._require(self.world.channels[message.channel_id], Perm.MANAGE_MESSAGES)
        message.data["reactions"] = []
        return 204, None

    # --- threads --------------------------------------------------------------------------------------------

    async def _announce_thread(self, thread: Any) -> None:
        await self.gateway.dispatch(
            "THREAD_CREATE",
            {**thread.payload(), "newly_created": True},
            guild_id=thread.guild_id,
            intent=INTENT_GUILDS,
        )

    async def _create_thread(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        parent = self._channel(channel_id)
        guild = self.world.guild_of(parent)
        body = call.json if isinstance(call.json, dict) else {}
        self._reject("limits", limits.check_thread_name(body.get("name")), call)
        if guild is None or parent.type not in (
            ChannelType.GUILD_TEXT,
            ChannelType.GUILD_ANNOUNCEMENT,
            ChannelType.GUILD_FORUM,
        ):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if parent.type == ChannelType.GUILD_FORUM:
            self._require(parent, Perm.SEND_MESSAGES)
            starter = body.get("message")
            if not isinstance(starter, dict):
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    body=limits.form_error(
                        [Problem("message", "BASE_TYPE_REQUIRED", "This field is required")]
                    ),
                )
            self._check_message_body(call, starter, prefix="message")
            if limits.is_empty_message(starter, files=len(call.files)):
                raise ApiError(400, 50006, "Cannot send an empty message")
            tags = body.get("applied_tags") or []
            message_id = self.world.ids.next()
            thread = guild.add_thread(parent, body["name"], owner=self.world.bot_user, thread_id=message_id)
            self._reject("limits", self._tag_problems(thread, tags), call)
            thread.applied_tags = [int(tag) for tag in tags]
            await self._announce_thread(thread)
            message = self._new_message(
                thread, self.world.bot_user, starter, files=call.files, message_id=message_id
            )
            await self._announce("MESSAGE_CREATE", message)
            return 201, {**thread.payload(), "message": message.data}
        kind = ChannelType(body.get("type", ChannelType.PRIVATE_THREAD))
        self._require(
            parent,
            Perm.CREATE_PRIVATE_THREADS if kind == ChannelType.PRIVATE_THREAD else Perm.CREATE_PUBLIC_THREADS,
        )
        thread = guild.add_thread(parent, body["name"], owner=self.world.bot_user, kind=kind)
        await self._announce_thread(thread)
        return 201, thread.payload()

    async def _create_thread_from_message(
        self, call: RestCall, channel_id: str, message_id: str
    ) -> tuple[int, Any]:
        parent = self._channel(channel_id)
        message = self._stored(channel_id, message_id)
        guild = self.world.guild_of(parent)
        body = call.json if isinstance(call.json, dict) else {}
        self._reject("limits", limits.check_thread_name(body.get("name")), call)
        if guild is None or parent.is_thread or parent.type == ChannelType.GUILD_FORUM:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if any(channel.id == message.id for channel in self.world.channels.values()):
            raise ApiError(400, 160004, "A thread has already been created for this message")
        self._require(parent, Perm.CREATE_PUBLIC_THREADS)
        thread = guild.add_thread(parent, body["name"], owner=self.world.bot_user, thread_id=message.id)
        message.data["thread"] = thread.payload()
        await self._announce_thread(thread)
        return 201, thread.payload()

    async def _join_thread(self, call: RestCall, channel_id: str) -> tuple[int, Any]:
        if not self._channel(channel_id).is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return 204, None

    # --- interactions ---------------------------------------------------------------------------------------

    def _interaction_by_token(self, app_id: str, token: str) -> InteractionRecord:
        if _snowflake(app_id) == self.world.application_id:
            for record in self.interactions.values():
                if record.token == token:
                    return record
        raise ApiError(404, 10015, "Unknown Webhook")

    async def _interaction_callback(self, call: RestCall, interaction_id: str, token: str) -> tuple[int, Any]:
        record = self.interactions.get(_snowflake(interaction_id))
        if record is None or record.token != token:
            raise ApiError(404, 10062, "Unknown interaction")
        if record.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        age = asyncio.get_running_loop().time() - record.created
        if age > self.interaction_ack_timeout:
            self.violate(
                "interaction-timeout",
                [
                    Problem(
                        "",
                        "UNKNOWN_INTERACTION",
                        f"{record.label} answered after {age:.2f}s; Discord allows "
                        f"{self.interaction_ack_timeout:g}s (defer first)",
                    )
                ],
                call,
            )
            raise ApiError(404, 10062, "Unknown interaction")
        body = call.json if isinstance(call.json, dict) else {}
        callback_type = body.get("type")
        data = body.get("data") or {}
        if callback_type not in _CALLBACKS_ALLOWED.get(record.type, set()) or (
            callback_type in (6, 7) and record.source_message_id is None
        ):
            problem = Problem(
                "type",
                "INTERACTION_RESPONSE_TYPE_INVALID",
                f"callback type {callback_type} is not valid for {record.label}",
            )
            self._reject("interaction-response", [problem], call)
        channel = self.world.channels[record.channel_id]
        message: StoredMessage | None = None
        if callback_type == 4:
            self._check_message_body(call, data, prefix="data")
            if limits.is_empty_message(data, files=len(call.files)):
                raise ApiError(400, 50006, "Cannot send an empty message")
            message = self._new_message(
                channel,
                self.world.bot_user,
                data,
                files=call.files,
                message_type=20 if record.type == APPLICATION_COMMAND else 0,
                interaction=record,
            )
            record.original_message_id = message.id
        elif callback_type == 5:
            message = self._new_message(
                channel,
                self.world.bot_user,
                {"flags": data.get("flags") or 0},
                flags=MESSAGE_FLAG_LOADING,
                message_type=20 if record.type == APPLICATION_COMMAND else 0,
                interaction=record,
            )
            record.original_message_id = message.id
        elif callback_type == 6:
            record.original_message_id = record.source_message_id
        elif callback_type == 7:
            assert record.source_message_id is not None
            message = self.messages[record.source_message_id]
            self._apply_edit(call, message, data, prefix="data")
            record.original_message_id = message.id
        elif callback_type == 8:
            self._reject("limits", limits.check_autocomplete(data), call)
            record.choices = list(data["choices"])
        elif callback_type == 9:
            self._reject("limits", limits.check_modal(data), call)
            record.modal = data
        record.response_type = callback_type
        record.response = body
        if message is not None:
            await self._announce("MESSAGE_UPDATE" if callback_type == 7 else "MESSAGE_CREATE", message)
        if call.query.get("with_response") not in ("1", "true", "True"):
            return 204, None
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(record.id),
                "type": record.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": callback_type == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            }
        }
        if message is not None:
            answer["resource"] = {"type": callback_type, "message": message.data}
        return 200, answer

    async def _followup(self, call: RestCall, app_id: str, token: str) -> tuple[int, Any]:
        record = self._interaction_by_token(app_id, token)
        if record.response_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")
        body = call.json if isinstance(call.json, dict) else {}
        self._check_message_body(call, body)
        if limits.is_empty_message(body, files=len(call.files)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        channel = self.world.channels[record.channel_id]
        if (
            record.response_type == 5
            and record.original_message_id
            and self.messages[record.original_message_id].flags & MESSAGE_FLAG_LOADING
        ):
            # Discord turns the first follow-up after a deferral into the original response.
            message = self.messages[record.original_message_id]
            self._apply_edit(call, message, body)
            await self._announce("MESSAGE_UPDATE", message)
        else:
            message = self._new_message(
                channel, self.world.bot_user, body, files=call.files, interaction=record
            )
            await self._announce("MESSAGE_CREATE", message)
        record.followup_ids.append(message.id)
        if call.query.get("wait") in ("1", "true", "True"):
            return 200, message.data
        return 204, None

    def _webhook_message(self, record: InteractionRecord, message_id: str) -> StoredMessage:
        if message_id == "@original":
            if record.original_message_id is None:
                raise ApiError(404, 10008, "Unknown Message")
            return self.messages[record.original_message_id]
        message = self.messages.get(_snowflake(message_id))
        allowed = {record.original_message_id, *record.followup_ids}
        if message is None or message.deleted or message.id not in allowed:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    async def _webhook_get(self, call: RestCall, app_id: str, token: str, message_id: str) -> tuple[int, Any]:
        record = self._interaction_by_token(app_id, token)
        return 200, self._webhook_message(record, message_id).data

    async def _webhook_edit(
        self, call: RestCall, app_id: str, token: str, message_id: str
    ) -> tuple[int, Any]:
        record = self._interaction_by_token(app_id, token)
        message = self._webhook_message(record, message_id)
        self._apply_edit(call, message, call.json if isinstance(call.json, dict) else {})
        await self._announce("MESSAGE_UPDATE", message)
        return 200, message.data

    async def _webhook_delete(
        self, call: RestCall, app_id: str, token: str, message_id: str
    ) -> tuple[int, Any]:
        record = self._interaction_by_token(app_id, token)
        await self._remove(self._webhook_message(record, message_id))
        return 204, None

    def unanswered_interactions(self) -> list[InteractionRecord]:
        """Interactions the bot never acknowledged (Discord would show "This interaction failed")."""
        return [r for r in self.interactions.values() if r.response_type is None and not r.expect_no_response]

    # --- injecting what members do --------------------------------------------------------------------------

    def _member_of(self, guild: Guild | None, user: User) -> Member | None:
        if guild is None:
            return None
        member = guild.members.get(user.id)
        if member is None:
            raise ValueError(f"{user.username} is not a member of {guild.name}")
        return member

    async def inject_message(
        self,
        content: str,
        *,
        author: User,
        channel: Any,
        reply_to: StoredMessage | None = None,
        embeds: list[dict[str, Any]] | None = None,
        attachments: list[MemberAttachment] | None = None,
    ) -> StoredMessage:
        """A member posts a message (MESSAGE_CREATE). `<@id>` mentions in the content are resolved as Discord
        does; `attachments` are served at the URLs the message gives for them."""
        guild = self.world.guild_of(channel)
        self._member_of(guild, author)
        if channel.type not in MESSAGEABLE_TYPES:
            raise ValueError(f"members cannot post in {channel.name!r} directly (type {channel.type!r})")
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if len(attachments or []) > limits.FILES_MAX or any(
            len(file.data) > ATTACHMENT_SIZE_LIMIT for file in attachments or []
        ):
            raise ValueError(
                f"Discord takes at most {limits.FILES_MAX} files of {ATTACHMENT_SIZE_LIMIT} bytes each"
            )
        if reply_to is not None:
            body["message_reference"] = {
                "message_id": str(reply_to.id),
                "channel_id": str(reply_to.channel_id),
            }
        message = self._new_message(channel, author, body)
        if attachments:
            message.data["attachments"] = self._attachments(attachments, channel.id)
        # A reply mentions the replied-to author unless they are the same person (Discord's default for
        # members).
        if reply_to is not None and reply_to.author_id != author.id:
            replied = self.world.users[reply_to.author_id]
            if all(m["id"] != str(replied.id) for m in message.data["mentions"]):
                payload = replied.payload()
                if guild and (member := guild.members.get(replied.id)):
                    payload["member"] = member.payload(with_user=False)
                message.data["mentions"].append(payload)
        await self._announce("MESSAGE_CREATE", message)
        return message

    async def inject_edit(self, message: StoredMessage, content: str) -> StoredMessage:
        message.edits.append(message.data)
        message.data = {**message.data, "content": content, "edited_timestamp": iso()}
        self.edited_messages.append(message)
        await self._announce("MESSAGE_UPDATE", message)
        return message

    async def inject_delete(self, message: StoredMessage) -> None:
        await self._remove(message)

    async def inject_reaction(
        self, message: StoredMessage, emoji: str, *, user: User, add: bool = True
    ) -> None:
        await self._react(message, self._emoji(emoji), user, add=add)

    async def inject_thread(
        self, parent: Any, name: str, *, owner: User, from_message: StoredMessage | None = None
    ) -> Any:
        """A member opens a thread in a text channel (optionally from a message): THREAD_CREATE."""
        guild = self.world.guild_of(parent)
        assert guild is not None
        thread = guild.add_thread(
            parent, name, owner=owner, thread_id=from_message.id if from_message else None
        )
        await self._announce_thread(thread)
        return thread

    async def inject_forum_post(
        self,
        forum: Any,
        title: str,
        content: str,
        *,
        author: User,
        tags: tuple[str, ...] = (),
        attachments: list[MemberAttachment] | None = None,
    ) -> tuple[Any, StoredMessage]:
        """A member opens a forum post: THREAD_CREATE, then the starter message (same id as the thread), with
        `attachments` served as `inject_message` serves them."""
        guild = self.world.guild_of(forum)
        assert guild is not None
        assert forum.type == ChannelType.GUILD_FORUM
        self._member_of(guild, author)
        message_id = self.world.ids.next()
        thread = guild.add_thread(
            forum, title, owner=author, thread_id=message_id, applied_tags=[forum.tag_id(tag) for tag in tags]
        )
        await self._announce_thread(thread)
        message = self._new_message(thread, author, {"content": content}, message_id=message_id)
        if attachments:
            message.data["attachments"] = self._attachments(attachments, thread.id)
        await self._announce("MESSAGE_CREATE", message)
        return thread, message

    async def announce_guild(self, guild: Guild) -> None:
        """The bot joins a guild added to the world after it connected: GUILD_CREATE."""
        await self.gateway.dispatch(
            "GUILD_CREATE", guild.create_payload(), guild_id=guild.id, intent=INTENT_GUILDS
        )

    def _interaction_payload(
        self, kind: int, data: dict[str, Any], user: User, channel: Any, message: StoredMessage | None = None
    ) -> tuple[InteractionRecord, dict[str, Any]]:
        guild = self.world.guild_of(channel)
        member = self._member_of(guild, user)
        interaction_id = self.world.ids.next()
        token = unique_token(f"interaction-{interaction_id}")
        channel_payload = channel.payload()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.world.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "data": data,
        }
        if guild is not None and member is not None:
            permissions = guild.permissions_in(member, channel)
            channel_payload["permissions"] = str(permissions)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member={**member.payload(), "permissions": str(permissions)},
                app_permissions=str(guild.permissions_in(guild.members[self.world.bot_user.id], channel)),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(user=user.payload(), authorizing_integration_owners={"1": str(user.id)}, context=1)
        if message is not None:
            payload["message"] = message.data
        label = {
            APPLICATION_COMMAND: f"/{data.get('name')}"
            if data.get("type", 1) == 1
            else f"context menu {data.get('name')!r}",
            AUTOCOMPLETE: f"autocomplete for /{data.get('name')}",
            MESSAGE_COMPONENT: f"component {data.get('custom_id')!r}",
            MODAL_SUBMIT: f"modal {data.get('custom_id')!r}",
        }[kind]
        record = InteractionRecord(
            interaction_id,
            token,
            kind,
            payload,
            asyncio.get_running_loop().time(),
            channel.id,
            guild.id if guild else None,
            user,
            label,
            source_message_id=message.id if message else None,
        )
        self.interactions[interaction_id] = record
        return record, payload

    async def _send_interaction(
        self, record: InteractionRecord, payload: dict[str, Any]
    ) -> InteractionRecord:
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=record.guild_id)
        return record

    def _check_command_permission(self, command: dict[str, Any], user: User, channel: Any) -> None:
        guild = self.world.guild_of(channel)
        required = command.get("default_member_permissions")
        if guild is None or required is None:
            return
        member = self._member_of(guild, user)
        assert member is not None
        have = guild.permissions_in(member, channel)
        if int(required) == 0 or have & int(required) != int(required):
            raise CommandNotAvailable(
                f"{user.username} cannot use {command['name']!r}: "
                f"it needs permissions {required}, they have {have}"
            )

    def _resolve_value(
        self, option: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]], guild: Guild | None
    ) -> Any:
        kind = option["type"]
        name = option["name"]

        def add_user(user: User) -> str:
            resolved.setdefault("users", {})[str(user.id)] = user.payload()
            if guild and (member := guild.members.get(user.id)):
                resolved.setdefault("members", {})[str(user.id)] = {
                    **member.payload(with_user=False),
                    "permissions": str(guild.permissions_in(member, None)),
                }
            return str(user.id)

        def add_role(role: Role) -> str:
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)

        if kind == OPTION_STRING:
            if not isinstance(value, str):
                raise TypeError(f"option {name!r} takes a string, not {value!r}")
            low, high = option.get("min_length", 0), option.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise ValueError(f"option {name!r}: Discord's client only accepts {low}-{high} characters")
        elif kind == OPTION_INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"option {name!r} takes an integer, not {value!r}")
        elif kind == OPTION_NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"option {name!r} takes a number, not {value!r}")
        elif kind == OPTION_BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"option {name!r} takes a boolean, not {value!r}")
        elif kind == OPTION_USER or (kind == OPTION_MENTIONABLE and isinstance(value, User | Member)):
            user = value.user if isinstance(value, Member) else value
            if not isinstance(user, User):
                raise TypeError(f"option {name!r} takes a user")
            return add_user(user)
        elif kind == OPTION_ROLE or (kind == OPTION_MENTIONABLE and isinstance(value, Role)):
            if not isinstance(value, Role):
                raise TypeError(f"option {name!r} takes a role")
            return add_role(value)
        elif kind == OPTION_CHANNEL:
            channel = (
                value
                if hasattr(value, "type") and hasattr(value, "payload")
                else self.world.channels.get(int(value))
            )
            if channel is None:
                raise TypeError(f"option {name!r} takes a channel")
            allowed_types = option.get("channel_types")
            if allowed_types and int(channel.type) not in allowed_types:
                raise ValueError(f"option {name!r} only accepts channel types {allowed_types}")
            resolved.setdefault("channels", {})[str(channel.id)] = {
                "id": str(channel.id),
                "name": channel.name,
                "type": int(channel.type),
                "permissions": str((1 << 40) - 1),
                **(
                    {
                        "parent_id": str(channel.parent_id),
                        "thread_metadata": channel.payload().get("thread_metadata"),
                    }
                    if channel.is_thread
                    else {}
                ),
            }
            return str(channel.id)
        else:
            raise NotImplementedError(f"option type {kind} is not emulated")
        if (low := option.get("min_value")) is not None and value < low:
            raise ValueError(f"option {name!r}: Discord's client refuses values below {low}")
        if (high := option.get("max_value")) is not None and value > high:
            raise ValueError(f"option {name!r}: Discord's client refuses values above {high}")
        choices = option.get("choices")
        if choices and value not in [choice["value"] for choice in choices]:
            raise ValueError(f"option {name!r} must be one of its choices {[c['value'] for c in choices]}")
        return value

    def _build_options(
        self,
        definitions: list[dict[str, Any]],
        given: dict[str, Any],
        resolved: dict[str, dict[str, Any]],
        guild: Guild | None,
        *,
        focused: str | None = None,
    ) -> list[dict[str, Any]]:
        by_name = {definition["name"]: definition for definition in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; the command has {sorted(by_name)}")
        built = []
        for definition in definitions:
            name = definition["name"]
            if name not in given:
                if definition.get("required") and focused is None:
                    raise ValueError(f"option {name!r} is required")
                continue
            if name == focused:
                built.append(
                    {"name": name, "type": definition["type"], "value": given[name], "focused": True}
                )
                continue
            value = self._resolve_value(definition, given[name], resolved, guild)
            built.append({"name": name, "type": definition["type"], "value": value})
        return built

    def _command_data(
        self,
        name: str,
        options: dict[str, Any],
        user: User,
        channel: Any,
        *,
        force: bool,
        focused: str | None = None,
    ) -> dict[str, Any]:
        guild = self.world.guild_of(channel)
        words = name.split()
        command = self.find_command(words[0], guild.id if guild else None)
        if not force:
            self._check_command_permission(command, user, channel)
        resolved: dict[str, dict[str, Any]] = {}
        definitions = command.get("options") or []
        container: list[dict[str, Any]] = []
        top = container
        for word in words[1:]:
            sub = next((o for o in definitions if o["name"] == word and o["type"] in (1, 2)), None)
            if sub is None:
                raise LookupError(f"/{words[0]} has no subcommand {word!r}")
            entry: dict[str, Any] = {"name": word, "type": sub["type"], "options": []}
            container.append(entry)
            container = entry["options"]
            definitions = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in definitions):
            raise LookupError(f"/{name} needs a subcommand: {[o['name'] for o in definitions]}")
        container.extend(self._build_options(definitions, options, resolved, guild, focused=focused))
        if focused is not None and not any(o.get("focused") for o in _flatten_options(top)):
            raise ValueError(f"the focused option {focused!r} needs a value (the text typed so far)")
        data: dict[str, Any] = {"id": command["id"], "name": words[0], "type": 1, "options": top}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return data

    async def inject_slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: User,
        channel: Any,
        force: bool = False,
    ) -> InteractionRecord:
        """A member runs a slash command; `name` may name a subcommand ("kb reload"). Values are checked
        against the registered options (types, choices, ranges, required) as Discord's client would. A member
        without the command's default member permissions raises CommandNotAvailable unless `force`."""
        data = self._command_data(name, options or {}, user, channel, force=force)
        record, payload = self._interaction_payload(APPLICATION_COMMAND, data, user, channel)
        return await self._send_interaction(record, payload)

    async def inject_message_command(
        self, name: str, target: StoredMessage, *, user: User, force: bool = False
    ) -> InteractionRecord:
        """A member picks Apps → `name` on `target`: a MESSAGE command (type 3) run in the target's channel,
        with the message itself in `data.resolved.messages`, as Discord sends it. Permissions as for
        `inject_slash`."""
        if target.deleted:
            raise ValueError(f"message {target.id} was deleted")
        if target.ephemeral:
            raise ValueError("an ephemeral message has no context menu")
        channel = self.world.channels[target.channel_id]
        guild = self.world.guild_of(channel)
        command = self.find_command(name, guild.id if guild else None, kind=limits.MESSAGE_COMMAND)
        if not force:
            self._check_command_permission(command, user, channel)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": limits.MESSAGE_COMMAND,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): target.data}},
        }
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        record, payload = self._interaction_payload(APPLICATION_COMMAND, data, user, channel)
        return await self._send_interaction(record, payload)

    async def inject_raw(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: User,
        channel: Any,
        message: StoredMessage | None = None,
        message_payload: dict[str, Any] | None = None,
    ) -> InteractionRecord:
        """An interaction whose `data` goes out exactly as given, checked against nothing: what a modified
        client, a forged request or a stale command definition delivers to the bot. `message_payload`
        replaces the message's stored payload (components the bot never sent, say)."""
        record, payload = self._interaction_payload(kind, data, user, channel, message)
        if message_payload is not None:
            payload["message"] = message_payload
        return await self._send_interaction(record, payload)

    async def inject_autocomplete(
        self, name: str, focused: str, options: dict[str, Any], *, user: User, channel: Any
    ) -> InteractionRecord:
        """A member types into option `focused` (its text so far is `options[focused]`)."""
        data = self._command_data(name, options, user, channel, force=True, focused=focused)
        record, payload = self._interaction_payload(AUTOCOMPLETE, data, user, channel)
        return await self._send_interaction(record, payload)

    async def inject_component(
        self, message: StoredMessage, custom_id: str, *, user: User, values: list[str] | None = None
    ) -> InteractionRecord:
        """A member clicks a button or picks from a select on a message, as Discord's client allows."""
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        component = message.component(custom_id)
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        kind = component["type"]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
        if kind == limits.BUTTON:
            if values is not None:
                raise ValueError("a button takes no values")
            if component.get("style") == limits.LINK_STYLE:
                raise ValueError("link buttons open a URL and send no interaction")
        elif kind in limits.SELECT_TYPES:
            values = list(values or [])
            low, high = component.get("min_values", 1), component.get("max_values", 1)
            if not low <= len(values) <= high:
                raise ValueError(f"select {custom_id!r} takes {low}-{high} values")
            if kind == limits.STRING_SELECT:
                offered = [option["value"] for option in component.get("options") or []]
                if not set(values) <= set(offered):
                    raise ValueError(f"select {custom_id!r} offers only {offered}")
            data["values"] = values
        else:
            raise ValueError(f"component {custom_id!r} (type {kind}) cannot be used")
        channel = self.world.channels[message.channel_id]
        record, payload = self._interaction_payload(MESSAGE_COMPONENT, data, user, channel, message)
        return await self._send_interaction(record, payload)

    async def inject_modal_submit(
        self, opened_by: InteractionRecord, values: dict[str, str], *, user: User | None = None
    ) -> InteractionRecord:
        """A member fills in and submits the modal that answered `opened_by` (callback type 9)."""
        modal = opened_by.modal
        if modal is None:
            raise ValueError(f"{opened_by.label} was not answered with a modal")
        fields: dict[str, dict[str, Any]] = {}

        def submitted(component: dict[str, Any]) -> dict[str, Any]:
            custom_id = component.get("custom_id")
            fields[custom_id] = component
            value = values.get(custom_id, component.get("value") or "")
            if component.get("required", True) and not value:
                raise ValueError(f"modal field {custom_id!r} is required")
            low, high = (
                component.get("min_length", 0),
                component.get("max_length", limits.TEXT_INPUT_VALUE_MAX),
            )
            if value and not low <= len(value) <= high:
                raise ValueError(f"modal field {custom_id!r} takes {low}-{high} characters")
            return {"type": component["type"], "custom_id": custom_id, "value": value}

        rows = []
        for index, row in enumerate(modal.get("components") or []):
            if row.get("type") == limits.ACTION_ROW:
                rows.append(
                    {"type": 1, "components": [submitted(child) for child in row.get("components") or []]}
                )
            elif row.get("type") == limits.LABEL:
                rows.append({"type": limits.LABEL, "id": index + 1, "component": submitted(row["component"])})
        unknown = set(values) - set(fields)
        if unknown:
            raise ValueError(f"the modal has no fields {sorted(unknown)}; it has {sorted(fields)}")
        data = {"custom_id": modal["custom_id"], "components": rows}
        channel = self.world.channels[opened_by.channel_id]
        source = self.messages.get(opened_by.source_message_id) if opened_by.source_message_id else None
        record, payload = self._interaction_payload(
            MODAL_SUBMIT, data, user or opened_by.user, channel, source
        )
        return await self._send_interaction(record, payload)


def _flatten_options(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    flat = []
    for option in options:
        flat.append(option)
        flat.extend(_flatten_options(option.get("options") or []))
    return flat


def _snowflake(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(404, 0, "404: Not Found") from None
