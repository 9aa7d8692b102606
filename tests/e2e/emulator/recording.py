"""What the emulator saw, kept for the tests: REST calls, gateway frames, messages, violations.

Every log is a `Log`: a list that a test can wait on (`await log.wait_for(predicate, timeout=…)`), woken by
each new entry rather than by polling.
"""

# ruff: noqa: ASYNC109 - Log.wait_for takes a timeout so its failure can list what was seen.

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.e2e.emulator.limits import Problem

T = TypeVar("T")


class Log(Generic[T]):
    """An append-only list whose readers can wait for an entry matching a predicate."""

    def __init__(self, describe: Callable[[T], str] = repr) -> None:
        self.items: list[T] = []
        self._changed = asyncio.Event()
        self._describe = describe

    def append(self, item: T) -> None:
        self.items.append(item)
        # Wake every waiter; each re-checks only the entries it has not seen.
        self._changed.set()
        self._changed = asyncio.Event()

    def mark(self) -> int:
        """A position to pass as `since`, so only entries added after it count."""
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]

    def clear(self) -> None:
        self.items.clear()

    def find(self, predicate: Callable[[T], bool], since: int = 0) -> list[T]:
        return [item for item in self.items[since:] if predicate(item)]

    async def wait_for(
        self, predicate: Callable[[T], bool], *, since: int = 0, timeout: float = 5.0, what: str = "an entry"
    ) -> T:
        checked = since
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for item in self.items[checked:]:
                if predicate(item):
                    return item
            checked = len(self.items)
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = (
                    "\n".join(f"  {self._describe(item)}" for item in self.items[since:][-25:]) or "  (none)"
                )
                raise AssertionError(
                    f"timed out after {timeout:.1f}s waiting for {what}; seen since the mark:\n{seen}"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RestCall:
    """One HTTP request the bot made, and the answer it got."""

    method: str
    path: str  # without the API prefix: "/channels/123/messages"
    query: dict[str, str]
    json: Any  # the JSON body, or a multipart request's payload_json
    files: list[UploadedFile]
    authorization: str | None
    status: int = 0
    response: Any = None
    fault: str | None = None  # set when the emulator injected this answer

    def matches(self, method: str | None = None, path: str | None = None) -> bool:
        """`path` is a regular expression matched against the whole path; `{id}` stands for any snowflake."""
        if method is not None and self.method != method.upper():
            return False
        return path is None or re.fullmatch(path.replace("{id}", r"\d+"), self.path) is not None

    def __str__(self) -> str:
        extra = f" [{self.fault}]" if self.fault else ""
        return f"{self.method} {self.path} -> {self.status}{extra}"


@dataclass(frozen=True)
class GatewayFrame:
    """A frame on a gateway connection: `direction` is "recv" (from the bot) or "send" (to it), or "close"."""

    direction: str
    connection: int
    op: int | None
    data: Any
    event: str | None = None
    seq: int | None = None
    close_code: int | None = None
    path: str = ""

    def __str__(self) -> str:
        if self.direction == "close":
            return f"#{self.connection} closed ({self.close_code})"
        label = self.event or f"op {self.op}"
        return f"#{self.connection} {self.direction} {label}"


@dataclass
class Violation:
    """A request that broke a Discord limit or rule (or a project policy), with the call that made it."""

    rule: str
    problems: list[Problem]
    call: RestCall | None = None

    def __str__(self) -> str:
        where = f" in {self.call.method} {self.call.path}" if self.call else ""
        listed = "; ".join(str(problem) for problem in self.problems)
        return f"[{self.rule}]{where}: {listed}"


@dataclass
class StoredMessage:
    """A message as Discord holds it (the `data` dict is the Discord payload), with its history."""

    data: dict[str, Any]
    ephemeral: bool = False
    deleted: bool = False
    interaction_id: int | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)  # previous versions, oldest first

    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def channel_id(self) -> int:
        return int(self.data["channel_id"])

    @property
    def author_id(self) -> int:
        return int(self.data["author"]["id"])

    @property
    def content(self) -> str:
        return str(self.data.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.data.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def reference_id(self) -> int | None:
        reference = self.data.get("message_reference")
        return int(reference["message_id"]) if reference and reference.get("message_id") else None

    @property
    def reactions(self) -> dict[str, int]:
        """Emoji (name, or name:id for custom ones) to count."""
        found: dict[str, int] = {}
        for reaction in self.data.get("reactions") or []:
            emoji = reaction["emoji"]
            key = f"{emoji['name']}:{emoji['id']}" if emoji.get("id") else emoji["name"]
            found[key] = reaction["count"]
        return found

    @property
    def text(self) -> str:
        """Everything readable in the message — content, embed titles, descriptions, fields, footers — one
        string."""
        parts = [self.content]
        for embed in self.embeds:
            parts.extend([embed.get("title") or "", embed.get("description") or ""])
            for embed_field in embed.get("fields") or []:
                parts.extend([embed_field.get("name") or "", embed_field.get("value") or ""])
            parts.append((embed.get("footer") or {}).get("text") or "")
        return "\n".join(part for part in parts if part)

    def all_components(self) -> list[dict[str, Any]]:
        def walk(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for component in components:
                yield component
                yield from walk(component.get("components") or [])
                if isinstance(component.get("accessory"), dict):
                    yield component["accessory"]

        return list(walk(self.components))

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in self.all_components() if c.get("custom_id") is not None]

    def component(self, custom_id: str) -> dict[str, Any]:
        for component in self.all_components():
            if component.get("custom_id") == custom_id:
                return component
        raise KeyError(f"message {self.id} has no component {custom_id!r}; it has {self.custom_ids()}")

    def __str__(self) -> str:
        return f"message {self.id} in {self.channel_id} by {self.author_id}: {self.text[:80]!r}"
