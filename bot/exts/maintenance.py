"""`/kb stats` and `/kb reload` (moderators): unanswered questions; new knowledge, no restart."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import DESCRIPTION_LIMIT, FIELD_VALUE_LIMIT, Card, Field, Tone, escape_markdown, fit_lines, shorten
from bot.exts.common import (
    NO_MENTIONS,
    app_of,
    card_embed,
    require_moderator,
    send_ephemeral,
    snapshot,
)
from bot.knowledge.loader import KnowledgeError, Problem

if TYPE_CHECKING:
    from pathlib import Path

    from bot.app import GuideNestBot
    from bot.storage import EntryFeedback, MissRow

log = logging.getLogger(__name__)

MISS_TEXT_SHOWN = 90  # characters of each missed question in the list


def misses_text(misses: list[MissRow]) -> str:
    if not misses:
        return "None recorded."
    lines = []
    for miss in misses:
        closest = f"; closest `{miss.entry_id}`" if miss.entry_id else ""
        score = f" {miss.score:.0f}%" if miss.score is not None and miss.entry_id else ""
        reason = "👎" if miss.reason == "downvoted" else "no match"
        text = escape_markdown(shorten(" ".join(miss.text.split()), MISS_TEXT_SHOWN))
        lines.append(f"**{miss.count}\u00d7** {text} ({reason}{closest}{score})")
    return fit_lines(lines, FIELD_VALUE_LIMIT)


def feedback_text(worst: list[EntryFeedback]) -> str:
    if not worst:
        return "No votes yet."
    return fit_lines(
        [f"`{row.entry_id}` — 👎 {row.not_helpful} · 👍 {row.helpful}" for row in worst], FIELD_VALUE_LIMIT
    )


def format_problems(problems: list[Problem], root: Path, limit: int) -> str:
    """Problems as `file:line: message` lines in a code block, as many as fit in `limit` characters."""
    # A backtick in a message would end the code block early.
    lines = [problem.format(root).replace("`", "\u02cb") for problem in problems]
    body = fit_lines(lines, limit - 60)
    shown = body.count("\n") + 1
    more = f"\n… and {len(lines) - shown} more" if shown < len(lines) else ""
    return f"```\n{body}{more}\n```"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeMaintenance(
    commands.GroupCog, group_name="kb", group_description="Knowledge base upkeep (moderators)"
):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        self._reloading = asyncio.Lock()
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_moderator(interaction)

    @app_commands.command(name="stats", description="Top unanswered questions and the answers rated worst")
    async def stats(self, interaction: discord.Interaction) -> None:
        storage = app_of(self.bot).storage
        guild_id = interaction.guild_id
        misses = await storage.top_misses(guild_id, limit=10)
        worst = await storage.worst_entries(guild_id, limit=5)
        knowledge = snapshot(self.bot).knowledge
        days = self.bot.settings.miss_retention_days
        card = Card(
            title="Knowledge base statistics",
            description=(
                f"{len(knowledge.entries)} answers, {len(knowledge.ports)} ports, "
                f"{len(knowledge.providers)} providers loaded."
            ),
            fields=(
                Field(f"Top misses (last {days} days)", misses_text(misses)),
                Field("Worst feedback", feedback_text(worst)),
            ),
            footer="Misses are questions I didn't answer confidently, and answers someone rated 👎.",
        )
        await send_ephemeral(interaction, card_embed(card))

    @app_commands.command(
        name="reload", description="Reload the knowledge files; errors keep the current knowledge"
    )
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = app_of(self.bot).knowledge
        before = len(service.current.knowledge.entries)
        async with self._reloading:
            try:
                # Reading and indexing files is blocking work: keep the gateway heartbeat going meanwhile.
                report = await asyncio.to_thread(service.reload)
            except KnowledgeError as exc:
                errors = [p for p in exc.problems if p.severity == "error"]
                log.warning("knowledge reload refused: %d error(s)", len(errors))
                card = Card(
                    title=f"Reload failed: {len(errors)} error(s)",
                    description=format_problems(errors, service.root, DESCRIPTION_LIMIT),
                    footer=f"Still answering from the previous knowledge ({before} answers). "
                    "Fix the files and run /kb reload again.",
                    tone=Tone.ERROR,
                )
                await interaction.followup.send(
                    embed=card_embed(card), ephemeral=True, allowed_mentions=NO_MENTIONS
                )
                return
        fields: tuple[Field, ...] = ()
        if report.warnings:
            shown = format_problems(report.warnings, service.root, FIELD_VALUE_LIMIT)
            fields = (Field(f"{len(report.warnings)} warning(s)", shown),)
        card = Card(
            title="Knowledge reloaded",
            description=f"{report.entries} answers loaded (before: {before}).",
            fields=fields,
            tone=Tone.ANSWER,
        )
        await interaction.followup.send(
            embed=card_embed(card), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(KnowledgeMaintenance(bot))
