"""Runs the bot built by the app factory against the emulator, and gives tests short verbs to drive it.

See the docstring of tests/e2e/conftest.py for how tests use it.
"""

# ruff: noqa: ASYNC109 - the harness's waits take a timeout so their failure can say what was awaited and seen.

from __future__ import annotations

import asyncio
import copy
import logging
from typing import TYPE_CHECKING, Any

from bot.app import HANDLER_TASK_PREFIXES, GuideNestBot, create_bot
from bot.knowledge.service import KnowledgeService
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Settings
from tests.e2e.emulator.state import MESSAGE_FLAG_LOADING, Channel, DefaultWorld, User

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.e2e.emulator import DiscordEmulator, InteractionRecord, MemberAttachment, RestCall, StoredMessage


# discord.py names the tasks that run handlers; settle() waits for these.
GUILD_READY_TIMEOUT = 0.02
DEFAULT_TIMEOUT = 5.0

_shipped_knowledge: KnowledgeService | None = None


def shipped_knowledge() -> KnowledgeService:
    """The shipped knowledge, loaded once per test session (loading and indexing takes most of a second).

    Each bot gets its own shallow copy, so a reload in one test replaces only that copy's snapshot.
    """
    global _shipped_knowledge  # noqa: PLW0603 - a per-process cache
    if _shipped_knowledge is None:
        _shipped_knowledge = KnowledgeService(DEFAULT_KNOWLEDGE_DIR)
    return copy.copy(_shipped_knowledge)


class LogGuard(logging.Handler):
    """Collects ERROR records from discord.py and the bot: handler exceptions are otherwise only logged."""

    LOGGERS = ("discord", "bot", "asyncio")

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).addHandler(self)

    def uninstall(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def take(self, predicate: Callable[[logging.LogRecord], bool] | None = None) -> list[logging.LogRecord]:
        """Return and forget the records (all, or the matching) when a test provokes an error on purpose."""
        taken = [record for record in self.records if predicate is None or predicate(record)]
        self.records = [record for record in self.records if record not in taken]
        return taken

    def report(self) -> str:
        formatter = logging.Formatter("%(name)s: %(message)s")
        return "\n".join(
            formatter.format(record)
            + ("\n" + formatter.formatException(record.exc_info) if record.exc_info else "")
            for record in self.records
        )


class Interaction:
    """An injected interaction, and what the bot answered."""

    def __init__(self, emulator: DiscordEmulator, record: InteractionRecord) -> None:
        self.emulator = emulator
        self.record = record
        self._edits_mark = emulator.edited_messages.mark()

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def response_type(self) -> int | None:
        """The callback type the bot answered with (4 message, 5 deferred, 6 deferred update, 7 update, 8
        choices, 9 modal), or None."""
        return self.record.response_type

    def expect_no_response(self) -> None:
        """Exempt this interaction from the teardown check that every interaction was acknowledged."""
        self.record.expect_no_response = True

    async def ack(self, timeout: float = DEFAULT_TIMEOUT) -> RestCall:
        """Wait for the bot's callback; fail if Discord would have refused it."""
        path = f"/interactions/{self.record.id}/{self.record.token}/callback"
        call = await self.emulator.calls.wait_for(
            lambda c: c.path == path and c.fault is None,
            timeout=timeout,
            what=f"the callback for {self.record.label}",
        )
        if call.status >= 300:
            raise AssertionError(
                f"the callback for {self.record.label} was refused: {call.status} {call.response}"
            )
        return call

    async def reply(self, timeout: float = DEFAULT_TIMEOUT) -> StoredMessage:
        """The message the bot showed: the reply (type 4), the deferred reply once edited or followed up (type
        5), or the component's message once updated (types 7, and 6 followed by an edit)."""
        await self.ack(timeout)
        record = self.record
        if record.response_type in (4, 7):
            assert record.original_message_id is not None
            return self.emulator.messages[record.original_message_id]
        if record.response_type == 5:
            assert record.original_message_id is not None
            original = record.original_message_id
            return await self.emulator.edited_messages.wait_for(
                lambda m: m.id == original and not m.flags & MESSAGE_FLAG_LOADING,
                timeout=timeout,
                what=f"the deferred reply to {record.label}",
            )
        if record.response_type == 6:
            source = record.source_message_id
            return await self.emulator.edited_messages.wait_for(
                lambda m: m.id == source,
                since=self._edits_mark,
                timeout=timeout,
                what=f"an edit of the message after {record.label}",
            )
        raise AssertionError(f"{record.label} was answered with type {record.response_type}, not a message")

    async def followup(self, number: int = 1, timeout: float = DEFAULT_TIMEOUT) -> StoredMessage:
        """The bot's n-th follow-up message (1-based)."""
        await self.ack(timeout)
        await self.emulator.calls.wait_for(
            lambda c: len(self.record.followup_ids) >= number, timeout=timeout, what=f"follow-up #{number}"
        )
        return self.emulator.messages[self.record.followup_ids[number - 1]]

    async def choices(self, timeout: float = DEFAULT_TIMEOUT) -> list[dict[str, Any]]:
        await self.ack(timeout)
        if self.record.choices is None:
            raise AssertionError(f"{self.record.label} was answered with type {self.record.response_type}")
        return self.record.choices

    async def modal(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        await self.ack(timeout)
        if self.record.modal is None:
            raise AssertionError(
                f"{self.record.label} was answered with type {self.record.response_type}, not a modal"
            )
        return self.record.modal


class BotHarness:
    """The bot from `create_bot(settings)` (what `guidenest run` starts), connected to the emulator."""

    def __init__(self, emulator: DiscordEmulator, settings: Settings, log_guard: LogGuard) -> None:
        self.emulator = emulator
        self.settings = settings
        self.log_guard = log_guard
        self.bot: GuideNestBot | None = None
        self.starts = 0
        # Give each bot the knowledge loaded once per session (see shipped_knowledge); False loads it anew.
        self.share_knowledge = True
        self._connect_task: asyncio.Task[None] | None = None
        world = emulator.world
        self.default_user: User | None = world.member if isinstance(world, DefaultWorld) else None
        self.default_channel: Channel | None = world.help if isinstance(world, DefaultWorld) else None

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def world(self) -> Any:
        return self.emulator.world

    @property
    def faults(self) -> Any:
        return self.emulator.faults

    @property
    def gateway(self) -> Any:
        return self.emulator.gateway

    def build(self, **client_options: Any) -> GuideNestBot:
        """Build (not start) the bot, so a test can add commands, listeners or views before it logs in."""
        if self.bot is not None and self._connect_task is not None:
            raise RuntimeError("the bot is running; stop() it first")
        client_options.setdefault("guild_ready_timeout", GUILD_READY_TIMEOUT)
        self.bot = create_bot(self.settings, **client_options)
        if self.share_knowledge and self.settings.knowledge_dir == DEFAULT_KNOWLEDGE_DIR:
            # setup_hook loads the knowledge only when the bot has none yet.
            self.bot.knowledge = shipped_knowledge()
        return self.bot

    def skip_identify_wait(self) -> list[bool]:
        """discord.py waits 5 s before every IDENTIFY but the first (`before_identify_hook`, for Discord's
        identify rate limit). For tests that provoke a fresh IDENTIFY or start several shards: skip the wait,
        and return the list of `initial` flags the hook was called with."""
        assert self.bot is not None, "build() the bot first"
        calls: list[bool] = []

        async def record_only(shard_id: int | None, *, initial: bool = False) -> None:
            calls.append(initial)

        self.bot.before_identify_hook = record_only  # type: ignore[method-assign]
        return calls

    async def start(self, timeout: float = 10.0) -> GuideNestBot:
        """Log in (which runs setup_hook: extensions and command sync), connect, and wait until ready."""
        bot = self.bot if self.bot is not None and self._connect_task is None else self.build()
        token = self.settings.discord_token
        assert token is not None
        await bot.login(token.get_secret_value())
        self._connect_task = asyncio.create_task(bot.connect(), name="e2e: bot.connect")
        ready = asyncio.create_task(bot.wait_until_ready(), name="e2e: wait_until_ready")
        done, _ = await asyncio.wait(
            {ready, self._connect_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            connect, self._connect_task = self._connect_task, None
            if connect in done:
                connect.result()  # raises what stopped it
                raise AssertionError("the bot disconnected before it was ready")
            connect.cancel()
            raise AssertionError(f"the bot was not ready within {timeout}s")
        self.starts += 1
        return bot

    async def stop(self) -> None:
        """Let running handlers finish, then close the bot (clean gateway close, HTTP session closed)."""
        bot, task = self.bot, self._connect_task
        if bot is None:
            return
        try:
            if task is not None and not task.done():
                await self.settle()
        finally:
            await bot.close()
            self._connect_task = None
            if task is not None:
                await task

    async def restart(self, **client_options: Any) -> GuideNestBot:
        """Stop the bot and start a new one from the factory, against the same emulator and database."""
        await self.stop()
        self.bot = None
        self.build(**client_options)
        return await self.start()

    async def settle(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the bot has read every gateway event sent so far, the emulator has answered every
        request, and no event handler, command, view or modal callback is still running."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < 3:
            current = asyncio.current_task()
            busy = [
                task
                for task in asyncio.all_tasks()
                if task is not current
                and not task.done()
                and task.get_name().startswith(HANDLER_TASK_PREFIXES)
            ]
            behind = self._events_unread()
            if not busy and not behind and not self.emulator.inflight:
                quiet += 1
                await asyncio.sleep(0)
                continue
            quiet = 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                names = sorted(task.get_name() for task in busy)
                raise AssertionError(
                    f"the bot did not settle within {timeout}s: running {names}, "
                    f"unread events on shards {behind}, {self.emulator.inflight} requests in flight"
                )
            if busy:
                await asyncio.wait(busy, timeout=min(remaining, 0.05))
            else:
                await asyncio.sleep(0.002)

    def _events_unread(self) -> list[int]:
        if self.bot is None or self._connect_task is None:
            return []
        sent = self.emulator.gateway.client_sequences()
        behind = []
        for shard_id, shard in self.bot.shards.items():
            ws = shard._parent.ws
            if (ws.sequence or 0) < sent.get(shard_id, 0):
                behind.append(shard_id)
        return behind

    async def wait_for_event(
        self, event: str, trigger: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Run `trigger()` (sync or async) and wait for the bot to dispatch `event` ("resumed", "ready"…)."""
        assert self.bot is not None
        waiter = asyncio.ensure_future(self.bot.wait_for(event, timeout=timeout))
        await asyncio.sleep(0)
        result = trigger()
        if asyncio.iscoroutine(result):
            await result
        return await waiter

    # --- injecting ------------------------------------------------------------------------------------------

    def _user(self, user: Any) -> User:
        chosen = user if user is not None else self.default_user
        if chosen is None:
            raise ValueError("no user given and the world has no default user")
        return chosen.user if hasattr(chosen, "user") and not isinstance(chosen, User) else chosen

    def _channel(self, channel: Any) -> Channel:
        chosen = channel if channel is not None else self.default_channel
        if chosen is None:
            raise ValueError("no channel given and the world has no default channel")
        return chosen

    async def send_message(
        self,
        content: str,
        *,
        channel: Channel | None = None,
        author: User | None = None,
        mention_bot: bool = False,
        reply_to: StoredMessage | None = None,
    ) -> StoredMessage:
        """A member posts `content` (in the help channel, as `member`, by default); `mention_bot` prefixes
        `<@bot>`; `reply_to` makes it a reply (to a bot message, say)."""
        if mention_bot:
            content = f"{self.world.bot_user.mention} {content}"
        return await self.emulator.inject_message(
            content, author=self._user(author), channel=self._channel(channel), reply_to=reply_to
        )

    async def create_forum_post(
        self,
        title: str,
        content: str,
        *,
        forum: Channel | None = None,
        author: User | None = None,
        tags: tuple[str, ...] = (),
        attachments: list[MemberAttachment] | None = None,
    ) -> tuple[Channel, StoredMessage]:
        return await self.emulator.inject_forum_post(
            forum or self.world.forum, title, content, author=self._user(author), tags=tags, attachments=attachments
        )

    async def create_thread(
        self,
        name: str,
        *,
        parent: Channel | None = None,
        owner: User | None = None,
        from_message: StoredMessage | None = None,
    ) -> Channel:
        return await self.emulator.inject_thread(
            self._channel(parent), name, owner=self._user(owner), from_message=from_message
        )

    async def slash(
        self,
        name: str,
        *,
        user: User | None = None,
        channel: Channel | None = None,
        force: bool = False,
        options: dict[str, Any] | None = None,
        **named_options: Any,
    ) -> Interaction:
        """Run `/name` ("kb reload" for a subcommand) with options as keywords (or `options={…}` for names
        that clash with these parameters)."""
        record = await self.emulator.inject_slash(
            name,
            {**(options or {}), **named_options},
            user=self._user(user),
            channel=self._channel(channel),
            force=force,
        )
        return Interaction(self.emulator, record)

    async def autocomplete(
        self,
        name: str,
        focused: str,
        *,
        user: User | None = None,
        channel: Channel | None = None,
        options: dict[str, Any] | None = None,
        **named_options: Any,
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while a member types into option `focused` (value: the text so far)."""
        record = await self.emulator.inject_autocomplete(
            name,
            focused,
            {**(options or {}), **named_options},
            user=self._user(user),
            channel=self._channel(channel),
        )
        return await Interaction(self.emulator, record).choices()

    async def click(self, message: StoredMessage, custom_id: str, *, user: User | None = None) -> Interaction:
        record = await self.emulator.inject_component(message, custom_id, user=self._user(user))
        return Interaction(self.emulator, record)

    async def select(
        self, message: StoredMessage, custom_id: str, values: list[str], *, user: User | None = None
    ) -> Interaction:
        record = await self.emulator.inject_component(
            message, custom_id, user=self._user(user), values=values
        )
        return Interaction(self.emulator, record)

    async def submit_modal(
        self, opened_by: Interaction, values: dict[str, str], *, user: User | None = None
    ) -> Interaction:
        await opened_by.modal()
        record = await self.emulator.inject_modal_submit(
            opened_by.record, values, user=self._user(user) if user else None
        )
        return Interaction(self.emulator, record)

    async def react(
        self, message: StoredMessage, emoji: str, *, user: User | None = None, add: bool = True
    ) -> None:
        await self.emulator.inject_reaction(message, emoji, user=self._user(user), add=add)

    # --- waiting and reading --------------------------------------------------------------------------------

    async def wait_for_call(
        self,
        predicate: Callable[[RestCall], bool] | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        since: int = 0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RestCall:
        """The first REST call (from `since`, a `calls.mark()`) with this method, path regex (`{id}` = any
        snowflake) and predicate."""

        def matches(call: RestCall) -> bool:
            return call.matches(method, path) and (predicate is None or predicate(call))

        what = " ".join(part for part in (method, path) if part) or "a matching call"
        return await self.emulator.calls.wait_for(matches, since=since, timeout=timeout, what=what)

    async def wait_for_bot_message(
        self,
        channel: Channel | int | None = None,
        *,
        since: int = 0,
        predicate: Callable[[StoredMessage], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> StoredMessage:
        """The first message the bot creates (in `channel`, if given) after `since` (a
        `created_messages.mark()`)."""
        bot_id = self.world.bot_user.id
        channel_id = channel if isinstance(channel, int) or channel is None else channel.id

        def matches(message: StoredMessage) -> bool:
            return (
                message.author_id == bot_id
                and (channel_id is None or message.channel_id == channel_id)
                and (predicate is None or predicate(message))
            )

        return await self.emulator.created_messages.wait_for(
            matches, since=since, timeout=timeout, what="a bot message"
        )

    async def wait_for_reply(self, message: StoredMessage, timeout: float = DEFAULT_TIMEOUT) -> StoredMessage:
        """The bot's answer to `message`: its next message in that channel, or in a thread opened on it."""
        since = next((i for i, m in enumerate(self.emulator.created_messages.items) if m.id == message.id), 0)
        return await self.wait_for_bot_message(
            since=since,
            predicate=lambda m: m.channel_id in (message.channel_id, message.id),
            timeout=timeout,
        )

    async def expect_no_bot_message(self, since: int, channel: Channel | None = None) -> None:
        """Settle, then fail if the bot created any message (in `channel`) since the mark."""
        await self.settle()
        made = self.emulator.bot_messages(channel.id if channel else None, since=since)
        assert not made, f"the bot should have stayed silent, but sent: {[str(m) for m in made]}"

    def commands(self, guild: Any = "default") -> list[dict[str, Any]]:
        """Registered commands: of the dev guild by default, of a guild (object or id), or global (None)."""
        if guild == "default":
            guild = self.settings.dev_guild
        guild_id = guild if guild is None or isinstance(guild, int) else guild.id
        return self.emulator.registered_commands(guild_id)

    def command(self, name: str, guild: Any = "default") -> dict[str, Any]:
        for command in self.commands(guild):
            if command["name"] == name:
                return command
        raise LookupError(
            f"/{name} is not registered; registered: {[c['name'] for c in self.commands(guild)]}"
        )


def bot_failures(emulator: DiscordEmulator, log_guard: LogGuard) -> list[str]:
    """What makes a test fail once its bot has stopped: unacknowledged interactions and ERROR log records."""
    failures = []
    unanswered = emulator.unanswered_interactions()
    if unanswered:
        failures.append(
            "interactions never acknowledged (Discord shows 'This interaction failed'): "
            + ", ".join(record.label for record in unanswered)
        )
    if log_guard.records:
        failures.append(f"ERROR records were logged:\n{log_guard.report()}")
    return failures


def violation_failures(emulator: DiscordEmulator) -> list[str]:
    """What makes a test fail once the emulator has stopped: requests that broke Discord's rules."""
    if not emulator.violations:
        return []
    listed = "\n".join(f"  {violation}" for violation in emulator.violations)
    return [f"the bot's requests broke Discord's rules:\n{listed}"]
