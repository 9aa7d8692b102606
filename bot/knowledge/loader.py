"""Reading and validating `knowledge/`: every problem is reported as `file:line: message`.

Validation collects all problems instead of stopping at the first, so one `guidenest kb check` run shows a
maintainer everything to fix. Loading refuses a knowledge base with any error (warnings are fine).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import yaml

from bot.knowledge.model import (
    Direction,
    Entry,
    KnowledgeBase,
    PortRow,
    Protocol,
    Provider,
    Security,
    ServerSetting,
    Source,
    Status,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

ENTRY_DIR = "entries"
PORTS_FILE = "ports.yaml"
PROVIDERS_FILE = "providers.yaml"

MAX_TITLE = 256  # a Discord embed title
MAX_ANSWER = 4096  # a Discord embed description
ADVISED_ANSWER = 1200  # longer answers get read less; a warning, not an error
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

PROTOCOLS: tuple[str, ...] = get_args(Protocol)
SECURITIES: tuple[str, ...] = get_args(Security)
DIRECTIONS: tuple[str, ...] = get_args(Direction)
STATUSES: tuple[str, ...] = get_args(Status)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def format(self, root: Path | None = None) -> str:
        shown = self.path
        if root is not None:
            with contextlib.suppress(ValueError):
                shown = self.path.relative_to(root.parent)
        prefix = "" if self.severity == "error" else "warning: "
        return f"{shown}:{self.line}: {prefix}{self.message}"


class KnowledgeError(Exception):
    """The knowledge base has errors; `problems` lists every one."""

    def __init__(self, problems: list[Problem], root: Path) -> None:
        self.problems = problems
        self.root = root
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(p.format(root) for p in errors))


def dedup_key(text: str) -> str:
    """Two phrasings are the same when they differ only in case, spacing and punctuation."""
    return " ".join(re.findall(r"[^\W_]+", re.sub("['\u2019]", "", text.casefold())))


# --- YAML with line numbers ---------------------------------------------------------------------------------

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Document:
    """A parsed YAML document and the line of every value in it, addressed by its path of keys and indexes."""

    def __init__(self, text: str, first_line: int) -> None:
        self.first_line = first_line
        # One parse gives both the node tree (for lines) and the values; libyaml's loader when it is there.
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            self.data: Any = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        self.lines: dict[Path_, int] = {}
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, at: Path_) -> None:
        self.lines[at] = node.start_mark.line + self.first_line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[(*at, str(key.value))] = key.start_mark.line + self.first_line
                self._index(value, (*at, str(key.value)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*at, index))

    def line(self, at: Path_) -> int:
        while at not in self.lines and at:
            at = at[:-1]
        return self.lines.get(at, self.first_line)


class _Checker:
    """Collects problems for one file and turns raw YAML values into checked ones."""

    def __init__(self, path: Path, doc: _Document, problems: list[Problem]) -> None:
        self.path = path
        self.doc = doc
        self.problems = problems
        self.failed = False

    def error(self, at: Path_, message: str) -> None:
        self.failed = True
        self.problems.append(Problem(self.path, self.doc.line(at), message))

    def warn(self, at: Path_, message: str) -> None:
        self.problems.append(Problem(self.path, self.doc.line(at), message, "warning"))

    def mapping(self, value: Any, at: Path_, allowed: tuple[str, ...], required: tuple[str, ...]) -> bool:
        where = "/".join(str(part) for part in at) or "the file"
        if not isinstance(value, dict):
            self.error(at, f"{where}: expected a mapping of fields")
            return False
        for key in value:
            if key not in allowed:
                self.error((*at, str(key)), f"unknown field {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value or value[key] is None:
                self.error(at, f"missing required field {key!r}")
        return True

    def text(self, value: Any, at: Path_, *, limit: int | None = None, optional: bool = False) -> str:
        if optional and (value is None or value == ""):
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(at, f"{at[-1]}: expected non-empty text")
            return ""
        if limit is not None and len(value) > limit:
            self.error(at, f"{at[-1]}: {len(value)} characters, at most {limit}")
        return value.strip()

    def text_list(self, value: Any, at: Path_, *, minimum: int = 0) -> tuple[str, ...]:
        if value is None:
            value = []
        if not isinstance(value, list):
            self.error(at, f"{at[-1]}: expected a list")
            return ()
        items = tuple(self.text(item, (*at, i)) for i, item in enumerate(value))
        if len(items) < minimum:
            self.error(at, f"{at[-1]}: expected at least {minimum} item(s)")
        return tuple(item for item in items if item)

    def integer(self, value: Any, at: Path_, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(at, f"{at[-1]}: expected a whole number from {low} to {high}")
            return 0
        return value

    def choice(self, value: Any, at: Path_, choices: tuple[str, ...]) -> str:
        if value not in choices:
            self.error(at, f"{at[-1]}: {value!r} is not one of {', '.join(choices)}")
            return choices[0]
        return cast("str", value)


# --- Entries ------------------------------------------------------------------------------------------------

ENTRY_FIELDS = ("id", "title", "asks", "errors", "tags", "related", "sources")
ENTRY_REQUIRED = ("title", "asks", "tags", "sources")


def _split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Front matter text, body text, and the line on which the body starts (1-based)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None


def _read_entry(path: Path, problems: list[Problem]) -> tuple[Entry, _Document] | None:
    entry_id = path.stem
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, f"cannot read the file: {exc}"))
        return None
    split = _split_front_matter(text)
    if split is None:
        problems.append(Problem(path, 1, "the file must start with front matter between two '---' lines"))
        return None
    front, body, body_line = split
    try:
        doc = _Document(front, first_line=2)
    except yaml.MarkedYAMLError as exc:
        line = (exc.problem_mark.line + 2) if exc.problem_mark else 1
        problems.append(Problem(path, line, f"front matter is not valid YAML: {exc.problem}"))
        return None
    check = _Checker(path, doc, problems)
    data = doc.data
    if not check.mapping(data, (), ENTRY_FIELDS, ENTRY_REQUIRED):
        return None
    if not ID_PATTERN.match(entry_id):
        check.failed = True
        problems.append(
            Problem(
                path, 1, f"file name {path.name!r}: ids are lower-case letters, digits and single hyphens"
            )
        )
    if "id" in data and data["id"] != entry_id:
        check.error(("id",), f"id {data['id']!r} differs from the file name {entry_id!r}")
    title = check.text(data.get("title"), ("title",), limit=MAX_TITLE)
    asks = check.text_list(data.get("asks"), ("asks",), minimum=1)
    errors = check.text_list(data.get("errors"), ("errors",))
    tags = check.text_list(data.get("tags"), ("tags",), minimum=1)
    related = check.text_list(data.get("related"), ("related",))
    sources: list[Source] = []
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        check.error(("sources",), "sources: expected a list of at least one {title, url}")
    else:
        for i, raw in enumerate(raw_sources):
            at: Path_ = ("sources", i)
            if check.mapping(raw, at, ("title", "url"), ("title",)):
                url = raw.get("url")
                if url is not None and not (isinstance(url, str) and re.match(r"^https?://\S+$", url)):
                    check.error((*at, "url"), "url: expected an http(s) address or nothing")
                    url = None
                sources.append(Source(check.text(raw.get("title"), (*at, "title")), url))
    answer = body.strip()
    if not answer:
        problems.append(Problem(path, body_line, "the answer (the text after the front matter) is empty"))
        check.failed = True
    elif len(answer) > MAX_ANSWER:
        problems.append(
            Problem(path, body_line, f"the answer is {len(answer)} characters, at most {MAX_ANSWER}")
        )
        check.failed = True
    elif len(answer) > ADVISED_ANSWER:
        problems.append(
            Problem(
                path,
                body_line,
                f"the answer is {len(answer)} characters; aim for {ADVISED_ANSWER}",
                "warning",
            )
        )
    if check.failed:
        return None
    entry = Entry(
        id=entry_id,
        title=title,
        asks=asks,
        errors=errors,
        tags=tags,
        related=related,
        sources=tuple(sources),
        answer=answer,
        path=path,
    )
    return entry, doc


def _check_across_entries(read: list[tuple[Entry, _Document]], problems: list[Problem]) -> None:
    ids = {entry.id for entry, _ in read}
    seen: dict[str, tuple[Entry, str]] = {}
    for entry, doc in read:
        for field_name in ("asks", "errors"):
            for index, phrase in enumerate(getattr(entry, field_name)):
                key = dedup_key(phrase)
                line = doc.line((field_name, index))
                if not key:
                    problems.append(
                        Problem(entry.path, line, f"{field_name}: {phrase!r} has no letters or digits")
                    )
                    continue
                if key in seen:
                    other, other_field = seen[key]
                    if other.id != entry.id or other_field != field_name:
                        problems.append(
                            Problem(
                                entry.path,
                                line,
                                f"{field_name}: {phrase!r} is already in {other.id} ({other_field}); "
                                "one phrasing must lead to one answer",
                            )
                        )
                    else:
                        problems.append(
                            Problem(entry.path, line, f"{field_name}: {phrase!r} is listed twice")
                        )
                    continue
                seen[key] = (entry, field_name)
        for index, related in enumerate(entry.related):
            if related == entry.id:
                problems.append(
                    Problem(
                        entry.path, doc.line(("related", index)), "related: an entry is not related to itself"
                    )
                )
            elif related not in ids:
                problems.append(
                    Problem(
                        entry.path, doc.line(("related", index)), f"related: no entry with id {related!r}"
                    )
                )


# --- Tables -------------------------------------------------------------------------------------------------

PORT_FIELDS = ("protocol", "port", "security", "direction", "status", "name", "standard", "notes", "entry")
PROVIDER_FIELDS = (
    "id",
    "name",
    "domains",
    "aliases",
    "incoming",
    "outgoing",
    "auth",
    "notes",
    "entry",
    "source",
)
PROVIDER_REQUIRED = ("id", "name", "domains", "incoming", "outgoing", "auth", "entry", "source")


def _read_table(path: Path, problems: list[Problem]) -> tuple[_Checker, list[Any]] | None:
    if not path.exists():
        problems.append(Problem(path, 1, "the file is missing"))
        return None
    try:
        doc = _Document(path.read_text(encoding="utf-8"), first_line=1)
    except yaml.MarkedYAMLError as exc:
        line = (exc.problem_mark.line + 1) if exc.problem_mark else 1
        problems.append(Problem(path, line, f"not valid YAML: {exc.problem}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, f"cannot read the file: {exc}"))
        return None
    check = _Checker(path, doc, problems)
    if not isinstance(doc.data, list) or not doc.data:
        check.error((), "expected a non-empty list of rows")
        return None
    return check, doc.data


def _read_ports(path: Path, entry_ids: set[str], problems: list[Problem]) -> tuple[PortRow, ...]:
    table = _read_table(path, problems)
    if table is None:
        return ()
    check, rows = table
    result: list[PortRow] = []
    seen: set[tuple[str, int, str]] = set()
    for i, raw in enumerate(rows):
        at: Path_ = (i,)
        if not check.mapping(raw, at, PORT_FIELDS, PORT_FIELDS):
            continue
        row = PortRow(
            protocol=cast("Any", check.choice(raw.get("protocol"), (*at, "protocol"), PROTOCOLS)),
            port=check.integer(raw.get("port"), (*at, "port"), 1, 65535),
            security=cast("Any", check.choice(raw.get("security"), (*at, "security"), SECURITIES)),
            direction=cast("Any", check.choice(raw.get("direction"), (*at, "direction"), DIRECTIONS)),
            status=cast("Any", check.choice(raw.get("status"), (*at, "status"), STATUSES)),
            name=check.text(raw.get("name"), (*at, "name")),
            standard=check.text(raw.get("standard"), (*at, "standard")),
            notes=check.text(raw.get("notes"), (*at, "notes")),
            entry=check.text(raw.get("entry"), (*at, "entry")),
        )
        if row.entry and row.entry not in entry_ids:
            check.error((*at, "entry"), f"entry: no entry with id {row.entry!r}")
        key = (row.protocol, row.port, row.security)
        if key in seen:
            check.error(at, f"{row.protocol} {row.port} {row.security} is listed twice")
        seen.add(key)
        result.append(row)
    return tuple(result) if not check.failed else ()


def _read_servers(
    check: _Checker, value: Any, at: Path_, protocols: tuple[str, ...]
) -> tuple[ServerSetting, ...]:
    if not isinstance(value, list) or not value:
        check.error(at, f"{at[-1]}: expected a list of at least one {{protocol, host, port, security}}")
        return ()
    servers = []
    fields = ("protocol", "host", "port", "security")
    for i, raw in enumerate(value):
        where: Path_ = (*at, i)
        if not check.mapping(raw, where, fields, fields):
            continue
        host = check.text(raw.get("host"), (*where, "host"))
        if host and not re.match(r"^[a-z0-9.-]+$", host):
            check.error((*where, "host"), f"host: {host!r} is not a host name")
        servers.append(
            ServerSetting(
                protocol=cast("Any", check.choice(raw.get("protocol"), (*where, "protocol"), protocols)),
                host=host,
                port=check.integer(raw.get("port"), (*where, "port"), 1, 65535),
                security=cast("Any", check.choice(raw.get("security"), (*where, "security"), SECURITIES)),
            )
        )
    return tuple(servers)


def _read_providers(path: Path, entry_ids: set[str], problems: list[Problem]) -> tuple[Provider, ...]:
    table = _read_table(path, problems)
    if table is None:
        return ()
    check, rows = table
    result: list[Provider] = []
    names: dict[str, str] = {}
    for i, raw in enumerate(rows):
        at: Path_ = (i,)
        if not check.mapping(raw, at, PROVIDER_FIELDS, PROVIDER_REQUIRED):
            continue
        provider = Provider(
            id=check.text(raw.get("id"), (*at, "id")),
            name=check.text(raw.get("name"), (*at, "name")),
            domains=check.text_list(raw.get("domains"), (*at, "domains"), minimum=1),
            aliases=check.text_list(raw.get("aliases"), (*at, "aliases")),
            incoming=_read_servers(check, raw.get("incoming"), (*at, "incoming"), ("IMAP", "POP3")),
            outgoing=_read_servers(check, raw.get("outgoing"), (*at, "outgoing"), ("SMTP",)),
            auth=check.text(raw.get("auth"), (*at, "auth")),
            notes=check.text(raw.get("notes"), (*at, "notes"), optional=True),
            entry=check.text(raw.get("entry"), (*at, "entry")),
            source=check.text(raw.get("source"), (*at, "source")),
        )
        if provider.id and not ID_PATTERN.match(provider.id):
            check.error((*at, "id"), "id: lower-case letters, digits and single hyphens")
        if provider.entry and provider.entry not in entry_ids:
            check.error((*at, "entry"), f"entry: no entry with id {provider.entry!r}")
        if provider.source and not re.match(r"^https?://\S+$", provider.source):
            check.error((*at, "source"), "source: expected an http(s) address")
        for field_name in ("id", "name", "domains", "aliases"):
            value = getattr(provider, field_name)
            for index, name in enumerate(value if isinstance(value, tuple) else (value,)):
                key = dedup_key(name)
                where: Path_ = (*at, field_name, index) if isinstance(value, tuple) else (*at, field_name)
                if key in names and names[key] != provider.id:
                    check.error(where, f"{field_name}: {name!r} already names provider {names[key]!r}")
                names[key] = provider.id
        result.append(provider)
    return tuple(result) if not check.failed else ()


# --- The whole knowledge base -------------------------------------------------------------------------------


def entry_files(root: Path) -> list[Path]:
    return sorted((root / ENTRY_DIR).glob("*.md"))


def check_knowledge(root: Path) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Read and validate everything under `root`; the knowledge base is None when there is any error."""
    problems: list[Problem] = []
    if not (root / ENTRY_DIR).is_dir():
        problems.append(Problem(root / ENTRY_DIR, 1, "the entries folder is missing"))
        return None, problems
    paths = entry_files(root)
    read = [result for path in paths if (result := _read_entry(path, problems)) is not None]
    if not read and not problems:
        problems.append(Problem(root / ENTRY_DIR, 1, "there are no entries"))
    _check_across_entries(read, problems)
    # Every file's id, read or not: a table row naming a broken entry is that entry's problem, not the row's.
    entry_ids = {path.stem for path in paths}
    ports = _read_ports(root / PORTS_FILE, entry_ids, problems)
    providers = _read_providers(root / PROVIDERS_FILE, entry_ids, problems)
    problems.sort(key=lambda p: (str(p.path), p.line))
    if any(p.severity == "error" for p in problems):
        return None, problems
    entries: Mapping[str, Entry] = {entry.id: entry for entry, _ in read}
    return KnowledgeBase(entries=entries, ports=ports, providers=providers, root=root), problems


def load_knowledge(root: Path) -> KnowledgeBase:
    """The validated knowledge base, or KnowledgeError listing every error."""
    knowledge, problems = check_knowledge(root)
    if knowledge is None:
        raise KnowledgeError(problems, root)
    return knowledge
