"""What every cog shares: cards as embeds, no pings, the services on the bot, the moderator check, metrics."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from bot.cards.card import EMBED_TOTAL_LIMIT, Card, Tone, shorten
from bot.conversation import AnswerRules, effective_rules

if TYPE_CHECKING:
    from bot.app import GuideNestBot
    from bot.knowledge.service import Snapshot
    from bot.storage import GuildConfig

log = logging.getLogger(__name__)

# Passed on every send: interaction responses and webhooks do not all fall back to the client default.
NO_MENTIONS = discord.AllowedMentions.none()

SELECT_LABEL_LIMIT = 100
SELECT_DESCRIPTION_LIMIT = 100
MAX_SELECT_OPTIONS = 25

COLOUR_ANSWER = discord.Colour(0x2E7D32)  # a confident answer
COLOUR_UNSURE = discord.Colour(0xF9A825)  # "not sure" and suggestions
COLOUR_INFO = discord.Colour(0x1565C0)  # lookups, help, settings
COLOUR_ERROR = discord.Colour(0xC62828)  # refusals and failures
TONE_COLOURS = {
    Tone.ANSWER: COLOUR_ANSWER,
    Tone.OK: COLOUR_ANSWER,
    Tone.UNSURE: COLOUR_UNSURE,
    Tone.INFO: COLOUR_INFO,
    Tone.ERROR: COLOUR_ERROR,
    Tone.FAIL: COLOUR_ERROR,
}


def card_embed(card: Card) -> discord.Embed:
    """The one place a Card becomes an embed, coloured by its tone; cards keep each part's limit, this the total
    (6,000). The badge leads the footer."""
    fields = list(card.fields)
    footer = card.footer_line or ""
    description = card.description
    fixed = len(card.title) + len(footer) + sum(len(f.name) + len(f.value) for f in fields)
    if fixed + len(description) > EMBED_TOTAL_LIMIT:
        description = shorten(description, max(EMBED_TOTAL_LIMIT - fixed, 1))
    embed = discord.Embed(title=card.title, description=description or None, colour=TONE_COLOURS[card.tone])
    for field in fields:
        # Discord rejects an empty field value.
        embed.add_field(name=field.name, value=field.value or "—", inline=field.inline)
    if footer:
        embed.set_footer(text=footer)
    return embed


def text_embed(title: str, description: str, *, tone: Tone = Tone.INFO) -> discord.Embed:
    return card_embed(Card(title=shorten(title, 256), description=shorten(description, 4096), tone=tone))


# --- The services the app factory puts on the bot ----------------------------------------------------------


def app_of(client: discord.Client) -> GuideNestBot:
    return cast("GuideNestBot", client)


def snapshot(client: discord.Client) -> Snapshot:
    """The knowledge in use right now; take it once per request so a reload never mixes two versions."""
    return app_of(client).knowledge.current


async def guild_config(client: discord.Client, guild_id: int | None) -> GuildConfig | None:
    """A guild's stored settings; None in direct messages, which use the bot's settings."""
    if guild_id is None:
        return None
    return await app_of(client).storage.guild_config(guild_id)


def rules_for(client: discord.Client, config: GuildConfig | None) -> AnswerRules:
    return effective_rules(app_of(client).settings, config)


def count(client: discord.Client, metric: str, amount: float = 1) -> None:
    """Add to a counter: messages_seen, answers, abstentions, votes_helpful, votes_not_helpful."""
    app_of(client).metrics.inc(metric, amount)


def count_lost_reply(client: discord.Client, error: discord.HTTPException) -> None:
    """Count a reply Discord did not take (discord.py has already retried what it retries), by why."""
    if isinstance(error, discord.Forbidden):
        reason = "forbidden"
    elif error.status == 429:
        reason = "rate_limited"
    elif error.status >= 500:
        reason = "server_error"
    else:
        reason = "refused"
    app_of(client).metrics.answers_lost.inc(reason=reason)


def observe_latency(client: discord.Client, started: float) -> None:
    """Record the seconds from reading a question (`time.perf_counter()` then) to its answer being sent."""
    app_of(client).metrics.answer_latency.observe(time.perf_counter() - started)


# --- Moderators --------------------------------------------------------------------------------------------


class NotModerator(app_commands.CheckFailure):
    """The user may not run a moderator command; the error handler answers with an ephemeral refusal."""


class NotInGuild(app_commands.CheckFailure):
    """A server command was run in a direct message."""


def is_moderator(member: discord.Member, permissions: discord.Permissions, config: GuildConfig) -> bool:
    """Manage Server (or Administrator) in the resolved permissions, or the configured moderator role."""
    if permissions.administrator or permissions.manage_guild:
        return True
    role_id = config.moderator_role_id
    return role_id is not None and any(role.id == role_id for role in member.roles)


async def require_moderator(interaction: discord.Interaction) -> bool:
    """The invocation-time half of the moderator rule (default_permissions only hides the commands)."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        raise NotInGuild("This command works in a server, not in direct messages.")
    config = await app_of(interaction.client).storage.guild_config(interaction.guild_id)
    if not is_moderator(interaction.user, interaction.permissions, config):
        raise NotModerator(
            "Only moderators can do this: you need the Manage Server permission"
            + (" or the moderator role." if config.moderator_role_id else ".")
        )
    return True


# --- Interaction helpers ------------------------------------------------------------------------------------


async def response_message_id(
    interaction: discord.Interaction, callback: discord.InteractionCallbackResponse | None
) -> int | None:
    """The id of the message an interaction response created, for records that outlive the process."""
    if callback is not None:
        if callback.message_id is not None:
            return callback.message_id
        resource = callback.resource
        if isinstance(resource, discord.InteractionMessage):
            return resource.id
    try:
        return (await interaction.original_response()).id
    except discord.HTTPException:
        log.warning("could not learn the message id of an interaction response")
        return None


async def send_ephemeral(
    interaction: discord.Interaction, embed: discord.Embed, *, view: discord.ui.View | None = None
) -> None:
    """An ephemeral reply, as a response or, when the interaction was already answered, as a follow-up."""
    shown_view = view or discord.utils.MISSING
    if interaction.response.is_done():
        await interaction.followup.send(embed=embed, view=shown_view, ephemeral=True, allowed_mentions=NO_MENTIONS)
    else:
        await interaction.response.send_message(
            embed=embed, view=shown_view, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
