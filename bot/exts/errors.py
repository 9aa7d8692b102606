"""What a user sees when a slash command is refused or fails: an ephemeral message, never silence."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.common import COLOUR_ERROR, send_ephemeral, text_embed
from bot.render import escape_markdown, shorten

if TYPE_CHECKING:
    from bot.app import GuideNestBot

log = logging.getLogger(__name__)


class ErrorReplies(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        self._previous_handler = bot.tree.on_error

    async def cog_load(self) -> None:
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous_handler  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            # Our own checks carry a message written for the user; discord.py's generic ones get one here.
            message = str(error) if str(error) else "You can't use this command here."
            if isinstance(error, app_commands.NoPrivateMessage):
                message = "This command works in a server, not in direct messages."
            title = "Not allowed"
        elif isinstance(error, app_commands.TransformerError):
            shown = escape_markdown(shorten(str(error.value), 100))
            title, message = "That value doesn't fit", f"I couldn't use “{shown}” for this option."
        else:
            name = interaction.command.qualified_name if interaction.command else "?"
            log.error("command /%s failed", name, exc_info=error)
            title, message = (
                "Something went wrong",
                "That didn't work; the error is logged for the bot's operators.",
            )
        try:
            await send_ephemeral(interaction, text_embed(title, message, colour=COLOUR_ERROR))
        except discord.HTTPException:
            log.warning("could not tell the user about a failed command")


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(ErrorReplies(bot))
