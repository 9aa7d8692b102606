"""`/config` (moderators): where the bot answers on its own, how sure it must be, cooldowns, moderator role,
the forum tag that marks a post solved.

`default_permissions(manage_guild=True)` hides the group from members without Manage Server; a server can
grant it to more roles in its integration settings, so the check also runs at invocation
(`interaction_check`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import FIELD_VALUE_LIMIT, Card, Field, Tone, escape_markdown
from bot.exts.common import (
    NO_MENTIONS,
    app_of,
    card_embed,
    require_moderator,
    rules_for,
    send_ephemeral,
    text_embed,
)
from bot.validation import BadInput, checked_number

if TYPE_CHECKING:
    from bot.app import GuideNestBot
    from bot.storage import GuildConfig

MAX_COOLDOWN_SECONDS = 86_400  # a day; longer is the same as never repeating
FORUM_TAG_NAME_MAX = 20  # Discord's longest forum tag name
MAX_CHOICES = 25  # autocomplete choices Discord shows
MAX_USER_LIMIT = 100
CHANNELS_SHOWN = 40

AnswerableChannel = discord.TextChannel | discord.ForumChannel | discord.Thread


def channels_text(channel_ids: frozenset[int]) -> str:
    if not channel_ids:
        return "Nowhere yet — members can still mention me. Turn it on with `/config channel`."
    ids = sorted(channel_ids)
    shown = " ".join(f"<#{channel_id}>" for channel_id in ids[:CHANNELS_SHOWN])
    if len(ids) > CHANNELS_SHOWN:
        shown += f" and {len(ids) - CHANNELS_SHOWN} more"
    return shown[:FIELD_VALUE_LIMIT]


def _default_note(value: object) -> str:
    return " (bot default)" if value is None else ""


def settings_card(bot: GuideNestBot, config: GuildConfig) -> Card:
    rules = rules_for(bot, config)
    role = f"<@&{config.moderator_role_id}>" if config.moderator_role_id else "None — Manage Server only"
    return Card(
        title="Guide Nest settings for this server",
        description="Only moderators can change these (Manage Server, or the moderator role).",
        fields=(
            Field("Answers on its own in", channels_text(config.enabled_channels)),
            Field(
                "Confidence",
                f"{rules.confidence.value}{_default_note(config.confidence)} — how sure I must be to answer "
                "unasked",
                inline=True,
            ),
            Field(
                "Cooldown",
                f"{rules.cooldown_seconds:g} s{_default_note(config.answer_cooldown_seconds)} "
                "before the same answer again in a channel",
                inline=True,
            ),
            Field(
                "Per-member limit",
                f"{rules.user_limit} answers per {rules.user_window_seconds:g} s"
                f"{_default_note(config.user_rate_limit)}",
                inline=True,
            ),
            Field("Moderator role", role),
            Field(
                "/mailsettings",
                "Everyone may use it" if config.mailsettings_public else "Moderators only",
                inline=True,
            ),
            Field(
                "Solved tag",
                f"**{escape_markdown(config.solved_tag)}** — added to a forum post when its author rates my answer 👍"
                if config.solved_tag
                else "None — set one with `/config solved-tag`",
                inline=True,
            ),
        ),
    )


def forum_tag_names(guild: discord.Guild | None) -> list[str]:
    """The tag names of a server's forums, each once whatever its case, in the order the forums list them."""
    names: dict[str, str] = {}
    for forum in guild.forums if guild is not None else ():
        for tag in forum.available_tags:
            names.setdefault(tag.name.casefold(), tag.name)
    return list(names.values())


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ServerConfig(
    commands.GroupCog,
    group_name="config",
    group_description="Guide Nest settings for this server (moderators)",
):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await require_moderator(interaction)

    async def _changed(self, interaction: discord.Interaction, config: GuildConfig, summary: str) -> None:
        # The answering cog caches guild settings; tell it (in every process) they changed.
        await self.bot.guild_config_changed(config.guild_id)
        # The settings as they are now, in the colour of a change that took.
        card = replace(settings_card(self.bot, config), tone=Tone.ANSWER)
        await interaction.response.send_message(
            content=summary,
            embed=card_embed(card),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @app_commands.command(name="show", description="Show this server's Guide Nest settings")
    async def show(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None  # guild_only
        config = await app_of(self.bot).storage.guild_config(interaction.guild_id)
        await send_ephemeral(interaction, card_embed(settings_card(self.bot, config)))

    @app_commands.command(
        name="channel", description="Turn answering on its own on or off in a channel or forum"
    )
    @app_commands.describe(
        enabled="True: answer confident matches to every message there; False: only when mentioned",
        channel="A text channel, forum or thread (default: this channel)",
    )
    async def channel(
        self, interaction: discord.Interaction, enabled: bool, channel: AnswerableChannel | None = None
    ) -> None:
        assert interaction.guild_id is not None
        target_id = channel.id if channel is not None else interaction.channel_id
        if target_id is None:
            await send_ephemeral(
                interaction, text_embed("Which channel?", "Pick a channel.", tone=Tone.ERROR)
            )
            return
        storage = app_of(self.bot).storage
        await storage.set_channel_enabled(interaction.guild_id, target_id, enabled)
        config = await storage.guild_config(interaction.guild_id)
        state = "now answer questions on my own in" if enabled else "no longer answer on my own in"
        await self._changed(interaction, config, f"I'll {state} <#{target_id}>.")

    @app_commands.command(name="confidence", description="How sure the bot must be before answering unasked")
    @app_commands.describe(
        level="strict: fewer, surer answers; relaxed: more answers, more misses; default: the bot's setting"
    )
    async def confidence(
        self, interaction: discord.Interaction, level: Literal["strict", "normal", "relaxed", "default"]
    ) -> None:
        assert interaction.guild_id is not None
        config = await app_of(self.bot).storage.update_guild_config(
            interaction.guild_id, confidence=None if level == "default" else level
        )
        await self._changed(interaction, config, f"Confidence set to **{level}**.")

    @app_commands.command(
        name="cooldowns", description="Cooldown on repeating an answer, and answers per member"
    )
    @app_commands.describe(
        answer_seconds="Seconds before the same answer is posted again in a channel (0: no cooldown)",
        user_limit="Most answers per member in the rate window",
        reset="Go back to the bot's defaults for both",
    )
    async def cooldowns(
        self,
        interaction: discord.Interaction,
        answer_seconds: app_commands.Range[float, 0, MAX_COOLDOWN_SECONDS] | None = None,
        user_limit: app_commands.Range[int, 1, MAX_USER_LIMIT] | None = None,
        reset: bool = False,
    ) -> None:
        assert interaction.guild_id is not None
        storage = app_of(self.bot).storage
        if reset:
            config = await storage.update_guild_config(
                interaction.guild_id, answer_cooldown_seconds=None, user_rate_limit=None
            )
            await self._changed(interaction, config, "Cooldowns are back to the bot's defaults.")
            return
        if answer_seconds is None and user_limit is None:
            await send_ephemeral(
                interaction,
                text_embed(
                    "Nothing to change",
                    "Give `answer_seconds`, `user_limit`, or `reset: True`.",
                    tone=Tone.ERROR,
                ),
            )
            return
        gid = interaction.guild_id
        if answer_seconds is not None:
            # `Range` only shapes what Discord's client offers; the stored value is checked here as well.
            seconds = checked_number(answer_seconds, low=0, high=MAX_COOLDOWN_SECONDS, what="answer_seconds")
            config = await storage.update_guild_config(gid, answer_cooldown_seconds=seconds)
        if user_limit is not None:
            config = await storage.update_guild_config(gid, user_rate_limit=int(user_limit))
        await self._changed(interaction, config, "Cooldowns updated.")

    @app_commands.command(name="moderator-role", description="The role that may use moderator commands")
    @app_commands.describe(role="Members with this role count as moderators; leave empty to clear it")
    async def moderator_role(
        self, interaction: discord.Interaction, role: discord.Role | None = None
    ) -> None:
        assert interaction.guild_id is not None
        config = await app_of(self.bot).storage.update_guild_config(
            interaction.guild_id, moderator_role_id=role.id if role is not None else None
        )
        summary = (
            f"Members with <@&{role.id}> are now moderators here."
            if role is not None
            else "Moderator role cleared: only Manage Server counts."
        )
        await self._changed(interaction, config, summary)

    @app_commands.command(name="mailsettings", description="Who may use /mailsettings: everyone or moderators")
    @app_commands.describe(public="True: every member may look up mail settings; False: moderators only")
    async def mailsettings(self, interaction: discord.Interaction, public: bool) -> None:
        assert interaction.guild_id is not None
        config = await app_of(self.bot).storage.update_guild_config(
            interaction.guild_id, mailsettings_public=public
        )
        summary = (
            "Every member can now use `/mailsettings` here."
            if public
            else "`/mailsettings` is for moderators only again."
        )
        await self._changed(interaction, config, summary)


    @app_commands.command(
        name="solved-tag", description="The forum tag I add when a post's author rates my answer 👍"
    )
    @app_commands.describe(tag="A tag of this server's forums, e.g. Solved; leave empty to stop tagging posts")
    async def solved_tag(
        self, interaction: discord.Interaction, tag: app_commands.Range[str, 1, FORUM_TAG_NAME_MAX] | None = None
    ) -> None:
        assert interaction.guild_id is not None
        storage = app_of(self.bot).storage
        if tag is None:
            config = await storage.update_guild_config(interaction.guild_id, solved_tag=None)
            await self._changed(interaction, config, "Solved tag cleared: I won't tag forum posts.")
            return
        # `Range` only shapes what Discord's client offers; the stored name is checked here as well.
        name = " ".join(tag.split())
        if not 1 <= len(name) <= FORUM_TAG_NAME_MAX:
            raise BadInput(f"A forum tag name has 1 to {FORUM_TAG_NAME_MAX} characters.")
        forums = [
            forum
            for forum in (interaction.guild.forums if interaction.guild is not None else ())
            if any(t.name.casefold() == name.casefold() for t in forum.available_tags)
        ]
        config = await storage.update_guild_config(interaction.guild_id, solved_tag=name)
        if forums:
            where = " ".join(f"<#{forum.id}>" for forum in forums[:CHANNELS_SHOWN])
            summary = f"Solved tag set to **{escape_markdown(name)}**; forums that have it: {where}."
        else:
            # Saved all the same: a forum may get the tag later, and it is matched by name when a post is rated.
            summary = (
                f"Solved tag set to **{escape_markdown(name)}**, but no forum here has a tag of that name yet: "
                "add it to a forum (Edit Forum → Tags) for posts there to be tagged."
            )
        await self._changed(interaction, config, summary)

    @solved_tag.autocomplete("tag")
    async def solved_tag_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold()
        names = [name for name in forum_tag_names(interaction.guild) if typed in name.casefold()]
        return [app_commands.Choice(name=name, value=name) for name in names[:MAX_CHOICES]]


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(ServerConfig(bot))
