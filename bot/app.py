"""The app factory: the one place that builds the Discord bot, for `guidenest run` and for the end-to-end tests."""

from __future__ import annotations

import logging

import discord
import yarl
from discord.ext import commands

from bot.settings import Settings

log = logging.getLogger(__name__)

# Cogs, loaded in this order at start.
EXTENSIONS: tuple[str, ...] = ()


def point_client_at(api_base: str, gateway_url: str) -> None:
    """Send discord.py's REST calls and gateway connection to the configured endpoints.

    Both are process-wide class attributes in discord.py, read whenever a route or a connection is made.
    """
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class GuideNestBot(commands.AutoShardedBot):
    def __init__(self, settings: Settings) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: passive answers read the text of help messages
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            # The bot never pings anyone, whatever text it echoes.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            shard_count=settings.shard_count,
            shard_ids=settings.shard_ids or None,
        )
        self.settings = settings

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.settings.dev_guild:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()


def create_bot(settings: Settings) -> GuideNestBot:
    point_client_at(settings.discord_api_base, settings.discord_gateway_url)
    return GuideNestBot(settings)
