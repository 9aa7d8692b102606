"""Slash commands, views and a modal that the emulator's own tests add to the factory-built bot.

They stand in for the bot's features (written elsewhere) so the emulator can be shown to carry every kind of
interaction through the real client: `/emu …` subcommands, a moderators-only `/emu-admin`, two message
context menus ("Emu Quote", and "Emu Moderate" for moderators), buttons, a select, a modal and a persistent
view. Names start with "emu" so they never clash with the bot's own commands.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands

PORT_SERVICES = ("imap", "imaps", "pop3", "pop3s", "smtp", "submission")


@dataclass
class Seen:
    """What the sample handlers received, for the tests to check."""

    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Autocomplete answers: overridden by limit tests to send too many or too long choices.
    choices: list[app_commands.Choice[str]] | None = None
    reply_text: str | None = None  # overrides /emu echo's reply (limit tests)
    delay: float = 0.0  # /emu echo waits this long before answering (late-acknowledgement test)
    answer: bool = True  # /emu echo answers at all


class ReportModal(discord.ui.Modal, title="Report a wrong answer"):
    def __init__(self, seen: Seen, *, title: str | None = None) -> None:
        super().__init__(custom_id="emu:report-modal", **({"title": title} if title else {}))
        self.seen = seen
        self.reason: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="What was wrong", custom_id="emu:reason", style=discord.TextStyle.long, max_length=500
        )
        self.contact: discord.ui.TextInput[ReportModal] = discord.ui.TextInput(
            label="How to reach you", custom_id="emu:contact", required=False
        )
        self.add_item(self.reason)
        self.add_item(self.contact)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        self.seen.calls["modal"] = {"reason": self.reason.value, "contact": self.contact.value}
        await interaction.response.send_message(f"Thanks: {self.reason.value}", ephemeral=True)


class PanelView(discord.ui.View):
    def __init__(self, seen: Seen) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="More", custom_id="emu:more", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        self.seen.calls["more"] = {"user": interaction.user.id}
        button.disabled = True
        await interaction.response.edit_message(content="More details", view=self)  # type 7

    @discord.ui.button(label="Refresh", custom_id="emu:refresh")
    async def refresh(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        await interaction.response.defer()  # type 6, then edit the original message
        await interaction.edit_original_response(content="Refreshed")

    @discord.ui.button(label="Report", custom_id="emu:report", style=discord.ButtonStyle.danger)
    async def report(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        await interaction.response.send_modal(ReportModal(self.seen))  # type 9

    @discord.ui.select(
        custom_id="emu:pick",
        placeholder="Pick a protocol",
        options=[discord.SelectOption(label=name.upper(), value=name) for name in ("imap", "pop3", "smtp")],
        max_values=2,
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[PanelView]) -> None:
        self.seen.calls["pick"] = {"values": list(select.values)}
        await interaction.response.send_message(
            f"Picked {', '.join(select.values)}", ephemeral=True
        )  # type 4


class PersistentView(discord.ui.View):
    """A view that survives a restart: no timeout, fixed custom_id, registered with bot.add_view."""

    def __init__(self, seen: Seen) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="Helpful", custom_id="emu:helpful")
    async def helpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[PersistentView]
    ) -> None:
        self.seen.calls["helpful"] = {"user": interaction.user.id}
        await interaction.response.send_message("Thanks for the feedback", ephemeral=True)


def add_sample_commands(bot: discord.Client, seen: Seen) -> None:
    tree: app_commands.CommandTree[Any] = bot.tree  # type: ignore[attr-defined]
    group = app_commands.Group(name="emu", description="Emulator test commands")

    @group.command(name="echo", description="Echo the options back")
    @app_commands.describe(
        text="Text to echo",
        count="How many times",
        flag="A flag",
        who="A member",
        where="A channel",
        private="Only you see the answer",
    )
    async def echo(
        interaction: discord.Interaction,
        text: str,
        count: app_commands.Range[int, 1, 10] = 1,
        flag: bool = False,
        who: discord.Member | None = None,
        where: discord.TextChannel | None = None,
        private: bool = False,
    ) -> None:
        seen.calls["echo"] = {"text": text, "count": count, "flag": flag, "who": who, "where": where}
        if seen.delay:
            await asyncio.sleep(seen.delay)
        if seen.answer:
            await interaction.response.send_message(seen.reply_text or f"{text} x{count}", ephemeral=private)

    @group.command(name="slow", description="Defers, then edits the reply and follows up")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Done thinking")
        await interaction.followup.send("And a follow-up")

    @group.command(name="security", description="Pick a security mode")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="SSL/TLS", value="ssl"),
            app_commands.Choice(name="STARTTLS", value="starttls"),
        ]
    )
    async def security(interaction: discord.Interaction, mode: app_commands.Choice[str]) -> None:
        seen.calls["security"] = {"mode": mode.value}
        await interaction.response.send_message(mode.name)

    @group.command(name="port", description="Look up a service's port")
    async def port(interaction: discord.Interaction, service: str) -> None:
        await interaction.response.send_message(service)

    @port.autocomplete("service")
    async def port_choices(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if seen.choices is not None:
            return seen.choices
        return [
            app_commands.Choice(name=name, value=name) for name in PORT_SERVICES if name.startswith(current)
        ]

    @group.command(name="panel", description="Show buttons and a select")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Panel", view=PanelView(seen))

    @group.command(name="form", description="Open a form")
    async def form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ReportModal(seen))

    tree.add_command(group)

    @app_commands.command(name="emu-admin", description="Moderators only")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def admin(interaction: discord.Interaction) -> None:
        seen.calls["admin"] = {
            "manage_guild": interaction.permissions.manage_guild,
            "roles": [role.name for role in getattr(interaction.user, "roles", [])],
        }
        await interaction.response.send_message("Admin OK", ephemeral=True)

    tree.add_command(admin)

    # Message context menus (Apps → …): names may have capitals and spaces, unlike slash commands.
    async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
        seen.calls["quote"] = {
            "id": message.id,
            "author": message.author.id,
            "channel": message.channel.id,
            "content": message.content,
        }
        await interaction.response.send_message(f"Quoted: {message.content}", ephemeral=True)

    tree.add_command(app_commands.ContextMenu(name="Emu Quote", callback=quote))

    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def moderate(interaction: discord.Interaction, message: discord.Message) -> None:
        seen.calls["moderate"] = {"id": message.id, "manage_guild": interaction.permissions.manage_guild}
        await interaction.response.send_message("Moderated", ephemeral=True)

    tree.add_command(app_commands.ContextMenu(name="Emu Moderate", callback=moderate))
