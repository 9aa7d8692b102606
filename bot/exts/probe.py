"""`/probe`, `/probe-history` and `/mailsettings`: the probe core, in Discord.

Discord cannot offer `/probe host:` and `/probe history` together: a command with subcommands is only a folder
for them and cannot run itself. So the probe is `/probe` and its audit log `/probe-history`.

`/probe` and `/probe-history` are for moderators: `default_permissions(manage_guild=True)` hides them, and
the moderator check runs again at invocation. `/mailsettings` carries no default permissions, because a bot
cannot change a command's visibility per server later; it checks at invocation whether this server opened it
to everyone (`/config mailsettings public: True`) or the member is a moderator.

Refusals that are known before anything touches the network (bad target, private IP address, rate limits)
are answered privately at once. Everything else is deferred; a refusal found only after the DNS lookup (a
name that resolves to a private address) replaces the "thinking…" message. Every run and every refusal goes
to the audit log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import Tone, escape_markdown, shorten
from bot.cards.probe import ACTION_NAMES, discovery_card, history_card, probe_card
from bot.exts.common import (
    NO_MENTIONS,
    NotInGuild,
    NotModerator,
    app_of,
    card_embed,
    count,
    is_moderator,
    require_moderator,
    send_ephemeral,
    snapshot,
    text_embed,
)
from bot.probe import ProbeRefused, discover, normalize_domain, parse_target, run_probe

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.app import GuideNestBot
    from bot.probe import DiscoveryResult, ProbeResult, ProbeTarget

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

HOST_MAX_LENGTH = 300  # a little over a DNS name's 253, so that the core can say what is wrong
HISTORY_DEFAULT = 10
HISTORY_MAX = 25
AUDIT_TEXT_LIMIT = 300


# --- the audit log's wording --------------------------------------------------------------------------------


def typed_target(host: str, port: int | None, protocol: str | None, security: str | None) -> str:
    """What was asked for, when it could not be read as a target."""
    text = " ".join(host.split()) or "(empty)"
    if port is not None:
        text += f":{port}"
    extras = " ".join(word for word in (protocol, security) if word)
    return shorten(f"{text} {extras}".strip(), AUDIT_TEXT_LIMIT)


def target_text(target: ProbeTarget) -> str:
    return f"{target.host}:{target.port} {target.protocol.value} {target.security.value}"


def refused_outcome(reason: str) -> str:
    return shorten(f"refused: {reason}", AUDIT_TEXT_LIMIT)


@dataclass(frozen=True)
class Finished:
    """A finished probe or discovery: the answer shown, and what the audit log keeps of it."""

    embed: discord.Embed
    address: str | None
    outcome: str
    duration_ms: float


# --- who may run what ----------------------------------------------------------------------------------------


async def require_mailsettings_access(interaction: discord.Interaction) -> bool:
    """Moderators always; everyone once the server turned on `/config mailsettings public: True`."""
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        raise NotInGuild("This command works in a server, not in direct messages.")
    config = await app_of(interaction.client).storage.guild_config(interaction.guild_id)
    if config.mailsettings_public or is_moderator(interaction.user, interaction.permissions, config):
        return True
    raise NotModerator(
        "On this server only moderators can look up mail settings with /mailsettings; a moderator can open it "
        "to everyone with `/config mailsettings public: True`."
    )


class Probe(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        # One guard for every probe and discovery the bot runs, so the limits hold across both commands (and,
        # with Redis, across every process of the bot).
        self.guard = bot.probe_guard

    async def _audit(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        target: str,
        address: str | None,
        outcome: str,
        duration_ms: float,
    ) -> None:
        """Written after the member has the answer: a write can wait seconds for SQLite's lock, and when it fails
        the loss is logged for the operators instead of turning the member's answer into an error."""
        try:
            await app_of(self.bot).storage.record_probe(
                user_id=interaction.user.id,
                guild_id=interaction.guild_id,
                action=action,
                target=target,
                address=address,
                outcome=outcome,
                duration_ms=round(duration_ms),
            )
        except Exception:
            log.exception("could not write the audit record of %s %s (%s)", ACTION_NAMES[action], target, outcome)

    async def _refuse(
        self,
        interaction: discord.Interaction,
        reason: str,
        *,
        action: str,
        target: str,
        started: float,
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        # The reason may quote what was typed (a host name that is not one): shown literally.
        embed = text_embed("Refused", escape_markdown(reason), tone=Tone.ERROR)
        try:
            if interaction.response.is_done():
                # Deferred: a follow-up would take the deferral's visibility anyway, so say it in its place.
                await interaction.edit_original_response(embed=embed, allowed_mentions=NO_MENTIONS)
            else:
                await send_ephemeral(interaction, embed)
        finally:
            await self._audit(
                interaction,
                action=action,
                target=target,
                address=None,
                outcome=refused_outcome(reason),
                duration_ms=duration_ms,
            )

    async def _failed(self, interaction: discord.Interaction, *, action: str, target: str, started: float) -> None:
        """A bug, not a finding (already logged): the "thinking…" message never left hanging, then audited."""
        duration_ms = (time.perf_counter() - started) * 1000
        embed = text_embed(
            "Something went wrong",
            "The check did not finish; the error is logged for the bot's operators.",
            tone=Tone.ERROR,
        )
        try:
            await interaction.edit_original_response(embed=embed, allowed_mentions=NO_MENTIONS)
        finally:
            await self._audit(
                interaction, action=action, target=target, address=None, outcome="error", duration_ms=duration_ms
            )

    async def _run_and_answer(
        self,
        interaction: discord.Interaction,
        *,
        action: str,
        audit_target: str,
        target_key: str,
        private: bool,
        started: float,
        work: Callable[[], Awaitable[ResultT]],
        show: Callable[[ResultT], Finished],
    ) -> None:
        """Check the limits, defer, run `work` inside the guard, turn its result into the answer with `show`;
        answer refusals and failures too, and audit every outcome once the member has the answer."""
        user_key = str(interaction.user.id)
        guild_key = str(interaction.guild_id) if interaction.guild_id is not None else None
        try:
            await self.guard.check(user_key, guild_key, target_key)  # refuse now, before "thinking…"
        except ProbeRefused as exc:
            await self._refuse(interaction, exc.reason, action=action, target=audit_target, started=started)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        try:
            async with self.guard.admit(user_key, guild_key, target_key):
                result = await work()
            finished = show(result)
        except ProbeRefused as exc:
            await self._refuse(interaction, exc.reason, action=action, target=audit_target, started=started)
            return
        except Exception:  # whatever broke, the member must not be left at "thinking…"
            log.exception("%s of %s failed", ACTION_NAMES[action], audit_target)
            await self._failed(interaction, action=action, target=audit_target, started=started)
            return
        count(self.bot, "probes")
        try:
            await interaction.edit_original_response(embed=finished.embed, allowed_mentions=NO_MENTIONS)
        finally:
            await self._audit(
                interaction,
                action=action,
                target=audit_target,
                address=finished.address,
                outcome=finished.outcome,
                duration_ms=finished.duration_ms,
            )

    @app_commands.command(
        name="probe", description="Check a mail server: DNS, connection, TLS, greeting, certificate (moderators)"
    )
    @app_commands.describe(
        host="Server name or IP address, e.g. imap.example.com",
        port="Port number (993, 143, 995, 110, 465, 587, 25, 2525); or give protocol and security",
        protocol="Mail protocol (default: the usual one for the port)",
        security="Connection security (default: the usual one for the port)",
        private="Only you see the result (default: everyone in the channel)",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(require_moderator)
    async def probe(
        self,
        interaction: discord.Interaction,
        *,
        host: app_commands.Range[str, 1, HOST_MAX_LENGTH],
        port: app_commands.Range[int, 1, 65535] | None = None,
        protocol: Literal["imap", "pop3", "smtp"] | None = None,
        security: Literal["ssl", "starttls", "plain"] | None = None,
        private: bool = False,
    ) -> None:
        started = time.perf_counter()
        settings = app_of(self.bot).settings
        try:
            target = parse_target(host, port, protocol, security, settings)
        except ProbeRefused as exc:
            audit_target = typed_target(host, port, protocol, security)
            await self._refuse(interaction, exc.reason, action="probe", target=audit_target, started=started)
            return
        def show(result: ProbeResult) -> Finished:
            card = probe_card(result, snapshot(self.bot).knowledge)
            return Finished(card_embed(card), result.address, result.outcome, result.elapsed_ms)

        await self._run_and_answer(
            interaction,
            action="probe",
            audit_target=target_text(target),
            target_key=target.key,
            private=private,
            started=started,
            work=lambda: run_probe(target, settings, guard=self.guard),
            show=show,
        )

    @app_commands.command(name="probe-history", description="The latest probes on this server (moderators)")
    @app_commands.describe(limit=f"How many to show (default {HISTORY_DEFAULT})")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.check(require_moderator)
    async def probe_history(
        self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, HISTORY_MAX] = HISTORY_DEFAULT
    ) -> None:
        assert interaction.guild_id is not None  # guild_only and the moderator check
        rows = await app_of(self.bot).storage.probe_history(interaction.guild_id, limit=limit)
        await send_ephemeral(interaction, card_embed(history_card(rows)))

    @app_commands.command(name="mailsettings", description="Find a mail domain's incoming and outgoing server settings")
    @app_commands.describe(
        domain="The part of the address after @, e.g. example.com (or the whole address)",
        private="Only you see the result (default: everyone in the channel)",
    )
    @app_commands.guild_only()
    @app_commands.check(require_mailsettings_access)
    async def mailsettings(
        self,
        interaction: discord.Interaction,
        *,
        domain: app_commands.Range[str, 1, HOST_MAX_LENGTH],
        private: bool = False,
    ) -> None:
        started = time.perf_counter()
        settings = app_of(self.bot).settings
        try:
            name = normalize_domain(domain)
        except ProbeRefused as exc:
            audit_target = typed_target(domain, None, None, None)
            await self._refuse(interaction, exc.reason, action="discover", target=audit_target, started=started)
            return
        def show(result: DiscoveryResult) -> Finished:
            found = [item for item in (result.incoming, result.outgoing) if item is not None]
            addresses = sorted({item.probe.address for item in found if item.probe and item.probe.address})
            embed = card_embed(discovery_card(result, snapshot(self.bot).knowledge))
            return Finished(embed, ", ".join(addresses) or None, result.outcome, result.elapsed_ms)

        await self._run_and_answer(
            interaction,
            action="discover",
            audit_target=name,
            target_key=name,
            private=private,
            started=started,
            # The guard also counts every host and address the discovery reaches against the per-target cap.
            work=lambda: discover(name, settings, guard=self.guard),
            show=show,
        )


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Probe(bot))
