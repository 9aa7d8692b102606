"""`/help`: what the bot does and how to use it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import Card, Field
from bot.exts.common import card_embed, send_ephemeral

if TYPE_CHECKING:
    from bot.app import GuideNestBot

HELP_CARD = Card(
    title="Guide Nest — help with email setup",
    description=(
        "I help you set up a mail program (Outlook, Thunderbird, Apple Mail, phones): which server, port and "
        "security to use, and what an error message means. Paste the exact error — "
        "`535 5.7.8 Username and Password not accepted`, `0x800CCC0E`, `[SSL: WRONG_VERSION_NUMBER]` — "
        "or ask in your own words. When I'm not sure, I say so instead of guessing."
    ),
    fields=(
        Field(
            "Commands",
            "`/ask question:` — an answer, or suggestions when I'm not sure; pick another from the menu. "
            "Add `private: True` to see it alone.\n"
            "`/port query:` — mail ports: `imap`, `993`, `smtp starttls`; empty for the whole table.\n"
            "`/provider name:` — a provider's incoming and outgoing settings: `gmail`, `outlook.com`.\n"
            "`/help` — this message.\n"
            "Apps → **Find an answer** on any message — my answer to it (its text and screenshots), shown only "
            "to you; **Post publicly** replies with it.",
        ),
        Field(
            "In the help channels",
            "Where moderators turned it on, I answer questions and pasted errors on my own, but only when "
            "I'm confident. Anywhere else, mention me or reply to me. Rate answers with 👍 / 👎 — a 👎 shows "
            "other suggestions and tells the people who keep my answers up to date.",
        ),
        Field(
            "For moderators",
            "`/config show` — this server's settings. `/config channel`, `/config confidence`, "
            "`/config cooldowns`, `/config moderator-role`, `/config mailsettings` — change them.\n"
            "`/kb stats` — questions I couldn't answer and answers rated worst. `/kb reload` — load edited "
            "knowledge files without a restart. `/kb teach question: entry:` — teach me a question I missed; "
            "`/kb learned` — what was taught here, and forget one.\n"
            "Apps → **Post an answer** — reply with my answer at once (nothing is posted when I'm not sure). "
            "`/config solved-tag` — the forum tag I add when a post's author rates my answer 👍.\n"
            "`/probe host: [port:] [protocol:] [security:]` — check a mail server (DNS, connection, TLS, "
            "greeting, STARTTLS, certificate) and explain the fix; it never logs in. `/probe-history` — the "
            "latest probes here.\n"
            "`/mailsettings domain:` — find a domain's incoming and outgoing settings, with the evidence; "
            "open it to every member with `/config mailsettings public: True`.",
        ),
    ),
    footer="Answers come from the Guide Nest article on email ports and the standards and vendor pages "
    "it cites.",
)


class Help(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What this bot does and how to use it")
    async def help(self, interaction: discord.Interaction) -> None:
        await send_ephemeral(interaction, card_embed(HELP_CARD))


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Help(bot))
