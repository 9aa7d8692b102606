"""Reading and validating `knowledge/`: every problem is reported as `file:line: message`.

Validation collects all problems instead of stopping at the first, so one `guidenest kb check` run shows a
maintainer everything to fix, and each mistake once, at the line where it is. The fields of every file are
checked by the pydantic models in `bot.knowledge.schema`; this module finds the lines, checks what spans several
files (duplicate phrasings, references between entries) and builds the immutable knowledge base.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

import yaml
from pydantic import BaseModel, ValidationError
from rapidfuzz import fuzz, utils

from bot.knowledge.model import Entry, Example, KnowledgeBase, PortRow, Provider, ServerSetting, Source
from bot.knowledge.schema import (
    ID_PATTERN,
    KNOWLEDGE_ERROR,
    MAX_TITLE,
    ExampleFields,
    FrontMatter,
    PortFields,
    ProviderFields,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from pathlib import Path

    from pydantic_core import ErrorDetails

__all__ = [
    "ADVISED_ANSWER",
    "ID_PATTERN",
    "MAX_ANSWER",
    "MAX_TITLE",
    "STALE_AFTER_MONTHS",
    "KnowledgeError",
    "Problem",
    "check_knowledge",
    "dedup_key",
    "entry_files",
    "load_knowledge",
]

ENTRY_DIR = "entries"
PORTS_FILE = "ports.yaml"
PROVIDERS_FILE = "providers.yaml"
EXAMPLES_DIR = "examples"  # optional: labelled real messages for the re-ranker

MAX_ANSWER = 4096  # a Discord embed description
ADVISED_ANSWER = 1200  # longer answers get read less; a warning, not an error
STALE_AFTER_MONTHS = 12  # an `as_of` older than this is a warning: the answer wants checking again

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def format(self, root: Path | None = None) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        if self.path == root:  # the folder itself: named exactly as the user gave it, without a line
            return f"{root}: {prefix}{self.message}"
        shown = self.path
        if root is not None:
            with contextlib.suppress(ValueError):
                shown = self.path.relative_to(root.parent)
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

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader (libyaml's when it is there), with impossible dates reported at their line."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            # `as_of: 2026-02-30` would otherwise escape as a bare ValueError without a line.
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a real date ({exc})", node.start_mark
            ) from exc


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


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
        # A field's line is its key's, where `sources:` is written, not the line its list starts on.
        self.lines.setdefault(at, node.start_mark.line + self.first_line)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value)
                if name in seen:
                    # YAML keeps the last of two equal keys without a word: a second `url:` pasted under one
                    # source would replace the first unseen.
                    raise yaml.constructor.ConstructorError(
                        None, None, f"{name!r} is given twice here; the first would be lost", key.start_mark
                    )
                seen.add(name)
                self.lines[(*at, name)] = key.start_mark.line + self.first_line
                self._index(value, (*at, name))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*at, index))

    def line(self, at: Path_) -> int:
        while at not in self.lines and at:
            at = at[:-1]
        return self.lines.get(at, self.first_line)


def _yaml_problem(exc: yaml.MarkedYAMLError, text: str, first_line: int) -> tuple[int, str]:
    """The line where a YAML mistake starts, and what it is.

    PyYAML notices a missing closing quote only where it gets lost: at the end of the text, or many lines on,
    where the next quote character closes the runaway text and what follows makes no sense. Both are blamed on
    the line where the quote was opened.
    """
    if exc.context_mark is not None and "quoted scalar" in (exc.context or ""):
        return exc.context_mark.line + first_line, "a quote opened on this line is never closed"
    problem_line = exc.problem_mark.line if exc.problem_mark is not None else 0
    runaway = _runaway_quote(text, problem_line)
    if runaway is not None:
        opened, closed = runaway
        return (
            opened + first_line,
            f"the quote opened on this line runs on to line {closed + first_line}; is its closing quote missing?",
        )
    return problem_line + first_line, str(exc.problem or exc)


def _runaway_quote(text: str, problem_line: int) -> tuple[int, int] | None:
    """A quoted value spanning several lines that ends where the parser failed: (first line, last line)."""
    found = None
    with contextlib.suppress(yaml.YAMLError):
        for token in yaml.scan(text, Loader=_Loader):
            if token.start_mark.line > problem_line:
                break
            if (
                isinstance(token, yaml.ScalarToken)
                and token.style in ("'", '"')
                and token.start_mark.line < token.end_mark.line
                and token.end_mark.line in (problem_line - 1, problem_line)
            ):
                found = (token.start_mark.line, token.end_mark.line)
    return found


# --- Pydantic errors as file:line messages ------------------------------------------------------------------


def _record_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _record_in(arg)) is not None:
            return found
    return None


def _model_at(model: type[BaseModel], loc: Path_) -> type[BaseModel]:
    """The model that validates the value at `loc` (a nested record, or the innermost one around it)."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _record_in(field.annotation) if field is not None else None
        if inner is None:
            return model
        model = inner
    return model


def _explain(error: ErrorDetails, model: type[BaseModel], whole: str) -> tuple[Path_, str]:
    """Where one validation error is (its path in the document) and the message for a maintainer."""
    loc: Path_ = tuple(error["loc"])
    kind = error["type"]
    value = error["input"]
    ctx = error.get("ctx") or {}
    name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    label = name or whole
    if kind == "missing":
        return loc[:-1], f"missing required field {loc[-1]!r}"
    if kind == "extra_forbidden":
        allowed = ", ".join(_model_at(model, loc[:-1]).model_fields)
        return loc, f"unknown field {loc[-1]!r} (allowed: {allowed})"
    if value is None and loc and isinstance(loc[-1], str):
        # `title:` with nothing after it: a field without a value is a missing field.
        return loc, f"missing required field {loc[-1]!r}"
    if kind == KNOWLEDGE_ERROR:
        return loc, f"{label}: {error['msg']}"
    item = _model_at(model, loc)
    if kind in ("list_type", "too_short") and item is not _model_at(model, loc[:-1]):
        fields = ", ".join(item.model_fields)
        return loc, f"{label}: expected a list of at least one {{{fields}}}"
    if kind == "list_type":
        return loc, f"{label}: expected a list"
    if kind == "too_short":
        return loc, f"{label}: expected at least {ctx.get('min_length', 1)} item(s)"
    if kind in ("model_type", "dict_type"):
        return loc, f"{label}: expected a mapping of fields ({', '.join(item.model_fields)})"
    if kind in ("string_type", "string_too_short"):
        return loc, f"{label}: expected non-empty text"
    if kind == "string_too_long":
        return loc, f"{label}: {len(str(value).strip())} characters, at most {ctx.get('max_length')}"
    if kind in ("int_type", "greater_than_equal", "less_than_equal"):
        return loc, f"{label}: expected a whole number from 1 to 65535"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return loc, f"{label}: {value!r} is not one of {', '.join(choices)}"
    return loc, f"{label}: {error['msg']}"


_M = TypeVar("_M", bound=BaseModel)


def _validate(
    model: type[_M],
    raw: Any,
    *,
    at: Path_,
    doc: _Document,
    path: Path,
    problems: list[Problem],
    context: dict[str, Any],
    whole: str,
) -> _M | None:
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as exc:
        for error in exc.errors():
            loc, message = _explain(error, model, whole)
            problems.append(Problem(path, doc.line((*at, *loc)), message))
        return None


# --- Entries ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Read:
    entry: Entry
    doc: _Document

    def line(self, at: Path_) -> int:
        return self.doc.line(at)


def _split_front_matter(text: str) -> tuple[str, str, int] | None:
    """Front matter text, body text, and the line on which the body starts (1-based)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None


def _check_answer(path: Path, answer: str, line: int, problems: list[Problem]) -> bool:
    if not answer:
        problems.append(Problem(path, line, "the answer (the text after the front matter) is empty"))
        return False
    if len(answer) > MAX_ANSWER:
        problems.append(Problem(path, line, f"the answer is {len(answer)} characters, at most {MAX_ANSWER}"))
        return False
    if len(answer) > ADVISED_ANSWER:
        problems.append(
            Problem(path, line, f"the answer is {len(answer)} characters; aim for {ADVISED_ANSWER}", "warning")
        )
    return True


def _read_entry(path: Path, problems: list[Problem]) -> _Read | None:
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
        line, message = _yaml_problem(exc, front, first_line=2)
        problems.append(Problem(path, line, f"front matter is not valid YAML: {message}"))
        return None
    ok = True
    if not ID_PATTERN.match(entry_id):
        ok = False
        problems.append(
            Problem(path, 1, f"file name {path.name!r}: ids are lower-case letters, digits and single hyphens")
        )
    fields = _validate(
        FrontMatter,
        doc.data,
        at=(),
        doc=doc,
        path=path,
        problems=problems,
        context={"file_id": entry_id},
        whole="the front matter",
    )
    answer = body.strip()
    ok = _check_answer(path, answer, body_line, problems) and ok
    if fields is None or not ok:
        return None
    entry = Entry(
        id=entry_id,
        title=fields.title,
        asks=tuple(fields.asks),
        errors=tuple(fields.errors),
        tags=tuple(fields.tags),
        related=tuple(fields.related),
        sources=tuple(Source(source.title, source.url) for source in fields.sources),
        answer=answer,
        path=path,
        as_of=fields.as_of,
        needs_mail_context=fields.needs_mail_context,
    )
    return _Read(entry, doc)


@dataclass(frozen=True, slots=True)
class _Phrase:
    read: _Read
    field: str
    index: int
    text: str

    @property
    def line(self) -> int:
        return self.read.line((self.field, self.index))

    @property
    def where(self) -> str:
        return f"{self.read.entry.path.name}:{self.line}"


def _fit(phrase: _Phrase) -> tuple[float, float]:
    """How well a phrase suits its entry: its closeness to the entry's title, tags and other phrasings."""
    entry = phrase.read.entry
    key = dedup_key(phrase.text)
    others = [text for text in (*entry.asks, *entry.errors) if dedup_key(text) != key]
    scores = sorted(
        (
            fuzz.token_set_ratio(phrase.text, candidate, processor=utils.default_process)
            for candidate in (entry.title, *entry.tags, *others)
        ),
        reverse=True,
    )
    top = scores[:3] or [0.0]
    return top[0], sum(top) / len(top)


def _duplicates(group: list[_Phrase], problems: list[Problem]) -> None:
    """One phrasing in several places: it stays where it fits best; every other place is an error."""
    firsts: dict[str, _Phrase] = {}
    for phrase in group:
        first = firsts.setdefault(phrase.read.entry.id, phrase)
        if first is phrase:
            continue
        # Twice in one entry: the second one is the mistake.
        message = (
            f"{phrase.field}: {phrase.text!r} is listed twice (also line {first.line})"
            if first.field == phrase.field
            else f"{phrase.field}: {phrase.text!r} is also in {first.field} (line {first.line})"
        )
        problems.append(Problem(phrase.read.entry.path, phrase.line, message))
    if len(firsts) < 2:
        return
    # max() keeps the first of equals: on a tie the phrase stays in the earlier file.
    keeper = max(firsts.values(), key=_fit)
    for phrase in firsts.values():
        if phrase is not keeper:
            problems.append(
                Problem(
                    phrase.read.entry.path,
                    phrase.line,
                    f"{phrase.field}: {phrase.text!r} is also in {keeper.where} ({keeper.field}); "
                    "one phrasing must lead to one answer",
                )
            )


def _check_across_entries(read: list[_Read], ids: set[str], problems: list[Problem]) -> None:
    """Phrasings unique across the knowledge base, and `related` naming existing entries.

    `ids` holds every entry file's id, readable or not: a reference to a broken entry is not a second error.
    """
    groups: dict[str, list[_Phrase]] = {}
    for item in read:
        entry = item.entry
        for field_name in ("asks", "errors"):
            for index, text in enumerate(getattr(entry, field_name)):
                phrase = _Phrase(item, field_name, index, text)
                key = dedup_key(text)
                if not key:
                    problems.append(
                        Problem(entry.path, phrase.line, f"{field_name}: {text!r} has no letters or digits")
                    )
                    continue
                groups.setdefault(key, []).append(phrase)
        for index, related in enumerate(entry.related):
            line = item.line(("related", index))
            if related == entry.id:
                problems.append(Problem(entry.path, line, "related: an entry is not related to itself"))
            elif related not in ids:
                problems.append(Problem(entry.path, line, f"related: no entry with id {related!r}"))
    for group in groups.values():
        if len(group) > 1:
            _duplicates(group, problems)


def _months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _check_dates(read: Iterable[_Read], today: dt.date, problems: list[Problem]) -> None:
    for item in read:
        as_of = item.entry.as_of
        if as_of is None:
            continue
        line = item.line(("as_of",))
        age = _months_between(as_of, today)
        if age > STALE_AFTER_MONTHS:
            problems.append(
                Problem(
                    item.entry.path,
                    line,
                    f"as_of {as_of:%Y-%m} is {age} months old (over {STALE_AFTER_MONTHS}): check the answer "
                    "against its sources, then update as_of",
                    "warning",
                )
            )
        elif age < 0:
            problems.append(Problem(item.entry.path, line, f"as_of {as_of:%Y-%m} is in the future", "warning"))


# --- Tables -------------------------------------------------------------------------------------------------


def _read_table(path: Path, problems: list[Problem]) -> tuple[_Document, list[Any]] | None:
    if not path.exists():
        problems.append(Problem(path, 1, "the file is missing"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
        doc = _Document(text, first_line=1)
    except yaml.MarkedYAMLError as exc:
        line, message = _yaml_problem(exc, text, first_line=1)
        problems.append(Problem(path, line, f"not valid YAML: {message}"))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, 1, f"cannot read the file: {exc}"))
        return None
    if not isinstance(doc.data, list) or not doc.data:
        problems.append(Problem(path, doc.line(()), "expected a non-empty list of rows"))
        return None
    return doc, doc.data


def _validate_row(
    model: type[_M],
    raw: Any,
    i: int,
    *,
    doc: _Document,
    path: Path,
    entry_ids: set[str],
    problems: list[Problem],
    noun: str = "row",
) -> _M | None:
    """Row `i` of a table checked against `model`; its problems are reported at their own lines."""
    return _validate(
        model, raw, at=(i,), doc=doc, path=path, problems=problems, context={"entry_ids": entry_ids},
        whole=f"{noun} {i + 1}",
    )


def _read_ports(path: Path, entry_ids: set[str], problems: list[Problem]) -> tuple[PortRow, ...]:
    table = _read_table(path, problems)
    if table is None:
        return ()
    doc, rows = table
    result: list[PortRow] = []
    failed = False
    seen: set[tuple[str, int, str]] = set()
    for i, raw in enumerate(rows):
        fields = _validate_row(PortFields, raw, i, doc=doc, path=path, entry_ids=entry_ids, problems=problems)
        if fields is None:
            failed = True
            continue
        row = PortRow(**fields.model_dump())
        key = (row.protocol, row.port, row.security)
        if key in seen:
            failed = True
            problems.append(
                Problem(path, doc.line((i,)), f"{row.protocol} {row.port} {row.security} is listed twice")
            )
        seen.add(key)
        result.append(row)
    return () if failed else tuple(result)


def _provider_names(raw: Any) -> Iterable[tuple[Path_, str]]:
    """Every name a provider row answers to, with where it is in the row."""
    if not isinstance(raw, dict):
        return
    for field_name in ("id", "name", "domains", "aliases"):
        value = raw.get(field_name)
        if isinstance(value, str):
            yield (field_name,), value
        elif isinstance(value, list):
            for index, name in enumerate(value):
                if isinstance(name, str):
                    yield (field_name, index), name


def _read_providers(path: Path, entry_ids: set[str], problems: list[Problem]) -> tuple[Provider, ...]:
    table = _read_table(path, problems)
    if table is None:
        return ()
    doc, rows = table
    result: list[Provider] = []
    failed = False
    names: dict[str, str] = {}
    for i, raw in enumerate(rows):
        fields = _validate_row(ProviderFields, raw, i, doc=doc, path=path, entry_ids=entry_ids, problems=problems)
        # Names are compared for every row, valid or not: a copied row shows both of its problems at once.
        for where, name in _provider_names(raw):
            key = dedup_key(name)
            if not key:
                continue
            if key in names and names[key] != raw.get("id"):
                failed = True
                problems.append(
                    Problem(
                        path,
                        doc.line((i, *where)),
                        f"{where[0]}: {name!r} already names provider {names[key]!r}",
                    )
                )
            names.setdefault(key, str(raw.get("id")))
        if fields is None:
            failed = True
            continue
        provider = Provider(
            id=fields.id,
            name=fields.name,
            domains=tuple(fields.domains),
            aliases=tuple(fields.aliases),
            incoming=tuple(ServerSetting(**server.model_dump()) for server in fields.incoming),
            outgoing=tuple(ServerSetting(**server.model_dump()) for server in fields.outgoing),
            auth=fields.auth,
            notes=fields.notes.strip(),
            entry=fields.entry,
            source=fields.source,
            settings_from=fields.settings_from,
        )
        result.append(provider)
    return () if failed else tuple(result)


def _read_examples(folder: Path, entry_ids: set[str], problems: list[Problem]) -> tuple[Example, ...]:
    """Every examples/*.yaml file's rows; a file with an error adds none of its rows."""
    result: list[Example] = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        table = _read_table(path, problems)
        if table is None:
            continue
        doc, rows = table
        rows_of_file: list[Example] = []
        failed = False
        for i, raw in enumerate(rows):
            fields = _validate_row(
                ExampleFields, raw, i, doc=doc, path=path, entry_ids=entry_ids, problems=problems, noun="example"
            )
            if fields is None:
                failed = True
                continue
            rows_of_file.append(Example(text=fields.text, entry=fields.entry, also=tuple(fields.also)))
        if not failed:
            result.extend(rows_of_file)
    return tuple(result)


# --- The whole knowledge base -------------------------------------------------------------------------------


def entry_files(root: Path) -> list[Path]:
    return sorted((root / ENTRY_DIR).glob("*.md"))


def check_knowledge(
    root: Path, *, today: dt.date | None = None
) -> tuple[KnowledgeBase | None, list[Problem]]:
    """Read and validate everything under `root`; the knowledge base is None when there is any error.

    `today` dates the staleness check of `as_of` (the UTC date when not given).
    """
    problems: list[Problem] = []
    if not root.is_dir():
        wrong = "does not exist" if not root.exists() else "is not a folder"
        problems.append(
            Problem(
                root,
                0,
                f"{wrong}. Set GUIDENEST_KNOWLEDGE_DIR to the knowledge folder (the one holding entries/, "
                f"{PORTS_FILE} and {PROVIDERS_FILE}), or leave it unset for the knowledge shipped with Guide Nest.",
            )
        )
        return None, problems
    if not (root / ENTRY_DIR).is_dir():
        problems.append(Problem(root / ENTRY_DIR, 1, "the entries folder is missing"))
        return None, problems
    paths = entry_files(root)
    read = [result for path in paths if (result := _read_entry(path, problems)) is not None]
    if not read and not problems:
        problems.append(Problem(root / ENTRY_DIR, 1, "there are no entries"))
    # Every file's id, read or not: naming a broken entry is that entry's problem, not the reference's.
    entry_ids = {path.stem for path in paths}
    _check_across_entries(read, entry_ids, problems)
    _check_dates(read, today or dt.datetime.now(tz=dt.UTC).date(), problems)
    ports = _read_ports(root / PORTS_FILE, entry_ids, problems)
    providers = _read_providers(root / PROVIDERS_FILE, entry_ids, problems)
    examples = _read_examples(root / EXAMPLES_DIR, entry_ids, problems)
    problems.sort(key=lambda p: (str(p.path), p.line))
    if any(p.severity == "error" for p in problems):
        return None, problems
    entries: Mapping[str, Entry] = {item.entry.id: item.entry for item in read}
    knowledge = KnowledgeBase(entries=entries, ports=ports, providers=providers, examples=examples, root=root)
    return knowledge, problems


def load_knowledge(root: Path) -> KnowledgeBase:
    """The validated knowledge base, or KnowledgeError listing every error."""
    knowledge, problems = check_knowledge(root)
    if knowledge is None:
        raise KnowledgeError(problems, root)
    return knowledge
