"""`/ask question: [private:]`: always answers — the best match, or "not sure" with suggestions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.answering import clean_question
from bot.exts.common import (
    COLOUR_ANSWER,
    COLOUR_ERROR,
    COLOUR_UNSURE,
    NO_MENTIONS,
    app_of,
    card_embed,
    count,
    guild_config,
    observe_latency,
    response_message_id,
    rules_for,
    send_ephemeral,
    snapshot,
    text_embed,
)
from bot.exts.feedback import answer_view
from bot.render import result_card

if TYPE_CHECKING:
    from bot.app import GuideNestBot

# Long enough for a pasted error with some context; the matcher reads the start of longer text anyway.
ASK_MAX_LENGTH = 2000

EMPTY_QUESTION = (
    "There was nothing to look up in that question (only spaces, invisible characters or empty code). "
    "Type your question, or paste the exact error your mail program shows."
)


class Ask(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="ask", description="Ask about setting up email, or paste the error your mail app shows"
    )
    @app_commands.describe(
        question="Your question or the exact error text, e.g. 535 5.7.8 Username and Password not accepted",
        private="Only you see the answer (default: everyone in the channel)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, ASK_MAX_LENGTH],
        private: bool = False,
    ) -> None:
        started = time.perf_counter()
        text = clean_question(question)
        if not text:
            await send_ephemeral(interaction, text_embed("Nothing to look up", EMPTY_QUESTION, colour=COLOUR_ERROR))
            return
        config = await guild_config(self.bot, interaction.guild_id)
        rules = rules_for(self.bot, config)
        result = snapshot(self.bot).matcher.match(text, level=rules.confidence)
        best = result.best
        candidates = ([best] if best is not None else []) + list(result.suggestions)
        view = answer_view(
            entry_id=best.entry.id if best is not None else None,
            owner_id=interaction.user.id,
            alternatives=[(s.entry, s.score) for s in candidates],
        )
        embed = card_embed(result_card(result), colour=COLOUR_ANSWER if result.confident else COLOUR_UNSURE)
        callback = await interaction.response.send_message(
            embed=embed,
            view=view or discord.utils.MISSING,
            ephemeral=private,
            allowed_mentions=NO_MENTIONS,
        )
        observe_latency(self.bot, started)
        storage = app_of(self.bot).storage
        if result.confident:
            count(self.bot, "answers")
        else:
            count(self.bot, "abstentions")
            await storage.record_miss(
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
                text=text,
                reason="no_match",
                entry_id=best.entry.id if best else None,
                score=best.score if best else None,
            )
        if best is not None and interaction.channel_id is not None:
            message_id = await response_message_id(interaction, callback)
            if message_id is not None:
                await storage.record_answer(
                    message_id=message_id,
                    guild_id=interaction.guild_id,
                    channel_id=interaction.channel_id,
                    entry_id=best.entry.id,
                    query=text,
                    suggestions=[s.entry.id for s in result.suggestions],
                )


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Ask(bot))
