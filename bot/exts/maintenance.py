"""`/kb` (moderators): unanswered questions (`stats`), new knowledge without a restart (`reload`), and what
moderators teach the bot (`teach`, `learned`, `forget`; the menus are in bot/exts/teach.py)."""

from __future__ import annotations

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
from bot.exts.teach import (
    DYNAMIC_ITEMS,
    forget_menu,
    forgotten_card,
    learned_card,
    misses_menu,
    taught_card,
)
from bot.knowledge.learned import MAX_TAUGHT_TEXT, candidates
from bot.knowledge.loader import KnowledgeError, Problem
from bot.validation import BadInput

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
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

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
            footer="Misses are questions I didn't answer confidently, and answers someone rated 👎. "
            "Teach me one with the menu below.",
        )
        view = misses_menu(misses, await storage.learned_phrasings(guild_id))
        await send_ephemeral(interaction, card_embed(card), view=view)

    @app_commands.command(
        name="reload", description="Reload the knowledge files; errors keep the current knowledge"
    )
    async def reload(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        service = app_of(self.bot).knowledge
        before = len(service.current.knowledge.entries)
        try:
            # The other processes of the bot reload too (with Redis configured).
            report = await app_of(self.bot).reload_knowledge()
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

    # --- teaching -----------------------------------------------------------------------------------------

    @app_commands.command(name="teach", description="Teach me a question and the entry that answers it here")
    @app_commands.describe(question="The question as members ask it", entry="The entry that should answer it")
    async def teach(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, MAX_TAUGHT_TEXT],
        entry: app_commands.Range[str, 1, 100],
    ) -> None:
        guild_id = _guild_of(interaction)
        # The server's matcher is rebuilt before the reply (about a second).
        await interaction.response.defer(ephemeral=True, thinking=True)
        taught = await app_of(self.bot).guild_matchers.teach(guild_id, entry, question, interaction.user.id)
        log.info("guild %s: user %s taught a question to %s", guild_id, interaction.user.id, taught.entry.id)
        await send_ephemeral(interaction, card_embed(taught_card(taught)))

    @teach.autocomplete("entry")
    async def entry_choices(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not await _is_moderator(interaction):
            return []  # autocomplete skips the cog's check: without it anyone could list the entries this way
        knowledge = snapshot(self.bot).knowledge
        question = getattr(interaction.namespace, "question", None)
        # The entries the matcher ranks for the question typed so far first, then all by title.
        ranked = candidates(snapshot(self.bot).matcher, question, knowledge, 25) if isinstance(question, str) else []
        everything = sorted(knowledge.entries.values(), key=lambda e: e.title.casefold())
        typed = current.casefold().strip()
        choices: dict[str, str] = {}
        for found in (*ranked, *everything):
            if not typed or typed in found.id or typed in found.title.casefold():
                choices.setdefault(found.id, shorten(f"{found.title} ({found.id})", 100))
        return [app_commands.Choice(name=name, value=value) for value, name in list(choices.items())[:25]]

    @app_commands.command(name="learned", description="The questions moderators taught me here; forget one")
    async def learned(self, interaction: discord.Interaction) -> None:
        guild_id = _guild_of(interaction)
        phrasings = await app_of(self.bot).storage.learned_phrasings(guild_id)
        card = learned_card(phrasings, snapshot(self.bot).knowledge)
        await send_ephemeral(interaction, card_embed(card), view=forget_menu(phrasings))

    @app_commands.command(name="forget", description="Forget a question taught here")
    @app_commands.describe(phrasing="The taught question (pick it as you type)")
    async def forget(self, interaction: discord.Interaction, phrasing: app_commands.Range[str, 1, 20]) -> None:
        guild_id = _guild_of(interaction)
        if not phrasing.isdecimal():
            raise BadInput("Pick the question from the list that opens as you type.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await app_of(self.bot).guild_matchers.forget(guild_id, int(phrasing))
        await send_ephemeral(interaction, card_embed(forgotten_card(removed)))

    @forget.autocomplete("phrasing")
    async def phrasing_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not await _is_moderator(interaction) or interaction.guild_id is None:
            return []  # members' words, for moderators only
        typed = current.casefold().strip()
        return [
            app_commands.Choice(name=shorten(f"{p.text} → {p.entry_id}", 100), value=str(p.id))
            for p in await app_of(self.bot).storage.learned_phrasings(interaction.guild_id)
            if not typed or typed in p.text.casefold() or typed in p.entry_id
        ][:25]


def _guild_of(interaction: discord.Interaction) -> int:
    assert interaction.guild_id is not None  # guild_only, and interaction_check refused direct messages
    return interaction.guild_id


async def _is_moderator(interaction: discord.Interaction) -> bool:
    try:
        return await require_moderator(interaction)
    except app_commands.CheckFailure:
        return False


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(KnowledgeMaintenance(bot))
