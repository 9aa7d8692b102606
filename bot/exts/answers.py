"""Passive answers: in enabled channels, threads and forums, and wherever the bot is mentioned or replied to.

In an enabled channel the bot speaks only when the matcher is confident, and records a miss otherwise.
Addressed directly, it always replies: the answer, or "not sure" with the closest suggestions to pick from.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.conversation import Incoming, ReplyKind, Silence, Silent, Trigger, trigger_of
from bot.exts.common import (
    NO_MENTIONS,
    app_of,
    card_embed,
    count_lost_reply,
    observe_latency,
    rules_for,
)
from bot.exts.feedback import answer_view
from bot.exts.screenshots import read_screenshots

if TYPE_CHECKING:
    from bot.app import GuideNestBot
    from bot.storage import GuildConfig

log = logging.getLogger(__name__)

_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


class Answers(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        # Guild settings read on every message, cached; /config changes announce themselves (see config.py),
        # to the other processes too when Redis is configured (bot.app's guild_config_changed).
        self._configs: dict[int, GuildConfig] = {}
        # Counts changes, so a read that started before one is not cached after it.
        self._config_changes = 0

    async def _config(self, guild_id: int | None) -> GuildConfig | None:
        if guild_id is None:
            return None
        config = self._configs.get(guild_id)
        if config is None:
            changes = self._config_changes
            # Concurrent misses of one guild share one query (the storage's single flight).
            config = await app_of(self.bot).storage.guild_config(guild_id)
            if changes == self._config_changes:
                self._configs[guild_id] = config
        return config

    @commands.Cog.listener()
    async def on_guild_config_changed(self, guild_id: int | None) -> None:
        """One guild's settings changed; None: any may have (events were missed while Redis was down)."""
        self._config_changes += 1
        if guild_id is None:
            self._configs.clear()
        else:
            self._configs.pop(guild_id, None)

    def _addressed(self, message: discord.Message) -> bool:
        """Mentioned in the text (the bot, or its own role), or written to in a direct message."""
        me = self.bot.user
        if me is None:
            return False
        if message.guild is None:
            return True  # a direct message is always for the bot
        # raw_mentions reads the text: a reply also lists the replied-to author in `mentions`, unwritten.
        if me.id in message.raw_mentions:
            return True
        # People often pick the bot's own role from the mention list instead of the bot: the managed
        # (integration) role the bot holds.
        own_roles = {role.id for role in message.guild.me.roles if role.managed}
        return any(role_id in own_roles for role_id in message.raw_role_mentions)

    def _replied_to_bot(self, message: discord.Message) -> bool:
        me = self.bot.user
        resolved = message.reference.resolved if message.reference is not None else None
        return me is not None and isinstance(resolved, discord.Message) and resolved.author.id == me.id

    @staticmethod
    def forum_title(message: discord.Message) -> str | None:
        """A forum post's title when `message` opens the post (its id is the thread's): half the question."""
        channel = message.channel
        if (
            isinstance(channel, discord.Thread)
            and message.id == channel.id
            and isinstance(channel.parent, discord.ForumChannel)
        ):
            return channel.name
        return None

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _ANSWERED_TYPES:
            return  # other bots, itself, and system messages (pins, joins, thread notices)
        started = time.perf_counter()
        config = await self._config(message.guild.id if message.guild else None)
        incoming = Incoming(
            text=message.content,
            author_id=message.author.id,
            channel_id=message.channel.id,
            guild_id=message.guild.id if message.guild else None,
            parent_id=getattr(message.channel, "parent_id", None),
            title=self.forum_title(message),
            addressed=self._addressed(message),
            replied_to_bot=self._replied_to_bot(message),
        )
        rules = rules_for(self.bot, config)
        conversation = app_of(self.bot).conversation
        # Screenshots cost a download and OCR: read only for a message the bot considers at all, from a member
        # it may still answer.
        if (
            message.attachments
            and trigger_of(incoming, rules) is not Trigger.NONE
            and await conversation.throttle.user_has_room(
                incoming.author_id, rules.user_limit, rules.user_window_seconds
            )
        ):
            image_text = await read_screenshots(self.bot, message)
            if image_text:
                incoming = dataclasses.replace(incoming, image_text=image_text)
        decision = await conversation.decide(incoming, rules)
        if isinstance(decision, Silent):
            if decision.why is Silence.RATE_LIMITED:
                log.debug("user %s is over the answer rate limit", message.author.id)
            return
        if decision.kind is ReplyKind.POINT_BACK:
            earlier = jump_url(incoming.guild_id, incoming.channel_id, decision.earlier_message_id or 0)
            sent = await self._reply(message, content=f"I answered that just above: {earlier}")
        else:
            view = answer_view(
                entry_id=decision.entry_id, owner_id=message.author.id, alternatives=decision.alternatives
            )
            sent = await self._reply(message, embed=card_embed(decision.card), view=view)
        await conversation.delivered(incoming, decision, rules, sent.id if sent is not None else None)
        if sent is not None and decision.kind is ReplyKind.ANSWER:
            observe_latency(self.bot, started)

    async def _reply(
        self,
        message: discord.Message,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> discord.Message | None:
        """Reply without pinging anyone, not even the author; a channel we may not write in is only logged."""
        parts: dict[str, Any] = {"content": content}
        if embed is not None:
            parts["embed"] = embed
        if view is not None:
            parts["view"] = view
        try:
            return await message.reply(**parts, mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.Forbidden as exc:
            log.warning("no permission to reply in channel %s", message.channel.id)
            count_lost_reply(self.bot, exc)
        except discord.HTTPException as exc:
            log.warning("reply in channel %s failed: %s", message.channel.id, exc)
            count_lost_reply(self.bot, exc)
        return None


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Answers(bot))
