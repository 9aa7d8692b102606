"""`/port [query:]` and `/provider name:`: the port table and provider settings, with autocomplete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import shorten
from bot.cards.lookups import no_provider_card, port_card, port_table_card, provider_card
from bot.exts.common import NO_MENTIONS, card_embed, snapshot
from bot.matching.lookup import find_ports, lookup_provider, port_choices, provider_choices

if TYPE_CHECKING:
    from collections.abc import Iterable

    from bot.app import GuideNestBot

MAX_CHOICES = 25  # Discord's limit for autocomplete
CHOICE_TEXT_LIMIT = 100  # a choice's name and its string value
QUERY_MAX_LENGTH = 100
DISCOVER = "/mailsettings domain:{domain}"  # how a member looks up a domain the table lacks


def to_choices(pairs: Iterable[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    """At most 25 choices, names and values cut to Discord's 100 characters, no repeated values."""
    choices: list[app_commands.Choice[str]] = []
    seen: set[str] = set()
    for name, full_value in pairs:
        value = full_value[:CHOICE_TEXT_LIMIT]
        if not name or not value or value in seen:
            continue
        seen.add(value)
        choices.append(app_commands.Choice(name=shorten(name, CHOICE_TEXT_LIMIT), value=value))
        if len(choices) == MAX_CHOICES:
            break
    return choices


class Lookup(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot

    @app_commands.command(name="port", description="Mail ports: a protocol, a port number or a security mode")
    @app_commands.describe(
        query="imap, pop3, smtp, a number like 993, or starttls; leave empty for the whole table"
    )
    async def port(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 0, QUERY_MAX_LENGTH] | None = None,
    ) -> None:
        knowledge = snapshot(self.bot).knowledge
        text = (query or "").strip()
        card = port_table_card(list(knowledge.ports)) if not text else port_card(find_ports(knowledge, text), text)
        await interaction.response.send_message(embed=card_embed(card), allowed_mentions=NO_MENTIONS)

    @port.autocomplete("query")
    async def port_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(port_choices(snapshot(self.bot).knowledge, current))

    @app_commands.command(
        name="provider", description="A mail provider's incoming and outgoing server settings"
    )
    @app_commands.describe(name="Provider name, domain or e-mail address, e.g. gmail, outlook.com, me@gmx.de")
    async def provider(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, QUERY_MAX_LENGTH]
    ) -> None:
        found = lookup_provider(snapshot(self.bot).knowledge, name)
        card = provider_card(found.match, found) if found.match is not None else no_provider_card(found, DISCOVER)
        await interaction.response.send_message(embed=card_embed(card), allowed_mentions=NO_MENTIONS)

    @provider.autocomplete("name")
    async def provider_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return to_choices(provider_choices(snapshot(self.bot).knowledge, current))


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Lookup(bot))
