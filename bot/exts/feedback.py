"""What people can do with an answer: rate it (👍 / 👎) and switch to another suggestion.

Both are persistent components (`DynamicItem`): their state lives in the `custom_id`, so they keep working
after a restart without anything held in memory. A 👎 stores a vote and a miss, and offers the other
suggestions. A 👍 from the member who opened a forum post applies the server's solved tag to it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.cards.answers import picked_card
from bot.cards.card import escape_markdown, shorten
from bot.conversation import VoteResult
from bot.exts.common import (
    MAX_SELECT_OPTIONS,
    NO_MENTIONS,
    SELECT_DESCRIPTION_LIMIT,
    SELECT_LABEL_LIMIT,
    app_of,
    card_embed,
    guild_config,
    send_ephemeral,
    snapshot,
    text_embed,
)
from bot.exts.errors import replies_on_failure
from bot.exts.teach import add_teach_menu
from bot.validation import BadInput

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bot.app import GuideNestBot
    from bot.knowledge.model import Entry

log = logging.getLogger(__name__)

ENTRY_ID_IN_CUSTOM_ID = 88  # "gn:vote:down:" + id stays within Discord's 100 characters
_ENTRY_ID = re.compile(r"^[a-z0-9-]{1,88}$")
_UP_VOTE = re.compile(r"gn:vote:up:(?P<entry>[a-z0-9-]{1,88})")


def vote_custom_id(helpful: bool, entry_id: str | None) -> str:
    base = f"gn:vote:{'up' if helpful else 'down'}"
    # An id too long for the custom_id is looked up from the stored answer instead.
    return f"{base}:{entry_id}" if entry_id and _ENTRY_ID.match(entry_id) else base


def alternative_options(
    alternatives: Sequence[tuple[Entry, float | None]], current: str | None
) -> list[discord.SelectOption]:
    """One option per entry (at most 25); the value carries id and score, so a switch needs no lookup."""
    options = []
    for entry, score in alternatives[:MAX_SELECT_OPTIONS]:
        value = f"{entry.id}:{'' if score is None else f'{score:.0f}'}"
        options.append(
            discord.SelectOption(
                label=shorten(entry.title, SELECT_LABEL_LIMIT),
                value=value[:100],
                description=shorten(
                    f"Match {score:.0f}%" if score is not None else f"{entry.id}", SELECT_DESCRIPTION_LIMIT
                ),
                default=entry.id == current,
            )
        )
    return options


def _components(message: discord.Message) -> list[discord.Component]:
    return [component for row in message.components for component in getattr(row, "children", ())]


def switcher_options(message: discord.Message) -> list[discord.SelectOption]:
    """The options of the suggestions switcher on a message, as Discord sent them back."""
    for component in _components(message):
        if isinstance(component, discord.SelectMenu) and (component.custom_id or "").startswith("gn:alt:"):
            return list(component.options)
    return []


def switcher_entry_ids(message: discord.Message) -> list[str]:
    """The entry ids offered by the suggestions switcher on a message, in order."""
    return [option.value.partition(":")[0] for option in switcher_options(message)]


def shown_entry_id(message: discord.Message) -> str | None:
    """The entry an answer shows, as its 👍 button names it (None: no button, or an id too long for it)."""
    for component in _components(message):
        if isinstance(component, discord.Button) and (match := _UP_VOTE.fullmatch(component.custom_id or "")):
            return match["entry"]
    return None


def other_buttons(message: discord.Message | None) -> list[discord.ui.Button[Any]]:
    """Buttons other features put under an answer ("Post publicly"): kept when the answer is switched.
    Their clicks still reach their own persistent handlers, which match on the custom_id."""
    kept: list[discord.ui.Button[Any]] = []
    for component in _components(message) if message is not None else ():
        custom_id = component.custom_id if isinstance(component, discord.Button) else None
        if isinstance(component, discord.Button) and custom_id and not custom_id.startswith("gn:vote:"):
            kept.append(
                discord.ui.Button(
                    style=component.style, label=component.label, emoji=component.emoji, custom_id=custom_id, row=1
                )
            )
    return kept


def answer_view(
    *,
    entry_id: str | None,
    owner_id: int | None = None,
    alternatives: Sequence[tuple[Entry, float | None]] = (),
    options: Sequence[discord.SelectOption] | None = None,
) -> discord.ui.View | None:
    """The components under an answer: the suggestions switcher (when there is a choice) and 👍 / 👎.

    `options` reuses a switcher's options as they came back from Discord; otherwise they are built from
    `alternatives`.
    """
    view = discord.ui.View(timeout=None)
    if options is None:
        options = alternative_options(alternatives, entry_id)
    if owner_id is not None and (len(options) > 1 or (options and entry_id is None)):
        view.add_item(AlternativesSelect(owner_id, options))
    if entry_id is not None:
        view.add_item(VoteButton(True, entry_id))
        view.add_item(VoteButton(False, entry_id))
    return view if view.children else None


FORUM_TAGS_MAX = 5  # the most tags Discord lets one forum post carry
NEEDS_MANAGE_THREADS = "I couldn't mark this post solved: I need the Manage Threads permission."


async def mark_post_solved(interaction: discord.Interaction) -> str | None:
    """After a 👍 in a forum post by the member who opened it: apply the server's solved tag (`/config
    solved-tag`) if this forum has a tag of that name. A line for the voter, or None when nothing applies."""
    post = interaction.channel
    if not isinstance(post, discord.Thread) or not isinstance(post.parent, discord.ForumChannel):
        return None
    if post.owner_id != interaction.user.id:
        return None  # only the member who asked can say the answer solved it
    config = await guild_config(interaction.client, interaction.guild_id)
    wanted = config.solved_tag if config is not None else None
    if not wanted:
        return None
    # Each forum has its own tags: the setting names one, matched without regard to case.
    tag = next((t for t in post.parent.available_tags if t.name.casefold() == wanted.casefold()), None)
    applied = post.applied_tags
    if tag is None or any(t.id == tag.id for t in applied):
        return None
    shown = escape_markdown(tag.name)
    if len(applied) >= FORUM_TAGS_MAX:
        return f"I couldn't mark this post {shown}: it already has {FORUM_TAGS_MAX} tags, Discord's most."
    if not interaction.app_permissions.manage_threads:
        log.warning("no Manage Threads permission to tag forum post %s as solved", post.id)
        return NEEDS_MANAGE_THREADS
    try:
        await post.edit(applied_tags=[*applied, tag])
    except discord.HTTPException as exc:
        log.warning("tagging forum post %s as solved failed: %s", post.id, exc)
        return NEEDS_MANAGE_THREADS if isinstance(exc, discord.Forbidden) else "I couldn't mark this post solved."
    return f"Marked this post **{shown}**."


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"gn:vote:(?P<kind>up|down)(?::(?P<entry>[a-z0-9-]{1,88}))?",
):
    """👍 / 👎 under an answer; the entry id is in the custom_id so a switched answer is rated as shown."""

    def __init__(self, helpful: bool, entry_id: str | None) -> None:
        self.helpful = helpful
        self.entry_id = entry_id if entry_id and _ENTRY_ID.match(entry_id) else None
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if helpful else "👎",
                label="Helpful" if helpful else "Not helpful",
                custom_id=vote_custom_id(helpful, entry_id),
            ),
            row=1,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["kind"] == "up", match["entry"])

    @replies_on_failure("the vote button")
    async def callback(self, interaction: discord.Interaction) -> None:
        message = interaction.message
        if message is None:  # Discord always sends it for a button; nothing to rate without it
            return
        # Acknowledge before touching the database: a write may wait for SQLite's lock longer than the 3 s
        # Discord gives; the first follow-up then takes the place of the "thinking…" message.
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await app_of(interaction.client).conversation.vote(
            message_id=message.id,
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            helpful=self.helpful,
            entry_id=self.entry_id,
            offered_ids=switcher_entry_ids(message),
        )
        view = (
            answer_view(entry_id=None, owner_id=interaction.user.id, alternatives=outcome.others)
            if outcome.others
            else None
        )
        card = outcome.card
        if outcome.result is VoteResult.THANKS and (solved := await mark_post_solved(interaction)):
            card = replace(card, description=f"{card.description}\n{solved}")
        if outcome.result in (VoteResult.NOTED, VoteResult.OTHERS):
            # A moderator may teach which entry should have answered (bot/exts/teach.py).
            others = [entry for entry, _ in outcome.others]
            view = await add_teach_menu(
                interaction, view, message_id=message.id, others=others, wrong_entry=self.entry_id
            )
        await send_ephemeral(interaction, card_embed(card), view=view)


class AlternativesSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"gn:alt:(?P<owner>\d{1,20})",
):
    """Switches the answer in place to another suggestion; only the person who asked can switch it."""

    def __init__(self, owner_id: int, options: Sequence[discord.SelectOption]) -> None:
        self.owner_id = owner_id
        super().__init__(
            discord.ui.Select(
                custom_id=f"gn:alt:{owner_id}",
                placeholder="Other answers",
                options=list(options)[:MAX_SELECT_OPTIONS],
                min_values=1,
                max_values=1,
            ),
            row=0,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AlternativesSelect:
        # `item` is the select rebuilt from the message, options included.
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(int(match["owner"]), options)

    @replies_on_failure("the suggestions menu")
    async def callback(self, interaction: discord.Interaction) -> None:
        if not self.item.values:
            return
        if self.item.values[0] not in {option.value for option in self.item.options}:
            # Discord's client only sends offered values; anything else was forged.
            raise BadInput("That choice isn't one this menu offers.")
        entry_id, _, score_text = self.item.values[0].partition(":")
        score = float(score_text) if score_text else None
        entry = snapshot(interaction.client).knowledge.entry(entry_id)
        if entry is None:
            await send_ephemeral(
                interaction, text_embed("Answer gone", "That answer was removed from the knowledge base since.")
            )
            return
        embed = card_embed(picked_card(entry, score))
        if interaction.user.id != self.owner_id:
            # Someone else's answer stays as it is; the reader gets the pick privately, with its own buttons.
            await send_ephemeral(interaction, embed, view=answer_view(entry_id=entry.id))
            return
        options = [
            discord.SelectOption(
                label=option.label,
                value=option.value,
                description=option.description,
                default=option.value.partition(":")[0] == entry.id,
            )
            for option in self.item.options
        ]
        view = answer_view(entry_id=entry.id, owner_id=self.owner_id, options=options)
        for button in other_buttons(interaction.message):
            assert view is not None  # an entry was picked, so it has 👍 / 👎
            view.add_item(button)
        await interaction.response.edit_message(embed=embed, view=view, allowed_mentions=NO_MENTIONS)


class Feedback(commands.Cog):
    """Registers the persistent components, so clicks on answers posted before a restart still work."""

    def __init__(self, bot: GuideNestBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(VoteButton, AlternativesSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(VoteButton, AlternativesSelect)


async def setup(bot: GuideNestBot) -> None:
    await bot.add_cog(Feedback(bot))
