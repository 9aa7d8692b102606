"""Passive answers: in enabled channels, threads and forums, and wherever the bot is mentioned or replied to.

In an enabled channel the bot speaks only when the matcher is confident, and records a miss otherwise.
Addressed directly, it always replies: the answer, or "not sure" with the closest suggestions to pick from.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.answering import Throttle, Trigger, clean_question, trigger_for
from bot.exts.common import (
    COLOUR_ANSWER,
    COLOUR_UNSURE,
    NO_MENTIONS,
    app_of,
    card_embed,
    count,
    count_lost_reply,
    observe_latency,
    rules_for,
    snapshot,
    text_embed,
)
from bot.exts.feedback import answer_view
from bot.render import answer_card, not_sure_card

if TYPE_CHECKING:
    from bot.app import GuideNestBot
    from bot.storage import GuildConfig

log = logging.getLogger(__name__)

_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
PENDING = 0  # the message id of an answer being sent right now

EMPTY_MENTION_HELP = (
    "Ask me about setting up email: paste the error your mail program shows "
    "(`535 5.7.8 Username and Password not accepted`), or ask which port or security to use "
    "(`imap port`, `smtp 587 or 465?`). `/help` lists my commands."
)


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


class Answers(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        self.throttle = Throttle()
        # Guild settings read on every message, cached; /config changes announce themselves (see config.py).
        # A guild lives on one shard, so in one process: this cache never goes stale across processes.
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
    async def on_guild_config_changed(self, guild_id: int) -> None:
        self._config_changes += 1
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
    def _question_text(message: discord.Message) -> str:
        channel = message.channel
        # A forum post's first message has the thread's id; its title is half the question.
        if (
            isinstance(channel, discord.Thread)
            and message.id == channel.id
            and isinstance(channel.parent, discord.ForumChannel)
        ):
            return f"{channel.name}\n{message.content}"
        return message.content

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.type not in _ANSWERED_TYPES:
            return  # other bots, itself, and system messages (pins, joins, thread notices)
        config = await self._config(message.guild.id if message.guild else None)
        trigger = trigger_for(
            enabled_channels=config.enabled_channels if config else frozenset(),
            channel_id=message.channel.id,
            parent_id=getattr(message.channel, "parent_id", None),
            addressed=self._addressed(message),
            replied_to_bot=self._replied_to_bot(message),
        )
        if trigger is Trigger.NONE:
            return
        count(self.bot, "messages_seen")
        started = time.perf_counter()
        question = clean_question(self._question_text(message))
        if not question:
            if trigger is Trigger.ADDRESSED:
                await self._reply(message, embed=text_embed("Hi! How can I help?", EMPTY_MENTION_HELP))
            return
        rules = rules_for(self.bot, config)
        result = snapshot(self.bot).matcher.match(question, level=rules.confidence)
        guild_id = message.guild.id if message.guild else None
        channel_id = message.channel.id
        best = result.best

        if not result.confident or best is None:
            count(self.bot, "abstentions")
            if trigger is Trigger.REPLY:
                return  # most replies to an answer are thanks, not questions
            await app_of(self.bot).storage.record_miss(
                guild_id=guild_id,
                channel_id=channel_id,
                text=question,
                reason="no_match",
                entry_id=best.entry.id if best else None,
                score=best.score if best else None,
            )
            if trigger is Trigger.ADDRESSED and self.throttle.allow_user(
                message.author.id, rules.user_limit, rules.user_window_seconds
            ):
                candidates = [] if best is None else [best]
                candidates.extend(result.suggestions)
                view = answer_view(
                    entry_id=None,
                    owner_id=message.author.id,
                    alternatives=[(s.entry, s.score) for s in candidates],
                )
                await self._reply(
                    message, embed=card_embed(not_sure_card(result), colour=COLOUR_UNSURE), view=view
                )
            return

        entry = best.entry
        earlier = self.throttle.cooling_answer(channel_id, entry.id)
        if earlier is not None:
            # The same answer was just posted here; point at it when asked directly, otherwise stay quiet.
            if earlier != PENDING and trigger is Trigger.ADDRESSED and self.throttle.allow_user(
                message.author.id, rules.user_limit, rules.user_window_seconds
            ):
                await self._reply(
                    message, content=f"I answered that just above: {jump_url(guild_id, channel_id, earlier)}"
                )
            return
        if not self.throttle.allow_user(message.author.id, rules.user_limit, rules.user_window_seconds):
            log.debug("user %s is over the answer rate limit", message.author.id)
            return
        # Claim the cooldown before sending, so the same question posted twice at once is answered once.
        self.throttle.note_answer(channel_id, entry.id, PENDING, rules.cooldown_seconds)
        sent = await self._reply(
            message,
            embed=card_embed(answer_card(best, confident=True), colour=COLOUR_ANSWER),
            view=answer_view(entry_id=entry.id),
        )
        if sent is None:
            self.throttle.forget_answer(channel_id, entry.id)
            return
        self.throttle.note_answer(channel_id, entry.id, sent.id, rules.cooldown_seconds)
        count(self.bot, "answers")
        observe_latency(self.bot, started)
        await app_of(self.bot).storage.record_answer(
            message_id=sent.id,
            guild_id=guild_id,
            channel_id=channel_id,
            entry_id=entry.id,
            query=question,
            suggestions=[s.entry.id for s in result.suggestions],
        )

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
