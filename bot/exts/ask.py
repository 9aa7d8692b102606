"""`/ask question: [private:]`: always answers — the best match, or "not sure" with suggestions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.conversation import Incoming, ReplyKind, Silent
from bot.exts.common import (
    NO_MENTIONS,
    app_of,
    card_embed,
    guild_config,
    observe_latency,
    response_message_id,
    rules_for,
    send_ephemeral,
)
from bot.exts.feedback import answer_view

if TYPE_CHECKING:
    from bot.app import GuideNestBot

# Long enough for a pasted error with some context; the matcher reads the start of longer text anyway.
ASK_MAX_LENGTH = 2000


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
        config = await guild_config(self.bot, interaction.guild_id)
        rules = rules_for(self.bot, config)
        incoming = Incoming(
            text=question,
            author_id=interaction.user.id,
            channel_id=interaction.channel_id or 0,
            guild_id=interaction.guild_id,
            command=True,
        )
        conversation = app_of(self.bot).conversation
        decision = await conversation.decide(incoming, rules)
        if isinstance(decision, Silent):  # never by command; the type allows it
            return
        if decision.kind is ReplyKind.NOTHING_TO_LOOK_UP:
            await send_ephemeral(interaction, card_embed(decision.card))
            return
        view = answer_view(
            entry_id=decision.entry_id, owner_id=interaction.user.id, alternatives=decision.alternatives
        )
        embed = card_embed(decision.card)
        callback = await interaction.response.send_message(
            embed=embed,
            view=view or discord.utils.MISSING,
            ephemeral=private,
            allowed_mentions=NO_MENTIONS,
        )
        observe_latency(self.bot, started)
        message_id = None
        if decision.entry_id is not None and interaction.channel_id is not None:
            message_id = await response_message_id(interaction, callback)
        await conversation.delivered(incoming, decision, rules, message_id)


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Ask(bot))
