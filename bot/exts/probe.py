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

from bot.exts.common import (
    COLOUR_ANSWER,
    COLOUR_ERROR,
    COLOUR_INFO,
    COLOUR_UNSURE,
    EMBED_TOTAL_LIMIT,
    NO_MENTIONS,
    NotInGuild,
    NotModerator,
    app_of,
    card_embed,
    count,
    fit_lines,
    is_moderator,
    require_moderator,
    send_ephemeral,
    snapshot,
    text_embed,
)
from bot.probe import (
    ProbeGuard,
    ProbeRefused,
    Security,
    diagnose,
    discover,
    normalize_domain,
    parse_target,
    run_probe,
)
from bot.probe.model import PROTOCOL_LABELS
from bot.render import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    TITLE_LIMIT,
    Card,
    Field,
    escape_markdown,
    shorten,
    sources_text,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.app import GuideNestBot
    from bot.knowledge.model import Entry, KnowledgeBase
    from bot.probe import DiscoveryResult, ProbeResult, ProbeTarget, Recommendation
    from bot.probe.discovery import Refusal
    from bot.storage import ProbeAuditRow

log = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

HOST_MAX_LENGTH = 300  # a little over a DNS name's 253, so that the core can say what is wrong
HISTORY_DEFAULT = 10
HISTORY_MAX = 25
AUDIT_TEXT_LIMIT = 300
DISCOVERY_ENTRY = "email-settings-discovery"
ACTION_NAMES = {"probe": "/probe", "discover": "/mailsettings"}
SOURCE_LABELS = {"autoconfig": "the provider's autoconfig file", "srv": "DNS SRV records", "guess": "a guess"}


# --- what the member sees -----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _excerpt(answer: str, limit: int) -> str:
    """The whole answer when it fits; otherwise its first paragraphs, cut where a paragraph ends."""
    if len(answer) <= limit:
        return answer
    marker = "\n…"
    kept: list[str] = []
    used = len(marker)
    for paragraph in answer.split("\n\n"):
        cost = len(paragraph) + (2 if kept else 0)
        if used + cost > limit:
            break
        kept.append(paragraph)
        used += cost
    if not kept:
        return shorten(answer, limit)
    return "\n\n".join(kept) + marker


def what_this_means(summary: str, entry: Entry | None, limit: int) -> str:
    """The "What this means" part: the diagnosis in one sentence, then the knowledge entry as far as room allows."""
    text = f"**What this means**\n{escape_markdown(summary)}"
    limit = max(limit, 1)
    if entry is None:
        return shorten(text, limit)
    heading = f"\n\n**{entry.title}**\n"
    room = limit - len(text) - len(heading)
    if room < 80:
        return shorten(text, limit)
    return text + heading + _excerpt(entry.answer, room)


def _description_room(title: str, fields: list[Field], footer: str, used: int = 0) -> int:
    fixed = len(title) + len(footer) + sum(len(f.name) + len(f.value) for f in fields) + used
    return max(0, min(DESCRIPTION_LIMIT - used, EMBED_TOTAL_LIMIT - fixed))


def _field(name: str, value: str, *, inline: bool = False) -> Field:
    return Field(name, shorten(value, FIELD_VALUE_LIMIT), inline=inline)


def certificate_text(result: ProbeResult) -> str | None:
    certificate = result.tls.certificate if result.tls else None
    if certificate is None:
        return None
    left = certificate.days_left
    validity = f"{left} days left" if left >= 0 else f"EXPIRED {-left} days ago"
    trusted = _yes(certificate.trusted)
    if certificate.verify_error:
        trusted += f" ({escape_markdown(certificate.verify_error)})"
    names = ", ".join(certificate.sans) or "(none)"
    return "\n".join(
        (
            f"Subject: {escape_markdown(certificate.subject)}",
            f"Issuer: {escape_markdown(certificate.issuer)}",
            f"Names: {escape_markdown(shorten(names, 400))}",
            f"Valid until: {certificate.not_after[:10]} ({validity})",
            (
                f"Matches the host: {_yes(certificate.hostname_matches)} · Trusted: {trusted} · "
                f"Self-signed: {_yes(certificate.self_signed)}"
            ),
        )
    )


def starttls_text(result: ProbeResult) -> str:
    if result.starttls_offered is not None:
        return "offered" if result.starttls_offered else "not offered"
    if result.target.security is Security.SSL:
        return "not used (SSL/TLS from the start)"
    return "not checked (the probe stopped earlier)"


def probe_card(result: ProbeResult, knowledge: KnowledgeBase) -> Card:
    """A probe's outcome, what it means in the knowledge base's words, and the technical details."""
    target = result.target
    title = shorten(f"Probe: {target.describe()}", TITLE_LIMIT)
    if result.ok:
        status = f"✅ **Works** — checked in {_ms(result.elapsed_ms)}."
    elif result.error is not None:
        stage = result.error.stage.value.replace("_", " ")
        status = (
            f"❌ **Failed** at the {stage} step ({result.error.kind.value}): "
            f"{escape_markdown(shorten(result.error.message, 300))}"
        )
    else:
        status = "❌ **Failed**."
    fields = [_field("Address", result.address or "not resolved", inline=True)]
    fields.append(_field("STARTTLS", starttls_text(result), inline=True))
    if result.tls is not None:
        fields.append(_field("TLS", f"{result.tls.version or '?'}, {result.tls.cipher or '?'}", inline=True))
    if result.stages:
        timings = " · ".join(f"{name.replace('_', ' ')} {_ms(ms)}" for name, ms in result.stages.items())
        fields.append(_field("Stages", f"{timings} · total {_ms(result.elapsed_ms)}"))
    if result.banner:
        fields.append(_field("Banner", escape_markdown(result.banner)))
    if result.detected_protocol:
        fields.append(_field("The server speaks", escape_markdown(result.detected_protocol), inline=True))
    if result.capabilities:
        fields.append(_field("Capabilities", escape_markdown(" ".join(result.capabilities))))
    certificate = certificate_text(result)
    if certificate is not None:
        fields.append(_field("Certificate", certificate))
    diagnosis = diagnose(result)
    entry = knowledge.entry(diagnosis.entry) if diagnosis.entry else None
    if entry is not None and entry.sources:
        fields.append(Field("Source", sources_text(entry)))
    footer = "Greeting-level check only: the bot never logs in or sends mail."
    if entry is not None:
        footer = f"Knowledge entry: {entry.id} · {footer}"
    room = _description_room(title, fields, footer, used=len(status) + 2)
    description = status + "\n\n" + what_this_means(diagnosis.summary, entry, room)
    return Card(
        title=title,
        description=description,
        fields=tuple(fields),
        footer=footer,
        entry_id=entry.id if entry is not None else None,
    )


def _recommendation_field(label: str, item: Recommendation | None, *, refused: bool = False) -> Field:
    if item is None and refused:
        return Field(
            label, "Not found: the published server was refused (see below), and no usual server name answered."
        )
    if item is None:
        return Field(label, "Not found: no published setting, and none of the usual server names answered.")
    lines = [f"**{item.describe()}** (from {SOURCE_LABELS.get(item.source, item.source)})"]
    lines += [f"• {escape_markdown(line)}" for line in item.evidence]
    return _field(label, "\n".join(lines))


REFUSAL_SOURCES = {"autoconfig": "autoconfig file", "srv": "SRV record"}
REFUSAL_REASON_SHOWN = 110  # the reason's start says what the place is; its end is the same rule each time


def refusals_text(refusals: list[Refusal]) -> str:
    """One short line per published server that was refused, as many as fit in a field."""
    lines = []
    for refusal in refusals:
        where = f"{refusal.direction}, {REFUSAL_SOURCES.get(refusal.source, refusal.source)}"
        what = f"{PROTOCOL_LABELS[refusal.protocol]} {refusal.host} port {refusal.port} ({where})"
        lines.append(f"• {escape_markdown(what)}: {escape_markdown(shorten(refusal.reason, REFUSAL_REASON_SHOWN))}")
    shown = fit_lines(lines, FIELD_VALUE_LIMIT - 40)
    left = len(refusals) - shown.count("\n") - 1
    return shown + (f"\n… and {left} more" if left > 0 else "")


def discovery_card(result: DiscoveryResult, knowledge: KnowledgeBase) -> Card:
    """The recommended incoming and outgoing settings, each with the evidence behind it."""
    title = shorten(f"Mail settings for {result.domain}", TITLE_LIMIT)
    refused_directions = {refusal.direction for refusal in result.refused}
    fields = [
        _recommendation_field("Incoming", result.incoming, refused="incoming" in refused_directions),
        _recommendation_field("Outgoing", result.outgoing, refused="outgoing" in refused_directions),
    ]
    if result.refused:
        # Never a recommendation: the provider published them, but the probe does not go to such places.
        fields.append(Field("Refused (not recommended)", refusals_text(result.refused)))
    if result.notes:
        fields.append(_field("Notes", "\n".join(f"• {escape_markdown(note)}" for note in result.notes)))
    autoconfig = result.autoconfig
    if autoconfig is not None and autoconfig.url is None and autoconfig.attempts:
        # The URLs are built from the domain the member typed: shown as text, not as links in the bot's voice.
        tried = "\n".join(f"{escape_markdown(url)}: {escape_markdown(outcome)}" for url, outcome in autoconfig.attempts)
        fields.append(_field("Autoconfig files tried", tried))
    footer = f"Looked up in {result.elapsed_ms / 1000:.1f} s · Knowledge entry: {DISCOVERY_ENTRY}"
    if result.outcome == "nothing" and result.refused:
        status = (
            f"I found no usable mail settings for {result.domain}: the servers it publishes were refused (see "
            "below), and none of the usual server names answered. The provider's help pages list them."
        )
    elif result.outcome == "nothing":
        status = (
            f"I found no mail settings for {result.domain}: no autoconfig file, no SRV records, and none of "
            "the usual server names answered. The provider's help pages list them."
        )
    else:
        status = "\n".join(
            f"**{label}:** {item.describe()}" if item else f"**{label}:** not found"
            for label, item in (("Incoming", result.incoming), ("Outgoing", result.outgoing))
        )
        if result.outcome == "partial":
            status += "\nOnly part of the settings could be confirmed; check the missing one with the provider."
    entry = knowledge.entry(DISCOVERY_ENTRY)
    room = _description_room(title, fields, footer, used=len(status) + 2)
    explanation = ""
    # How mail apps look settings up explains a gap; when both were found the evidence says enough.
    if result.outcome != "found" and entry is not None and room > 120:
        explanation = f"\n\n**{entry.title}**\n" + _excerpt(entry.answer, room - len(entry.title) - 8)
    return Card(
        title=title,
        description=status + explanation,
        fields=tuple(fields),
        footer=footer,
        entry_id=entry.id if entry is not None else None,
    )


def history_line(row: ProbeAuditRow) -> str:
    when = f"<t:{int(row.at.timestamp())}:R>"
    who = f"<@{row.user_id}>" if row.user_id is not None else "someone"
    action = ACTION_NAMES.get(row.action, row.action)
    address = f" → {row.address}" if row.address else ""
    target = escape_markdown(shorten(row.target, 120))
    outcome = escape_markdown(shorten(row.outcome, 160))
    return f"{when} {who} {action} **{target}**{address} · {outcome} · {row.duration_ms} ms"


def history_card(rows: list[ProbeAuditRow]) -> Card:
    if not rows:
        description = "No probes on this server yet. Moderators run them with `/probe` and `/mailsettings`."
    else:
        description = fit_lines([history_line(row) for row in rows], DESCRIPTION_LIMIT)
    return Card(
        title="Recent probes on this server",
        description=description,
        footer="Newest first · who, what, the address reached, the outcome and how long it took",
    )


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
        # One guard for every probe and discovery the bot runs, so the limits hold across both commands.
        self.guard = ProbeGuard(bot.settings)

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
        embed = text_embed("Refused", escape_markdown(reason), colour=COLOUR_ERROR)
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
            colour=COLOUR_ERROR,
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
            self.guard.check(user_key, guild_key, target_key)  # refuse now, before "thinking…"
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
            colour = COLOUR_ANSWER if result.ok else COLOUR_UNSURE
            return Finished(card_embed(card, colour=colour), result.address, result.outcome, result.elapsed_ms)

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
        await send_ephemeral(interaction, card_embed(history_card(rows), colour=COLOUR_INFO))

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
            card = discovery_card(result, snapshot(self.bot).knowledge)
            colour = {"found": COLOUR_ANSWER, "partial": COLOUR_UNSURE}.get(result.outcome, COLOUR_ERROR)
            embed = card_embed(card, colour=colour)
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
