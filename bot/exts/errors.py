"""What a user sees when a slash command or a component (button, menu) is refused or fails: an ephemeral
message, never silence.

Slash command errors reach the command tree's handler. A component's do not: discord.py logs an exception in a
`DynamicItem` callback and stops, so Discord shows "This interaction failed". Components therefore wrap their
callbacks in `replies_on_failure`, which ends in the same `explain_failure` as the commands.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.common import COLOUR_ERROR, send_ephemeral, text_embed
from bot.render import escape_markdown, shorten

ItemT = TypeVar("ItemT", bound="discord.ui.Item[Any]")

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from bot.app import GuideNestBot

    ComponentCallback: TypeAlias = Callable[[ItemT, discord.Interaction], Coroutine[Any, Any, None]]

log = logging.getLogger(__name__)

FAILED_TITLE = "Something went wrong"
FAILED_TEXT = "That didn't work; the error is logged for the bot's operators."


async def tell_user(interaction: discord.Interaction, title: str, message: str) -> None:
    try:
        await send_ephemeral(interaction, text_embed(title, message, colour=COLOUR_ERROR))
    except discord.HTTPException:
        log.warning("could not tell the user about a failed interaction")


async def explain_failure(interaction: discord.Interaction, error: BaseException, what: str) -> None:
    """A bug or an outage, not the user's doing: logged with its traceback, and the user told it failed."""
    log.error("%s failed", what, exc_info=error)
    await tell_user(interaction, FAILED_TITLE, FAILED_TEXT)


def replies_on_failure(what: str) -> Callable[[ComponentCallback[ItemT]], ComponentCallback[ItemT]]:
    """For a component's `callback`: an exception is answered like a failed slash command."""

    def decorate(callback: ComponentCallback[ItemT]) -> ComponentCallback[ItemT]:
        @functools.wraps(callback)
        async def guarded(item: ItemT, interaction: discord.Interaction) -> None:
            try:
                await callback(item, interaction)
            except Exception as error:  # noqa: BLE001 - explain_failure logs it with the traceback
                await explain_failure(interaction, error, what)

        return guarded

    return decorate


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
            await explain_failure(interaction, error, f"command /{name}")
            return
        await tell_user(interaction, title, message)


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(ErrorReplies(bot))
