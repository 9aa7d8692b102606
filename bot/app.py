"""The app factory: the one place that builds the Discord bot, for `guidenest run` and the e2e tests."""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import logging
import math
from typing import TYPE_CHECKING, Any, NoReturn

import discord
import yarl
from discord.ext import commands

from bot.conversation import Conversation
from bot.coordination import Coordination, open_coordination
from bot.coordination.events import GUILD_CONFIG_CHANGED, KNOWLEDGE_RELOADED, RESYNC, Event
from bot.health import DependencyCheck, HealthServer, HealthStatus
from bot.knowledge.learned import GuildMatchers
from bot.knowledge.loader import KnowledgeError
from bot.knowledge.service import KnowledgeService, ReloadReport
from bot.metrics import Metrics
from bot.storage import Storage

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from bot.ocr.service import Screenshots
    from bot.probe.guard import ProbeLimits
    from bot.settings import Settings

log = logging.getLogger(__name__)

MISS_PURGE_INTERVAL_SECONDS = 24 * 60 * 60
# The names discord.py gives the tasks it runs for an event, a slash command, a view, a modal or a dynamic item.
HANDLER_TASK_PREFIXES: tuple[str, ...] = (
    "discord.py: ",
    "CommandTree-invoker",
    "discord-ui-view-dispatch",
    "discord-ui-modal-dispatch",
    "discord-ui-dynamic-item",
)
# How long a shutdown waits for handlers already running (an answer being recorded, a probe finishing).
HANDLERS_GRACE_SECONDS = 10.0
# Seconds before each retry of a 503: discord.py's pauses for a 500, and as many tries (5).
RETRY_503_DELAYS: tuple[float, ...] = (1.0, 3.0, 5.0, 7.0)

# Cogs, loaded in this order at start.
EXTENSIONS: tuple[str, ...] = (
    "bot.exts.errors",  # first: the error replies every command relies on
    "bot.exts.feedback",  # registers the persistent 👍/👎 and suggestion components
    "bot.exts.answers",
    "bot.exts.ask",
    "bot.exts.find_answer",  # the "Find an answer" and "Post an answer" message context menus
    "bot.exts.lookup",
    "bot.exts.help",
    "bot.exts.config",
    "bot.exts.maintenance",
    "bot.exts.probe",
)


def point_client_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the configured endpoints.

    Both are process-wide class attributes in discord.py, read whenever a route or a connection is made.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def reconnect_on_garbled_frames() -> None:
    """Make a gateway frame that is not a JSON object cost a reconnect instead of the process.

    discord.py ends a shard for good on any exception it does not expect while reading a frame, and the bot
    with it. Here such a frame closes that connection and RESUMEs the session: Discord replays what was
    missed. Process-wide, like the endpoints above, and installed once.
    """
    socket_class = discord.gateway.DiscordWebSocket
    if getattr(socket_class.received_message, "tolerates_garbled_frames", False):
        return
    read_frame = socket_class.received_message

    async def received_message(ws: discord.gateway.DiscordWebSocket, msg: Any, /) -> None:
        if type(msg) is bytes:
            try:
                msg = ws._decompressor.decompress(msg)
            except Exception:  # noqa: BLE001 - zlib's, zstd's or UTF-8's error: the stream is broken either way
                await _drop_garbled(ws, msg)
            if msg is None:
                return  # the first part of a compressed frame
        try:
            await read_frame(ws, msg)
        except (ValueError, AttributeError, TypeError):
            if _is_json_object(msg):
                raise  # the frame was fine: handling it failed, which discord.py reports as before
            await _drop_garbled(ws, msg)

    received_message.tolerates_garbled_frames = True  # type: ignore[attr-defined]
    socket_class.received_message = received_message  # type: ignore[method-assign]


async def _drop_garbled(ws: discord.gateway.DiscordWebSocket, frame: str | bytes) -> NoReturn:
    log.warning(
        "shard %s: the gateway sent a frame that is not a JSON object (%s); reconnecting",
        ws.shard_id,
        repr(frame[:60]) + ("…" if len(frame) > 60 else ""),
    )
    await ws.close(code=4000)  # not 1000: the session stays resumable
    raise discord.gateway.ReconnectWebSocket(ws.shard_id, resume=True)


def retry_service_unavailable(http: discord.http.HTTPClient) -> None:
    """Retry a 503 as discord.py retries 500, 502 and 504 (RETRY_503_DELAYS).

    discord.py hands a 503 straight to the caller, yet Discord sends it while briefly overloaded, as it sends
    the others: without this, one 503 on a message create loses the answer.
    """
    request = http.request

    async def request_retrying_503(
        route: discord.http.Route,
        *,
        files: Sequence[discord.File] | None = None,
        form: Iterable[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        failed = 0
        while True:
            try:
                return await request(route, files=files, form=form, **kwargs)
            except discord.DiscordServerError as exc:
                failed += 1
                if exc.status != 503 or failed > len(RETRY_503_DELAYS):
                    raise
            delay = RETRY_503_DELAYS[failed - 1]
            log.info("%s %s answered 503; retrying in %.0f s", route.method, route.path, delay)
            await asyncio.sleep(delay)
            for file in files or ():
                file.reset()  # the failed attempt read it to the end

    http.request = request_retrying_503  # type: ignore[method-assign]


def freeze_long_lived_objects() -> None:
    """Leave what was just built (the knowledge, its index and re-ranker, the cogs) out of future collections.

    The garbage collector's full passes walk every tracked object; with the knowledge loaded one takes 0.2-0.4 s,
    and each such pause held every message behind it (the p99 of benchmarks/throughput.py). Frozen objects are
    still freed by reference counting; unfreezing first lets this collection reclaim cycles of the knowledge a
    reload replaced.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class GuideNestBot(commands.AutoShardedBot):
    # Opened by open_services (`guidenest run` calls it before login; setup_hook opens what is missing),
    # closed in close().
    storage: Storage
    knowledge: KnowledgeService
    guild_matchers: GuildMatchers
    conversation: Conversation
    # The answer limits, the probe guard and the broadcast: this process's own, or shared through Redis.
    coordination: Coordination
    probe_guard: ProbeLimits
    # Reads the text of screenshots; None when OCR is not installed (logged once at start).
    screenshots: Screenshots | None

    def __init__(self, settings: Settings, **client_options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: passive answers read the text of help messages
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            # The bot never pings anyone, whatever text it echoes.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids or None,  # type: ignore[arg-type]  # None = all; typed too narrowly
            # Extra discord.py client options, e.g. the tests' short guild_ready_timeout.
            **client_options,
        )
        retry_service_unavailable(self.http)
        self.settings = settings
        self.metrics = Metrics()
        self.health_server: HealthServer | None = None
        self._purge_task: asyncio.Task[None] | None = None
        # One knowledge reload at a time, whether asked here (/kb reload) or by another process.
        self._reloading = asyncio.Lock()

    async def on_message(self, message: discord.Message, /) -> None:
        """The bot has no text commands: the answers cog reads messages; nothing is parsed as a command."""

    async def setup_hook(self) -> None:
        await self.open_services()
        if self.is_closed():
            return  # a shutdown request arrived during start
        for extension in EXTENSIONS:
            # Imported once per process and set up on each bot: load_extension would execute the module
            # afresh for every bot (it is made for hot reloading, which the bot does not do).
            await importlib.import_module(extension).setup(self)
        if self.settings.dev_guild:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        freeze_long_lived_objects()

    # --- services: knowledge, storage, health endpoint, miss retention -------------------------------------

    async def open_services(self) -> None:
        """Load the knowledge (unless given), open the database, start the health endpoint when configured.

        Raises KnowledgeError, StorageError or HealthServerError with a message for the operator.
        """
        if "knowledge" not in vars(self):
            # Reading and indexing the files blocks; keep the event loop (and the gateway heartbeat) free.
            self.knowledge = await asyncio.to_thread(KnowledgeService, self.settings.knowledge_dir)
        if self.is_closed():
            return  # shut down while the knowledge loaded: open nothing more
        if "coordination" not in vars(self):
            self.coordination = await open_coordination(self.settings, self.metrics, self._on_shared_event)
            self.probe_guard = self.coordination.probe_guard
        if "storage" not in vars(self) or self.storage.closed:
            self.storage = await Storage.open(self.settings.database_target)
            # What moderators taught each server, read from the storage just opened as servers ask.
            self.guild_matchers = GuildMatchers(
                self.storage, lambda: self.knowledge.current, capacity=self.settings.learned_matchers
            )
            # Every decision about answering; it records into the storage just opened.
            self.conversation = Conversation(
                lambda: self.knowledge.current,
                self.storage,
                self.metrics,
                guild_matchers=self.guild_matchers,
                throttle=self.coordination.throttle,
            )
        if "screenshots" not in vars(self):
            self.screenshots = self._open_screenshots()
        if self.settings.health_port is not None and self.health_server is None:
            checks = [DependencyCheck("database", self.storage.ping, details={"backend": self.storage.backend})]
            link = self.coordination.link
            if link is not None:
                # Optional: without Redis the bot answers (local limits) and only refuses probes: "degraded".
                checks.append(DependencyCheck("redis", link.ping, required=False))
            server = HealthServer(
                self.health_status,
                self.metrics,
                host=self.settings.health_host,
                port=self.settings.health_port,
                checks=checks,
            )
            await server.start()
            self.health_server = server
        if self._purge_task is None:
            self._purge_task = asyncio.create_task(self._purge_misses_daily(), name="guidenest: purge misses")

    def _open_screenshots(self) -> Screenshots | None:
        from bot.ocr import OcrUnavailableError
        from bot.ocr.service import open_screenshots

        try:
            return open_screenshots(self.settings, self.metrics)
        except OcrUnavailableError as exc:
            log.warning("screenshots are not read (text questions are answered as usual): %s", exc)
            return None

    async def _purge_misses_daily(self) -> None:
        """Drop misses past the retention period: once at start, then every day."""
        while True:
            try:
                removed = await self.storage.purge_expired(self.settings.miss_retention_days)
                if removed:
                    log.info("removed %d expired misses", removed)
            except Exception:
                log.exception("purging expired misses failed; trying again in a day")
            await asyncio.sleep(MISS_PURGE_INTERVAL_SECONDS)

    async def close_services(self) -> None:
        """Stop what open_services started; safe to call twice or after a partial start."""
        task, self._purge_task = self._purge_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        guild_matchers = vars(self).get("guild_matchers")
        if guild_matchers is not None:
            await guild_matchers.close()
        storage = vars(self).get("storage")
        if storage is not None:
            await storage.close()
        server, self.health_server = self.health_server, None
        if server is not None:
            await server.stop()
        screenshots = vars(self).pop("screenshots", None)
        if screenshots is not None:
            await screenshots.close()
        coordination = vars(self).pop("coordination", None)
        if coordination is not None:
            await coordination.close()

    # --- knowledge reloads and settings changes, here and from the other processes --------------------------

    async def reload_knowledge(self, *, announce: bool = True) -> ReloadReport:
        """Reload the knowledge files (KnowledgeError: the old knowledge stays) and rebuild the servers' own
        matchers; with `announce`, have the other processes reload too."""
        async with self._reloading:
            # Reading and indexing files is blocking work: keep the gateway heartbeat going meanwhile.
            report = await asyncio.to_thread(self.knowledge.reload)
            # Servers' own matchers were built on the old knowledge: never used again, rebuilt.
            self.guild_matchers.reloaded()
        freeze_long_lived_objects()
        if announce:
            await self.coordination.announce_reload()
        return report

    async def guild_config_changed(self, guild_id: int) -> None:
        """A server's settings changed here: drop the cached copy in this process and in the others."""
        self.dispatch("guild_config_changed", guild_id)
        await self.coordination.announce_guild_config(guild_id)

    async def _on_shared_event(self, event: Event) -> None:
        if event.kind == GUILD_CONFIG_CHANGED and event.guild_id is not None:
            self.dispatch("guild_config_changed", event.guild_id)
        elif event.kind == RESYNC:
            # Events sent while Redis was unreachable were lost: forget every cached setting, and reload if
            # another process reloaded meanwhile.
            self.dispatch("guild_config_changed", None)
            if event.generation is not None and event.generation != self.coordination.generation:
                await self._reload_for_another_process(event.generation)
        elif event.kind == KNOWLEDGE_RELOADED and event.generation != self.coordination.generation:
            await self._reload_for_another_process(event.generation)

    async def _reload_for_another_process(self, generation: int | None) -> None:
        try:
            report = await self.reload_knowledge(announce=False)
        except KnowledgeError as exc:
            errors = [p for p in exc.problems if p.severity == "error"]
            log.warning(
                "another process reloaded the knowledge, but the files here have %d error(s); still answering "
                "from the previous knowledge",
                len(errors),
            )
            return
        self.coordination.generation = generation
        log.info("knowledge reloaded because another process reloaded it: %d answers", report.entries)

    async def close(self) -> None:
        """Close the gateway connection first (no new events), let the handlers already running finish (an
        answer just sent still records its row), then close the database and the health endpoint."""
        try:
            await super().close()
            await self._let_handlers_finish()
        finally:
            await self.close_services()

    async def _let_handlers_finish(self) -> None:
        current = asyncio.current_task()
        running = [
            task
            for task in asyncio.all_tasks()
            if task is not current and not task.done() and task.get_name().startswith(HANDLER_TASK_PREFIXES)
        ]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=HANDLERS_GRACE_SECONDS)
        if pending:
            log.warning(
                "%d handler(s) still running after %.0f s; closing the database under them",
                len(pending),
                HANDLERS_GRACE_SECONDS,
            )

    def health_status(self) -> HealthStatus:
        knowledge = vars(self).get("knowledge")
        shards = self.shards
        connected = (
            self.is_ready()
            and not self.is_closed()
            and bool(shards)
            and not any(shard.is_closed() for shard in shards.values())
        )
        latency = self.latency  # inf before the first heartbeat is acknowledged, nan without shards
        return HealthStatus(
            gateway_connected=connected,
            latency_seconds=latency if connected and math.isfinite(latency) else None,
            knowledge_loaded=knowledge is not None,
            knowledge_entries=len(knowledge.current.knowledge.entries) if knowledge is not None else 0,
        )


def create_bot(settings: Settings, **client_options: Any) -> GuideNestBot:
    point_client_at(settings.discord_api_base, settings.discord_gateway_url)
    reconnect_on_garbled_frames()
    return GuideNestBot(settings, **client_options)
