"""What a user sees when a slash command or a component (button, menu) is refused or fails: an ephemeral
message, never silence.

Slash command errors reach the command tree's handler. A component's do not: discord.py logs an exception in a
`DynamicItem` callback and stops, so Discord shows "This interaction failed". Components therefore wrap their
callbacks in `replies_on_failure`, which ends in the same `explain_failure` as the commands.

Bad input (a forged value, a stale command) is the sender's doing: a WARNING without traceback and a sentence
saying what to change. Only the unexpected is logged as ERROR with its traceback. Command payloads are checked
against the code's options (`bot.validation`) before discord.py runs them, since it checks no value itself.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import Tone, escape_markdown, shorten
from bot.exts.common import send_ephemeral, text_embed
from bot.validation import BadInput, OptionRule, StaleCommand, check_options, leaf_options, shown_name

ItemT = TypeVar("ItemT", bound="discord.ui.Item[Any]")

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from bot.app import GuideNestBot

    ComponentCallback: TypeAlias = Callable[[ItemT, discord.Interaction], Coroutine[Any, Any, None]]

log = logging.getLogger(__name__)

FAILED_TITLE = "Something went wrong"
FAILED_TEXT = "That didn't work; the error is logged for the bot's operators."
REFUSED_TITLE = "That value doesn't fit"
STALE_TITLE = "This command changed"
# Discord's client refreshes its copy of the commands shortly after a sync.
STALE_TEXT = "This command changed, try again in a minute."


async def tell_user(interaction: discord.Interaction, title: str, message: str) -> None:
    try:
        await send_ephemeral(interaction, text_embed(title, message, tone=Tone.ERROR))
    except discord.HTTPException:
        log.warning("could not tell the user about a failed interaction")


async def explain_failure(interaction: discord.Interaction, error: BaseException, what: str) -> None:
    """A bug or an outage, not the user's doing: logged with its traceback, and the user told it failed."""
    log.error("%s failed", what, exc_info=error)
    await tell_user(interaction, FAILED_TITLE, FAILED_TEXT)


async def refuse_input(
    interaction: discord.Interaction, error: BadInput, what: str, *, title: str = REFUSED_TITLE
) -> None:
    """Input the bot will not use: a warning without traceback, and the member told why."""
    log.warning("%s refused: %s", what, error)
    if isinstance(error, StaleCommand):
        await tell_user(interaction, STALE_TITLE, STALE_TEXT)
    else:
        await tell_user(interaction, title, str(error))


def option_rules(command: app_commands.Command[Any, ..., Any]) -> list[OptionRule]:
    """The code's own rules for a command's options, as declared with `Range`, `Literal` and the types."""
    return [
        OptionRule(
            name=parameter.display_name,
            kind=parameter.type.value,
            required=parameter.required,
            low=parameter.min_value,
            high=parameter.max_value,
            choices=tuple(choice.value for choice in parameter.choices),
        )
        for parameter in command.parameters
    ]


def replies_on_failure(what: str) -> Callable[[ComponentCallback[ItemT]], ComponentCallback[ItemT]]:
    """For a component's `callback`: an exception is answered like a failed slash command."""

    def decorate(callback: ComponentCallback[ItemT]) -> ComponentCallback[ItemT]:
        @functools.wraps(callback)
        async def guarded(item: ItemT, interaction: discord.Interaction) -> None:
            try:
                await callback(item, interaction)
            except BadInput as error:
                await refuse_input(interaction, error, what, title="Not accepted")
            except Exception as error:  # noqa: BLE001 - explain_failure logs it with the traceback
                await explain_failure(interaction, error, what)

        return guarded

    return decorate


def shown_command(data: object) -> str:
    """The command a raw payload names, safe to log: Discord's name characters only."""
    name = data.get("name") if isinstance(data, dict) else None
    return shown_name(name) if name else "?"


class ErrorReplies(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        self._previous_handler = bot.tree.on_error
        self._previous_check = bot.tree.interaction_check

    async def cog_load(self) -> None:
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.bot.tree.interaction_check = self.check_payload  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous_handler  # type: ignore[method-assign]
        self.bot.tree.interaction_check = self._previous_check  # type: ignore[method-assign]

    async def check_payload(self, interaction: discord.Interaction, /) -> bool:
        """The tree's global check: a slash command's options must fit the code's before discord.py reads them
        (it would turn `"abc"` for a number into a traceback, and pass `Infinity` on)."""
        kind = interaction.type
        if kind not in (discord.InteractionType.application_command, discord.InteractionType.autocomplete):
            return True
        data: dict[str, Any] = dict(interaction.data or {})
        if data.get("type", 1) != 1:
            return True  # a context menu: it has no options to check
        typing = kind is discord.InteractionType.autocomplete
        try:
            given = leaf_options(data)
            command = interaction.command
            if not isinstance(command, app_commands.Command):
                return True  # unknown or a bare group: discord.py raises, on_app_command_error answers
            check_options(given, option_rules(command), focused_ok=typing)
        except BadInput as error:
            what = f"/{shown_command(data)}" + (" (autocomplete)" if typing else "")
            if typing:
                log.warning("%s refused: %s", what, error)
                with contextlib.suppress(discord.HTTPException):  # no choices either way
                    await interaction.response.autocomplete([])
            else:
                await refuse_input(interaction, error, what)
            return False
        return True

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.qualified_name if interaction.command else shown_command(interaction.data)
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            # Discord ran a definition the code no longer has (renamed, removed, options changed).
            # Named by type only: discord.py's text quotes the payload's name, which `name` already shows safely.
            await refuse_input(interaction, StaleCommand(type(error).__name__), f"stale command /{name}")
            return
        if isinstance(error, app_commands.CommandInvokeError) and isinstance(error.original, BadInput):
            await refuse_input(interaction, error.original, f"command /{name}")
            return
        if isinstance(error, app_commands.CheckFailure):
            # Our own checks carry a message written for the user; discord.py's generic ones get one here.
            message = str(error) if str(error) else "You can't use this command here."
            if isinstance(error, app_commands.NoPrivateMessage):
                message = "This command works in a server, not in direct messages."
            title = "Not allowed"
            log.info("command /%s not allowed for user %s: %s", name, interaction.user.id, type(error).__name__)
        elif isinstance(error, app_commands.TransformerError):
            shown = escape_markdown(shorten(str(error.value), 100))
            title, message = REFUSED_TITLE, f"I couldn't use “{shown}” for this option."
            log.warning("command /%s refused a value: %s", name, error)
        else:
            await explain_failure(interaction, error, f"command /{name}")
            return
        await tell_user(interaction, title, message)


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(ErrorReplies(bot))
