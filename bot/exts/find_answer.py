"""Apps → "Find an answer" and "Post an answer": the bot's answer to any message, on request.

"Find an answer" (everyone) shows the answer only to whoever asked, with a "Post publicly" button that posts it
as a reply to that message. "Post an answer" (moderators) posts it at once; when the bot is not sure it posts
nothing and shows its best guesses privately instead. The question is the message's text plus what its
screenshots say.

The "Post publicly" button is persistent (`DynamicItem`): its custom_id names the target's channel and message,
and the entry to post is the one the private answer shows (its 👍 button carries it, and it changes when the
answer is switched to another suggestion). Both are checked on every click, since a client can send any id.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cards.card import Tone
from bot.conversation import Incoming, ReplyKind, Silent, clean_question
from bot.exts.answers import Answers
from bot.exts.common import (
    NO_MENTIONS,
    app_of,
    card_embed,
    count_lost_reply,
    guild_config,
    observe_latency,
    require_moderator,
    rules_for,
    send_ephemeral,
    snapshot,
    text_embed,
)
from bot.exts.errors import replies_on_failure
from bot.exts.feedback import answer_view, shown_entry_id, switcher_entry_ids, switcher_options
from bot.exts.screenshots import read_screenshots
from bot.validation import BadInput

if TYPE_CHECKING:
    import re

    from bot.app import GuideNestBot
    from bot.conversation import AnswerRules, Reply

log = logging.getLogger(__name__)

FIND_AN_ANSWER = "Find an answer"
POST_AN_ANSWER = "Post an answer"
# Messages people write; every other type is a system message (pins, joins, thread notices, boosts).
_ANSWERABLE_TYPES = (discord.MessageType.default, discord.MessageType.reply)

NOT_POSTED = "**Not posted:** I'm not sure enough to answer this publicly."
PICK_AND_POST = " My best guesses are below: pick one, and press **Post publicly** if it fits."
EMPTY_TARGET = (
    "That message has no text to look up and no screenshot I could read. Use it on the message with the question "
    "or the error, or ask with `/ask`."
)
CANNOT_POST = (
    "I can't post in this channel. I need Send Messages (Send Messages in Threads inside a thread or forum post) "
    "and Read Message History, which replies require."
)


def nothing_to_answer(bot: GuideNestBot, message: discord.Message) -> str | None:
    """Why `message` cannot be answered at all, or None when it can."""
    if bot.user is not None and message.author.id == bot.user.id:
        return "That's one of my own messages, so there is nothing to answer there."
    if message.type not in _ANSWERABLE_TYPES:
        return "That's a system message (a pin, a join, a thread notice…), so there is nothing to answer there."
    return None


async def post_reply(
    interaction: discord.Interaction, target: discord.Message, embed: discord.Embed, view: discord.ui.View | None
) -> discord.Message | None:
    """Reply to `target` without pinging anyone; a reply Discord refuses is explained to the invoker privately."""
    try:
        return await target.reply(
            embed=embed, view=view or discord.utils.MISSING, mention_author=False, allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException as exc:
        log.warning("could not post an answer in channel %s: %s", target.channel.id, exc)
        count_lost_reply(interaction.client, exc)
        reason = CANNOT_POST if isinstance(exc, discord.Forbidden) else f"Discord refused the reply ({exc.status})."
        await send_ephemeral(interaction, text_embed("Not posted", reason, tone=Tone.ERROR))
        return None


class PostPubliclyButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"gn:post:(?P<channel>\d{1,20}):(?P<message>\d{1,20})",
):
    """Under a private answer: posts it as a reply to the message it answers."""

    def __init__(self, channel_id: int, message_id: int) -> None:
        self.channel_id = channel_id
        self.message_id = message_id
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                emoji="📣",
                label="Post publicly",
                custom_id=f"gn:post:{channel_id}:{message_id}",
            ),
            row=1,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PostPubliclyButton:
        return cls(int(match["channel"]), int(match["message"]))

    @replies_on_failure("the Post publicly button")
    async def callback(self, interaction: discord.Interaction) -> None:
        bot = app_of(interaction.client)
        answer = interaction.message  # the private answer the button sits on, as Discord has it
        if answer is None or not answer.flags.ephemeral or not answer.embeds:
            raise BadInput("This button only works under a private answer from “Find an answer”.")
        channel = interaction.channel
        if interaction.channel_id != self.channel_id or not isinstance(channel, discord.abc.Messageable):
            raise BadInput("That button belongs to a message in another channel.")
        stored = await bot.storage.answer(answer.id)
        entry_id = shown_entry_id(answer) or (stored.entry_id if stored is not None else None)
        if entry_id is None:
            raise BadInput("Pick an answer from the menu first, then post it.")
        if snapshot(bot).knowledge.entry(entry_id) is None:
            raise BadInput("That answer was removed from the knowledge base since, so I can't post it.")
        # Fetching and posting take two requests; a deferred update keeps Discord's 3 s from running out.
        await interaction.response.defer()
        try:
            target = await channel.fetch_message(self.message_id)
        except discord.NotFound:
            raise BadInput("The message this answer was for is gone, so there is nothing to reply to.") from None
        options = switcher_options(answer)
        view = answer_view(entry_id=entry_id, owner_id=target.author.id, options=options)
        sent = await post_reply(interaction, target, answer.embeds[0], view)
        if sent is None:
            return
        offered = [i for i in switcher_entry_ids(answer) if i != entry_id]
        await bot.storage.record_answer(
            message_id=sent.id,
            guild_id=interaction.guild_id,
            channel_id=self.channel_id,
            entry_id=entry_id,
            # The question as asked (screenshot text included) is stored with the private answer.
            query=stored.query if stored is not None else clean_question(target.content),
            suggestions=offered or (stored.suggestions if stored is not None else ()),
        )
        await interaction.edit_original_response(
            content=f"Posted: {sent.jump_url}", view=None, allowed_mentions=NO_MENTIONS
        )


class FindAnswer(commands.Cog):
    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot
        self.find_menu = app_commands.ContextMenu(name=FIND_AN_ANSWER, callback=self.find_an_answer)
        post_menu = app_commands.ContextMenu(name=POST_AN_ANSWER, callback=self.post_an_answer)
        # Hidden from members without Manage Server; a server can open it to more roles, so the bot checks too.
        post_menu.default_permissions = discord.Permissions(manage_guild=True)
        app_commands.guild_only(post_menu)
        post_menu.add_check(require_moderator)
        self.post_menu = post_menu

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.find_menu)
        self.bot.tree.add_command(self.post_menu)
        self.bot.add_dynamic_items(PostPubliclyButton)

    async def cog_unload(self) -> None:
        for menu in (self.find_menu, self.post_menu):
            self.bot.tree.remove_command(menu.name, type=menu.type)
        self.bot.remove_dynamic_items(PostPubliclyButton)

    async def find_an_answer(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self._answer(interaction, message, publish=False)

    async def post_an_answer(self, interaction: discord.Interaction, message: discord.Message) -> None:
        await self._answer(interaction, message, publish=True)

    async def _answer(self, interaction: discord.Interaction, target: discord.Message, *, publish: bool) -> None:
        refusal = nothing_to_answer(self.bot, target)
        if refusal is not None:
            await send_ephemeral(interaction, text_embed("Nothing to answer", refusal))
            return
        started = time.perf_counter()
        # In a direct message nobody else can see the answer anyway, so it is an ordinary, lasting message.
        private = interaction.guild_id is not None
        # Reading screenshots can take longer than the 3 s Discord gives to answer.
        await interaction.response.defer(ephemeral=private, thinking=True)
        image_text = await read_screenshots(self.bot, target)
        config = await guild_config(self.bot, interaction.guild_id)
        rules = rules_for(self.bot, config)
        incoming = Incoming(
            text=target.content,
            author_id=interaction.user.id,
            channel_id=target.channel.id,
            guild_id=interaction.guild_id,
            parent_id=getattr(target.channel, "parent_id", None),
            title=Answers.forum_title(target),
            command=True,
            image_text=image_text,
        )
        conversation = app_of(self.bot).conversation
        decision = await conversation.decide(incoming, rules)
        if isinstance(decision, Silent) or decision.kind is ReplyKind.NOTHING_TO_LOOK_UP:
            await send_ephemeral(interaction, text_embed("Nothing to look up", EMPTY_TARGET, tone=Tone.ERROR))
            return
        if publish and decision.confident and decision.entry_id is not None:
            await self._publish(interaction, target, incoming, decision, rules)
            return
        view = answer_view(
            entry_id=decision.entry_id, owner_id=interaction.user.id, alternatives=decision.alternatives
        )
        postable = private and (decision.entry_id is not None or bool(decision.alternatives))
        if postable:
            view = view or discord.ui.View(timeout=None)
            view.add_item(PostPubliclyButton(target.channel.id, target.id))
        # After the deferral the first follow-up takes the place of the "thinking…" message.
        shown = await interaction.followup.send(
            content=NOT_POSTED + (PICK_AND_POST if postable else "") if publish else discord.utils.MISSING,
            embed=card_embed(decision.card),
            view=view or discord.utils.MISSING,
            ephemeral=private,
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )
        observe_latency(self.bot, started)
        # Recorded like /ask's answers: its votes count, and "Post publicly" finds the question here.
        await conversation.delivered(incoming, decision, rules, shown.id)

    async def _publish(
        self,
        interaction: discord.Interaction,
        target: discord.Message,
        incoming: Incoming,
        decision: Reply,
        rules: AnswerRules,
    ) -> None:
        view = answer_view(entry_id=decision.entry_id, owner_id=target.author.id, alternatives=decision.alternatives)
        sent = await post_reply(interaction, target, card_embed(decision.card), view)
        if sent is None:
            return
        await app_of(self.bot).conversation.delivered(incoming, decision, rules, sent.id)
        await send_ephemeral(interaction, text_embed("Posted", f"My answer is under the message: {sent.jump_url}"))


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(FindAnswer(bot))
