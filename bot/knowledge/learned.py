"""What moderators teach the bot: a question it missed, stored for their server with the entry that answers it.

A server with learned phrasings gets its own matcher: the knowledge with each taught entry's `asks` extended by
them (a new `Entry`, the rest shared), indexed in a worker thread and swapped in whole. The knowledge's re-ranker
is shared, yet indexing still costs about a second at the shipped 107 entries (and under a megabyte), so servers
without learned phrasings use the shared matcher, built matchers are kept for the most recently active servers
only (`GUIDENEST_LEARNED_MATCHERS`), and one is built at a time. A server whose matcher was dropped, or built on
knowledge reloaded since, has it rebuilt on its next question, which waits for it: the shared matcher would
answer a taught question as if nothing had been taught, sometimes confidently with the entry the moderator
corrected.

A taught question asked again (the same words, case, spacing and punctuation aside) is answered with its entry,
confidently, in that server, also where the matcher weighs the new phrasing below an older one: that is what the
moderator asked for. Phrasings taught in one server never change another's answers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sqlite3
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from bot.conversation import clean_question
from bot.knowledge.loader import dedup_key
from bot.matching.matcher import Matcher, MatchResult, Scored
from bot.matching.vocabulary import STOPWORDS
from bot.settings import Confidence
from bot.storage.store import StorageError, grouping_key
from bot.validation import BadInput

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from bot.knowledge.model import Entry, KnowledgeBase
    from bot.knowledge.service import Snapshot
    from bot.storage import LearnedPhrasing

log = logging.getLogger(__name__)

# A taught phrasing is a question, not a whole post: longer ones are refused (teach the sentence that matters).
MAX_TAUGHT_TEXT = 500
NO_SUCH_ENTRY = "That entry is not in the knowledge base (any more), so nothing was taught."
_WORD = re.compile(r"[^\W_]+")


class Matching(Protocol):
    """What answers a question: the shared `Matcher`, or a server's `LearnedMatcher`."""

    def match(self, text: str, *, level: Confidence = Confidence.NORMAL, limit: int = 5) -> MatchResult: ...


class PhrasingStore(Protocol):
    """Where learned phrasings are kept: the bot's database (bot/storage)."""

    async def learn_phrasing(self, guild_id: int, entry_id: str, text: str, taught_by: int) -> LearnedPhrasing: ...

    async def learned_phrasings(self, guild_id: int | None) -> list[LearnedPhrasing]: ...

    async def forget_phrasing(self, guild_id: int, phrasing_id: int) -> LearnedPhrasing | None: ...

    async def taught_guilds(self) -> set[int]: ...


def teachable(text: str) -> str:
    """`text` as it is taught (cleaned as the conversation cleans a question); BadInput when it is no question
    worth teaching: empty, longer than MAX_TAUGHT_TEXT, or without a word that says what it is about."""
    question = clean_question(text)
    if not question:
        raise BadInput("There is nothing to teach in that text.")
    if len(question) > MAX_TAUGHT_TEXT:
        raise BadInput(
            f"That is {len(question)} characters; a taught question has at most {MAX_TAUGHT_TEXT}. "
            "Teach the sentence or the error line that matters with `/kb teach`."
        )
    words = [word for word in _WORD.findall(question.casefold()) if word not in STOPWORDS]
    # One word is enough when it is a code or a number ("0x800ccc0e", "535"); otherwise two.
    if not words or (len(words) == 1 and not any(char.isdigit() for char in words[0])):
        raise BadInput(
            "That is too little to teach: write the question as members ask it, with at least two words that "
            "say what it is about (an error code alone is fine)."
        )
    return question


def phrasing_owner(knowledge: KnowledgeBase, text: str) -> Entry | None:
    """The entry whose `asks` or `errors` already hold `text` (as `guidenest kb check` compares them), if any."""
    key = dedup_key(text)
    for entry in knowledge.entries.values():
        if any(dedup_key(known) == key for known in (*entry.asks, *entry.errors)):
            return entry
    return None


def with_learned(knowledge: KnowledgeBase, phrasings: Iterable[LearnedPhrasing]) -> KnowledgeBase:
    """The knowledge with each phrasing added to its entry's `asks`; phrasings of entries gone since, and those the
    knowledge already holds (folded into knowledge/, say), are left out, so no phrasing leads to two entries."""
    known = {dedup_key(text) for entry in knowledge.entries.values() for text in (*entry.asks, *entry.errors)}
    added: dict[str, list[str]] = {}
    for phrasing in phrasings:
        key = dedup_key(phrasing.text)
        if phrasing.entry_id in knowledge.entries and key and key not in known:
            known.add(key)
            added.setdefault(phrasing.entry_id, []).append(phrasing.text)
    if not added:
        return knowledge
    entries = {
        entry_id: replace(entry, asks=(*entry.asks, *added[entry_id])) if entry_id in added else entry
        for entry_id, entry in knowledge.entries.items()
    }
    return replace(knowledge, entries=entries)


class LearnedMatcher:
    """A server's matcher: the matcher over its knowledge, and the taught questions it answers whatever they score."""

    def __init__(self, matcher: Matcher, knowledge: KnowledgeBase, phrasings: Sequence[LearnedPhrasing]) -> None:
        self.matcher = matcher
        self.phrasings = tuple(phrasings)
        self._taught: dict[str, Entry] = {}
        for phrasing in self.phrasings:
            entry = knowledge.entry(phrasing.entry_id)
            if entry is not None:
                self._taught[grouping_key(phrasing.text)] = entry

    def match(self, text: str, *, level: Confidence = Confidence.NORMAL, limit: int = 5) -> MatchResult:
        result = self.matcher.match(text, level=level, limit=limit)
        taught = self._taught.get(grouping_key(text))
        if taught is None or (result.confident and result.best is not None and result.best.entry.id == taught.id):
            return result
        others = tuple(scored for scored in result.ranked if scored.entry.id != taught.id)
        return MatchResult(query=text, ranked=(Scored(taught, 100.0), *others)[: max(limit, 1)], confident=True)


def candidates(matching: Matching, question: str, knowledge: KnowledgeBase, limit: int) -> list[Entry]:
    """The entries that may answer `question`, best first: what the matcher ranks, then what came near."""
    result = matching.match(question, limit=limit)
    found: dict[str, Entry] = {}
    for scored in (*result.ranked, *result.near):
        entry = knowledge.entry(scored.entry.id)  # the knowledge's own entry, not a server's extended copy
        if entry is not None:
            found.setdefault(entry.id, entry)
    return list(found.values())[:limit]


@dataclass(frozen=True, slots=True)
class Additions:
    """Learned phrasings as additions to the knowledge base's `asks`, for its maintainers to fold in."""

    asks: dict[str, list[str]]  # entry id -> phrasings to add, in the order they were first taught
    notes: list[str]  # what was left out, or chosen between, and why


def asks_additions(knowledge: KnowledgeBase, phrasings: Iterable[LearnedPhrasing]) -> Additions:
    """Every server's learned phrasings, each once: under the entry most servers taught it to (on a tie, the
    first taught), unless the knowledge already holds it or its entries are gone. Nothing added twice leads to
    two entries, so `guidenest kb check` passes once they are pasted."""
    groups: dict[str, list[LearnedPhrasing]] = {}
    for phrasing in sorted(phrasings, key=lambda p: (p.taught_at, p.id)):
        key = dedup_key(phrasing.text)
        if key:
            groups.setdefault(key, []).append(phrasing)
    asks: dict[str, list[str]] = {}
    notes: list[str] = []
    for group in groups.values():
        text = group[0].text
        owner = phrasing_owner(knowledge, text)
        if owner is not None:
            if any(phrasing.entry_id != owner.id for phrasing in group):
                notes.append(f"{text!r} is already in {owner.path.name}, though a server taught it elsewhere")
            continue
        servers: dict[str, set[int]] = {}
        for phrasing in group:
            if phrasing.entry_id in knowledge.entries:
                servers.setdefault(phrasing.entry_id, set()).add(phrasing.guild_id)
        if not servers:
            notes.append(f"{text!r} was taught to an entry no longer in the knowledge base ({group[0].entry_id})")
            continue
        chosen = max(servers, key=lambda entry_id: len(servers[entry_id]))  # the first of equals: taught first
        if len(servers) > 1:
            others = ", ".join(f"{e} ({len(g)})" for e, g in servers.items() if e != chosen)
            notes.append(
                f"{text!r} is listed under {chosen} ({len(servers[chosen])} server(s)); also taught to {others}"
            )
        asks.setdefault(chosen, []).append(next(p.text for p in group if p.entry_id == chosen))
    return Additions(asks, notes)


@dataclass(frozen=True, slots=True)
class Taught:
    phrasing: LearnedPhrasing
    entry: Entry


@dataclass(frozen=True, slots=True)
class _Building:
    snapshot: Snapshot
    task: asyncio.Task[Matching]


class GuildMatchers:
    """The matcher each server answers with; built when first needed, rebuilt on teaching and on reloads."""

    def __init__(self, store: PhrasingStore, current: Callable[[], Snapshot], *, capacity: int) -> None:
        self._store = store
        self._current = current
        self._capacity = capacity
        # Built per server, least recently used first; each with the snapshot it was built on.
        self._built: OrderedDict[int, tuple[Snapshot, LearnedMatcher]] = OrderedDict()
        self._building: dict[int, _Building] = {}
        # The servers with learned phrasings: read once (a few ids), so other servers never wait for the database.
        self._taught: set[int] | None = None
        self._taught_read: asyncio.Task[set[int]] | None = None
        # One index at a time: builds are CPU-bound Python, so two at once would not finish sooner.
        self._one_build = asyncio.Semaphore(1)

    async def matcher(self, snapshot: Snapshot, guild_id: int | None) -> Matching:
        """The matcher for a question asked in `guild_id` (None: a direct message) with `snapshot` in use."""
        if guild_id is None:
            return snapshot.matcher
        try:
            if guild_id not in await self._taught_guilds():
                return snapshot.matcher
            built = self._built.get(guild_id)
            if built is not None and built[0] is snapshot:
                self._built.move_to_end(guild_id)
                return built[1]
            return await asyncio.shield(self._start(guild_id, snapshot).task)
        except (sqlite3.Error, StorageError) as exc:
            # Answering goes on without what was taught until the database answers again.
            log.warning("learned phrasings of guild %s unavailable (%s); using the shared matcher", guild_id, exc)
            return snapshot.matcher

    async def teach(self, guild_id: int, entry_id: str, text: str, taught_by: int) -> Taught:
        """Store `text` as a way to ask for `entry_id` in `guild_id` and rebuild its matcher before returning.
        BadInput for an entry that does not exist, text that is no question, or a phrasing of another entry."""
        snapshot = self._current()
        entry = snapshot.knowledge.entry(entry_id)
        if entry is None:
            raise BadInput(NO_SUCH_ENTRY)
        question = teachable(text)
        owner = phrasing_owner(snapshot.knowledge, question)
        if owner is not None and owner.id != entry.id:
            raise BadInput(
                f"That question is already one of the ways to ask for “{owner.title}” ({owner.path.name}), so it "
                "can't be taught to another entry here; the knowledge base's maintainers can move it."
            )
        phrasing = await self._store.learn_phrasing(guild_id, entry.id, question, taught_by)
        await self.refresh(guild_id)
        return Taught(phrasing, entry)

    async def forget(self, guild_id: int, phrasing_id: int) -> LearnedPhrasing | None:
        """Remove a learned phrasing and rebuild the server's matcher; None if the server has no such phrasing."""
        removed = await self._store.forget_phrasing(guild_id, phrasing_id)
        if removed is not None:
            await self.refresh(guild_id)
        return removed

    async def refresh(self, guild_id: int) -> Matching:
        """Rebuild a server's matcher after its phrasings changed; its questions wait for the new one meanwhile."""
        (await self._taught_guilds()).add(guild_id)  # a server left with none drops out when its build finds none
        self._built.pop(guild_id, None)
        self._building.pop(guild_id, None)  # a build in flight read the phrasings before the change
        return await asyncio.shield(self._start(guild_id, self._current()).task)

    def reloaded(self) -> None:
        """After a knowledge reload: drop every matcher built on the old knowledge, and rebuild the ones in use
        in the background, the most recently used first."""
        in_use = list(reversed(self._built))
        self._built.clear()
        snapshot = self._current()
        for guild_id in in_use:
            self._start(guild_id, snapshot)

    async def close(self) -> None:
        """Stop the builds in flight (the bot is shutting down)."""
        tasks = [building.task for building in self._building.values()]
        self._building.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- building -------------------------------------------------------------------------------------------

    async def _taught_guilds(self) -> set[int]:
        if self._taught is None:
            if self._taught_read is None:
                self._taught_read = asyncio.ensure_future(self._store.taught_guilds())
            try:
                taught = await asyncio.shield(self._taught_read)
            except BaseException:
                self._taught_read = None  # read again next time
                raise
            if self._taught is None:
                self._taught = taught
        return self._taught

    def _start(self, guild_id: int, snapshot: Snapshot) -> _Building:
        """The build of `guild_id`'s matcher on `snapshot`: the one in flight, or a new one."""
        building = self._building.get(guild_id)
        if building is None or building.snapshot is not snapshot:
            task = asyncio.create_task(self._build(guild_id, snapshot), name=f"guidenest: matcher of guild {guild_id}")
            building = _Building(snapshot, task)
            self._building[guild_id] = building
            task.add_done_callback(functools.partial(self._finished, guild_id, building))
        return building

    async def _build(self, guild_id: int, snapshot: Snapshot) -> Matching:
        phrasings = await self._store.learned_phrasings(guild_id)
        if not phrasings:
            return snapshot.matcher
        knowledge = with_learned(snapshot.knowledge, phrasings)
        if knowledge is snapshot.knowledge:  # every phrasing is in the knowledge base already
            return LearnedMatcher(snapshot.matcher, knowledge, phrasings)
        async with self._one_build:
            started = time.perf_counter()
            # The knowledge's re-ranker is shared: retraining it costs seconds, and a taught question asked again
            # is read word for word by the lexical matcher.
            matcher = await asyncio.to_thread(functools.partial(Matcher, knowledge, reranker=snapshot.matcher.reranker))
        log.info(
            "matcher of guild %s built with %d learned phrasing(s) in %.2f s",
            guild_id,
            len(phrasings),
            time.perf_counter() - started,
        )
        return LearnedMatcher(matcher, knowledge, phrasings)

    def _finished(self, guild_id: int, building: _Building, task: asyncio.Task[Matching]) -> None:
        if self._building.get(guild_id) is building:
            del self._building[guild_id]
        else:
            return  # superseded (the phrasings changed, or the knowledge was reloaded): its waiters have it
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # Its waiters get the error too; this is for a background rebuild that nobody waits for.
            log.warning("building the matcher of guild %s failed: %r", guild_id, error)
            return
        if building.snapshot is not self._current():
            return  # built on knowledge reloaded since: never kept
        matcher = task.result()
        if not isinstance(matcher, LearnedMatcher):
            self._built.pop(guild_id, None)
            if self._taught is not None:
                self._taught.discard(guild_id)  # nothing learned there any more
            return
        self._built[guild_id] = (building.snapshot, matcher)
        self._built.move_to_end(guild_id)
        while len(self._built) > self._capacity:
            self._built.popitem(last=False)
