"""Moderators teach the bot: the menus of `/kb stats`, `/kb learned` and a moderator's 👎 (core: bot/knowledge/learned).

Every menu is shown privately to a moderator and is a persistent component (`DynamicItem`): what it is about (a
miss, an answer message) is in its `custom_id`, so it works after a restart. Whatever a client sends is checked
again — the clicker is a moderator of the guild, the value is one the menu offers and well formed, the miss or
answer belongs to this guild — and anything else is refused with a sentence and a WARNING.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import discord

from bot.cards.card import DESCRIPTION_LIMIT, Card, Tone, escape_markdown, fit_lines, shorten
from bot.exts.common import (
    MAX_SELECT_OPTIONS,
    SELECT_DESCRIPTION_LIMIT,
    SELECT_LABEL_LIMIT,
    NotInGuild,
    NotModerator,
    app_of,
    card_embed,
    is_moderator,
    require_moderator,
    send_ephemeral,
    snapshot,
)
from bot.exts.errors import replies_on_failure
from bot.knowledge.learned import NO_SUCH_ENTRY, candidates, teachable
from bot.storage.store import StorageError, grouping_key
from bot.validation import BadInput

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from bot.knowledge.learned import Taught
    from bot.knowledge.model import Entry, KnowledgeBase
    from bot.storage import LearnedPhrasing, MissRow

log = logging.getLogger(__name__)

QUESTION_SHOWN = 300  # characters of the question on a card
_NUMBER = re.compile(r"\d{1,20}")
_ENTRY_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
NOT_LISTED = "Not in the list? `/kb teach` takes the question and any entry (its `entry` option completes titles)."


async def moderator_guild(interaction: discord.Interaction) -> int:
    """The guild of a moderator's click. These menus are shown only to moderators, so anyone else sent a forged or
    stale click: refused as bad input (a WARNING), not as an error."""
    try:
        await require_moderator(interaction)
    except (NotModerator, NotInGuild) as refusal:
        raise BadInput(str(refusal)) from None
    assert interaction.guild_id is not None  # require_moderator refuses direct messages
    return interaction.guild_id


def picked(select: discord.ui.Select[Any], pattern: re.Pattern[str]) -> str:
    """The value picked, if the menu offers it and it is well formed (a forged message may offer anything)."""
    values = select.values
    if len(values) != 1 or values[0] not in {option.value for option in select.options}:
        raise BadInput("That choice isn't one this menu offers.")
    if not pattern.fullmatch(values[0]):
        raise BadInput("That choice isn't one I can use.")
    return values[0]


def question_line(question: str) -> str:
    return f"“{escape_markdown(shorten(question, QUESTION_SHOWN))}”"


def taught_card(taught: Taught) -> Card:
    return Card(
        title="Taught",
        description=(
            f"{question_line(taught.phrasing.text)}\n→ **{escape_markdown(taught.entry.title)}** "
            f"(`{taught.entry.id}`)\n\nAsked again in this server, it is answered with this entry, and similar "
            "questions are matched against it too. `/kb learned` lists what was taught here and removes it."
        ),
        tone=Tone.ANSWER,
    )


# --- /kb stats: pick a miss, then its entry ------------------------------------------------------------------


def misses_menu(misses: Sequence[MissRow], taught: Iterable[LearnedPhrasing]) -> discord.ui.View | None:
    """The "Teach…" menu under `/kb stats`: the misses that can be taught (a whole post cannot), marked when taught."""
    taught_to = {grouping_key(phrasing.text): phrasing.entry_id for phrasing in taught}
    options = []
    for miss in misses:
        if miss.latest_id is None:
            continue
        try:
            question = teachable(miss.text)
        except BadInput:
            continue
        detail = f"{miss.count}\u00d7 · {'👎' if miss.reason == 'downvoted' else 'no match'}"
        entry_id = taught_to.get(grouping_key(question))
        if entry_id is not None:
            detail += f" · taught: {entry_id}"
        options.append(
            discord.SelectOption(
                label=shorten(question, SELECT_LABEL_LIMIT),
                value=str(miss.latest_id),
                description=shorten(detail, SELECT_DESCRIPTION_LIMIT),
            )
        )
    if not options:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(MissesSelect(options[:MAX_SELECT_OPTIONS]))
    return view


class MissesSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"gn:teach:misses"):
    def __init__(self, options: Sequence[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id="gn:teach:misses", placeholder="Teach… pick a question to answer", options=list(options)
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> MissesSelect:
        return cls(item.options if isinstance(item, discord.ui.Select) else [])

    @replies_on_failure("the teach menu")
    async def callback(self, interaction: discord.Interaction) -> None:
        guild_id = await moderator_guild(interaction)
        miss_id = int(picked(self.item, _NUMBER))
        await interaction.response.defer(ephemeral=True, thinking=True)
        question = await app_of(interaction.client).storage.missed_question(guild_id, miss_id)
        if question is None:
            await send_ephemeral(interaction, card_embed(_gone_card(interaction.client)))
            return
        await offer_entries(interaction, guild_id, question, f"gn:teach:miss:{miss_id}")


def _gone_card(client: discord.Client) -> Card:
    days = app_of(client).settings.miss_retention_days
    return Card(
        title="That question is gone",
        description=f"It is no longer stored: questions are kept for {days} days. Nothing was taught.",
        tone=Tone.UNSURE,
    )


def entry_options(entries: Iterable[Entry]) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(
            label=shorten(entry.title, SELECT_LABEL_LIMIT),
            value=entry.id,
            description=shorten(entry.id, SELECT_DESCRIPTION_LIMIT),
        )
        for entry in entries
    ][:MAX_SELECT_OPTIONS]


async def ranked_entries(
    client: discord.Client, guild_id: int, question: str, *, first: Sequence[Entry] = (), leave_out: str | None = None
) -> list[Entry]:
    """`first`, then the entries the server's matcher ranks for `question`, without `leave_out`, at most 25."""
    knowledge = snapshot(client).knowledge
    matching = await app_of(client).guild_matchers.matcher(snapshot(client), guild_id)
    found: dict[str, Entry] = {}
    for entry in (*first, *candidates(matching, question, knowledge, MAX_SELECT_OPTIONS)):
        if entry.id != leave_out and knowledge.entry(entry.id) is not None:
            found.setdefault(entry.id, entry)
    return list(found.values())[:MAX_SELECT_OPTIONS]


async def offer_entries(interaction: discord.Interaction, guild_id: int, question: str, custom_id: str) -> None:
    entries = await ranked_entries(interaction.client, guild_id, question)
    description = f"{question_line(question)}\n\n"
    view = None
    if entries:
        description += "Pick the entry that should answer this question in this server; the closest come first.\n"
        view = discord.ui.View(timeout=None)
        view.add_item(EntrySelect(custom_id, entry_options(entries)))
    else:
        description += "Nothing in the knowledge base comes close to it.\n"
    card = Card(title="Teach: which answer fits?", description=description + NOT_LISTED, tone=Tone.INFO)
    await send_ephemeral(interaction, card_embed(card), view=view)


class EntrySelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"gn:teach:(?P<source>miss|answer):(?P<ref>\d{1,20})",
):
    """Which entry answers a missed question (`miss`: a miss id) or the question behind an answer a moderator
    rated 👎 (`answer`: the answer's message id)."""

    def __init__(
        self, custom_id: str, options: Sequence[discord.SelectOption], placeholder: str = "The entry that answers it"
    ) -> None:
        source, ref = custom_id.split(":")[2:]
        self.source, self.ref = source, int(ref)
        super().__init__(
            discord.ui.Select(custom_id=custom_id, placeholder=placeholder, options=list(options)), row=2
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> EntrySelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(f"gn:teach:{match['source']}:{match['ref']}", options)

    @replies_on_failure("the teach menu")
    async def callback(self, interaction: discord.Interaction) -> None:
        guild_id = await moderator_guild(interaction)
        entry_id = picked(self.item, _ENTRY_ID)
        if snapshot(interaction.client).knowledge.entry(entry_id) is None:
            raise BadInput(NO_SUCH_ENTRY)
        # Teaching rebuilds the server's matcher (about a second): acknowledged first, the menu then replaced.
        await interaction.response.defer()
        question = await self._question(interaction, guild_id)
        if question is None:
            await interaction.edit_original_response(embed=card_embed(_gone_card(interaction.client)), view=None)
            return
        taught = await app_of(interaction.client).guild_matchers.teach(
            guild_id, entry_id, question, interaction.user.id
        )
        log.info("guild %s: user %s taught a question to %s", guild_id, interaction.user.id, entry_id)
        await interaction.edit_original_response(embed=card_embed(taught_card(taught)), view=None)

    async def _question(self, interaction: discord.Interaction, guild_id: int) -> str | None:
        storage = app_of(interaction.client).storage
        if self.source == "miss":
            return await storage.missed_question(guild_id, self.ref)
        record = await storage.answer(self.ref)
        if record is None or record.guild_id != guild_id:
            raise BadInput("That menu names an answer I never gave in this server.")
        return record.query or None  # forgotten after the retention period


# --- a moderator's 👎 --------------------------------------------------------------------------------------


async def add_teach_menu(
    interaction: discord.Interaction,
    view: discord.ui.View | None,
    *,
    message_id: int,
    others: Sequence[Entry],
    wrong_entry: str | None,
) -> discord.ui.View | None:
    """Under the reply to a 👎 by a moderator: "Teach: this question should be answered by…", the other
    suggestions first; `view` unchanged for anyone else, or when the question is forgotten or not teachable."""
    user, guild_id = interaction.user, interaction.guild_id
    if guild_id is None or not isinstance(user, discord.Member):
        return view
    bot = app_of(interaction.client)
    try:
        if not is_moderator(user, interaction.permissions, await bot.storage.guild_config(guild_id)):
            return view
        record = await bot.storage.answer(message_id)
    except (sqlite3.Error, StorageError) as exc:
        # The vote is stored and answered; only the offer to teach is missing.
        log.warning("no teach menu under a 👎: the database failed (%s)", exc)
        return view
    if record is None or record.guild_id != guild_id or not record.query:
        return view
    try:
        question = teachable(record.query)
    except BadInput:
        return view
    entries = await ranked_entries(
        interaction.client, guild_id, question, first=others, leave_out=wrong_entry or record.entry_id
    )
    if not entries:
        return view
    view = view or discord.ui.View(timeout=None)
    view.add_item(
        EntrySelect(
            f"gn:teach:answer:{message_id}",
            entry_options(entries),
            placeholder="Teach: this question should be answered by…",
        )
    )
    return view


# --- /kb learned -------------------------------------------------------------------------------------------


def learned_card(phrasings: Sequence[LearnedPhrasing], knowledge: KnowledgeBase) -> Card:
    """What was taught in a server, the latest first, as many as fit; the teacher as a mention (never a ping)."""
    if not phrasings:
        return Card(
            title="Nothing taught here yet",
            description="Teach me a question I missed from the **Teach…** menu of `/kb stats`, with `/kb teach`, "
            "or from the menu a moderator gets after rating an answer 👎.",
        )
    lines = []
    for phrasing in phrasings:
        entry = knowledge.entry(phrasing.entry_id)
        target = f"`{phrasing.entry_id}`" + ("" if entry is not None else " (no longer in the knowledge base)")
        when = discord.utils.format_dt(phrasing.taught_at, "d")
        lines.append(f"{question_line(phrasing.text)} → {target} · <@{phrasing.taught_by}>, {when}")
    body = fit_lines(lines, DESCRIPTION_LIMIT - 40)
    shown = body.count("\n") + 1
    if shown < len(lines):
        body += f"\n… and {len(lines) - shown} older"
    more = ""
    if len(phrasings) > MAX_SELECT_OPTIONS:
        more = f"; the menu holds the latest {MAX_SELECT_OPTIONS}, `/kb forget` reaches any"
    return Card(
        title=f"Taught here: {len(phrasings)} question{'s' if len(phrasings) != 1 else ''}",
        description=body,
        footer=f"Latest first. Pick one below to forget it{more}. `guidenest kb learned --export` turns them into "
        "phrasings for knowledge/.",
    )


def forget_menu(phrasings: Sequence[LearnedPhrasing]) -> discord.ui.View | None:
    if not phrasings:
        return None
    options = [
        discord.SelectOption(
            label=shorten(phrasing.text, SELECT_LABEL_LIMIT),
            value=str(phrasing.id),
            description=shorten(f"→ {phrasing.entry_id}", SELECT_DESCRIPTION_LIMIT),
        )
        for phrasing in phrasings[:MAX_SELECT_OPTIONS]
    ]
    view = discord.ui.View(timeout=None)
    view.add_item(ForgetSelect(options))
    return view


def forgotten_card(removed: LearnedPhrasing | None) -> Card:
    if removed is None:
        return Card(title="Already gone", description="That question is no longer taught here.", tone=Tone.UNSURE)
    return Card(
        title="Forgotten",
        description=f"{question_line(removed.text)} no longer leads to `{removed.entry_id}` here; it is answered "
        "as before it was taught.",
        tone=Tone.ANSWER,
    )


class ForgetSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"gn:learned:forget"):
    def __init__(self, options: Sequence[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(custom_id="gn:learned:forget", placeholder="Forget…", options=list(options))
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ForgetSelect:
        return cls(item.options if isinstance(item, discord.ui.Select) else [])

    @replies_on_failure("the forget menu")
    async def callback(self, interaction: discord.Interaction) -> None:
        guild_id = await moderator_guild(interaction)
        phrasing_id = int(picked(self.item, _NUMBER))
        await interaction.response.defer()  # the server's matcher is rebuilt before the reply
        removed = await app_of(interaction.client).guild_matchers.forget(guild_id, phrasing_id)
        if removed is not None:
            log.info("guild %s: user %s removed a learned question", guild_id, interaction.user.id)
        await interaction.edit_original_response(embed=card_embed(forgotten_card(removed)), view=None)


DYNAMIC_ITEMS = (MissesSelect, EntrySelect, ForgetSelect)
