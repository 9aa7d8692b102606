"""The shape of every knowledge file, as pydantic models: what `guidenest kb check` enforces field by field.

The models validate the raw YAML values; `bot.knowledge.loader` turns their errors into `file:line: message`
lines and the validated values into the immutable `bot.knowledge.model` classes. Checks that need more than one
file (duplicates across entries, references between files) stay in the loader; references are checked here when
the loader passes the known entry ids in the validation context.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

# Pydantic reads the annotations when the models are built: these names are needed at run time.
from bot.knowledge.model import Direction, Protocol, Security, SettingsFrom, Status  # noqa: TC001

MAX_TITLE = 256  # a Discord embed title
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL_PATTERN = re.compile(r"^https?://\S+$")
HOST_PATTERN = re.compile(r"^[a-z0-9.-]+$")
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")

# The error type of every check written here; the loader prints its message as it is.
KNOWLEDGE_ERROR = "knowledge"


def _fail(message: str) -> PydanticCustomError:
    # No context: the message is used as it is, braces in a quoted value included.
    return PydanticCustomError(KNOWLEDGE_ERROR, message)


def _http_url(value: str) -> str:
    if not URL_PATTERN.match(value):
        raise _fail(f"expected an http(s) address, not {value!r}")
    return value


def _http_url_or_null(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not URL_PATTERN.match(value.strip()):
        raise _fail("expected an http(s) address or nothing (null)")
    return value.strip()


def _id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise _fail("lower-case letters, digits and single hyphens")
    return value


def _host(value: str) -> str:
    if not HOST_PATTERN.match(value):
        raise _fail(f"{value!r} is not a host name")
    return value


def _known_entry(value: str, info: ValidationInfo) -> str:
    known = (info.context or {}).get("entry_ids")
    if known is not None and value not in known:
        raise _fail(f"no entry with id {value!r}")
    return value


def parse_month(value: Any) -> dt.date | None:
    """`as_of`: "YYYY-MM" (as written, or a YAML date of which only the month counts) → its first day."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = MONTH_PATTERN.match(value.strip()) if isinstance(value, str) else None
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise _fail(f"expected a month written YYYY-MM (e.g. 2026-01), not {value!r}")
    return dt.date(int(match[1]), int(match[2]), 1)


def _none_is_empty(value: Any) -> Any:
    # `errors:` with nothing after it is YAML null: the same as no errors.
    return [] if value is None else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE)]
Url = Annotated[Text, AfterValidator(_http_url)]
EntryId = Annotated[Text, AfterValidator(_id)]
EntryRef = Annotated[Text, AfterValidator(_known_entry)]
Host = Annotated[Text, AfterValidator(_host)]
Port = Annotated[int, Field(ge=1, le=65535)]
Month = Annotated[dt.date | None, PlainValidator(parse_month)]
TextList = Annotated[list[Text], BeforeValidator(_none_is_empty)]
NonEmptyTextList = Annotated[list[Text], Field(min_length=1)]


class _Record(BaseModel):
    # Strict: YAML gives real types, so "993" is not a port and `yes` is not a title.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- Entries: the front matter of entries/<id>.md -----------------------------------------------------------


class SourceFields(_Record):
    title: Text
    url: Annotated[str | None, PlainValidator(_http_url_or_null)] = None


class FrontMatter(_Record):
    id: Text | None = None
    title: Title
    asks: NonEmptyTextList
    errors: TextList = []
    tags: NonEmptyTextList
    related: TextList = []
    sources: Annotated[list[SourceFields], Field(min_length=1)]
    as_of: Month = None
    needs_mail_context: bool = False

    @field_validator("id")
    @classmethod
    def _id_is_the_file_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        file_id = (info.context or {}).get("file_id")
        if value is not None and file_id is not None and value != file_id:
            raise _fail(f"{value!r} differs from the file name {file_id!r}")
        return value

    @field_validator("sources")
    @classmethod
    def _one_source_with_an_address(cls, value: list[SourceFields]) -> list[SourceFields]:
        if not any(source.url for source in value):
            raise _fail("at least one source needs an http(s) url, so the answer can be checked")
        return value


# --- Tables: the rows of ports.yaml and providers.yaml ------------------------------------------------------


class PortFields(_Record):
    protocol: Protocol
    port: Port
    security: Security
    direction: Direction
    status: Status
    name: Text
    standard: Text
    notes: Text
    entry: EntryRef


class IncomingServer(_Record):
    protocol: Literal["IMAP", "POP3"]
    host: Host
    port: Port
    security: Security


class OutgoingServer(_Record):
    protocol: Literal["SMTP"]
    host: Host
    port: Port
    security: Security


class ProviderFields(_Record):
    id: EntryId
    name: Text
    domains: NonEmptyTextList
    aliases: TextList = []
    incoming: Annotated[list[IncomingServer], Field(min_length=1)]
    outgoing: Annotated[list[OutgoingServer], Field(min_length=1)]
    auth: Text
    notes: Annotated[str, BeforeValidator(lambda value: "" if value is None else value)] = ""
    entry: EntryRef
    source: Url
    settings_from: SettingsFrom


# --- Examples: examples/*.yaml, real messages and which entry answers them ----------------------------------

MAX_EXAMPLE = 20_000  # a post with its pasted log; longer is not an example anyone will read


class ExampleFields(_Record):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EXAMPLE)]
    entry: EntryRef | None  # null: a message the knowledge does not answer (another tool's error, chatter)
    also: Annotated[list[EntryRef], BeforeValidator(_none_is_empty)] = []  # other entries that answer it as well
    source: Annotated[str | None, PlainValidator(_http_url_or_null)] = None

    @field_validator("also")
    @classmethod
    def _also_needs_an_entry(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if value and info.data.get("entry", "") is None:
            raise _fail("a message left alone (entry: null) has no other entries that answer it")
        return value

