"""The app factory: the one place that builds the Discord bot, for `guidenest run` and the e2e tests."""

from __future__ import annotations

import asyncio
import importlib
import logging
import math
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.ext import commands

from bot.health import HealthServer, HealthStatus
from bot.knowledge.service import KnowledgeService
from bot.metrics import Metrics
from bot.storage import Storage

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

MISS_PURGE_INTERVAL_SECONDS = 24 * 60 * 60

# Cogs, loaded in this order at start.
EXTENSIONS: tuple[str, ...] = (
    "bot.exts.errors",  # first: the error replies every command relies on
    "bot.exts.feedback",  # registers the persistent 👍/👎 and suggestion components
    "bot.exts.answers",
    "bot.exts.ask",
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


class GuideNestBot(commands.AutoShardedBot):
    # Opened by open_services (`guidenest run` calls it before login; setup_hook opens what is missing),
    # closed in close().
    storage: Storage
    knowledge: KnowledgeService

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
        self.settings = settings
        self.metrics = Metrics()
        self.health_server: HealthServer | None = None
        self._purge_task: asyncio.Task[None] | None = None

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
        if "storage" not in vars(self) or self.storage.closed:
            self.storage = await Storage.open(self.settings.database_path)
        if self.settings.health_port is not None and self.health_server is None:
            server = HealthServer(
                self.health_status,
                self.metrics,
                host=self.settings.health_host,
                port=self.settings.health_port,
            )
            await server.start()
            self.health_server = server
        if self._purge_task is None:
            self._purge_task = asyncio.create_task(self._purge_misses_daily(), name="guidenest: purge misses")

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
        storage = vars(self).get("storage")
        if storage is not None:
            await storage.close()
        server, self.health_server = self.health_server, None
        if server is not None:
            await server.stop()

    async def close(self) -> None:
        """Close the gateway connection first (no new events), then the database and the health endpoint."""
        try:
            await super().close()
        finally:
            await self.close_services()

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
    return GuideNestBot(settings, **client_options)
