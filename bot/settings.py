"""Every setting of the bot and the command line, read once from the environment or `.env`.

Names are `GUIDENEST_<FIELD>` except the Discord token, which is `DISCORD_TOKEN` as every Discord tool calls it.
`.env.example` documents each one with its default; keep the two in step (a test compares them).

Each setting belongs to a `Group`, the part of the program that reads it, so a command stops only for a bad
setting it reads: a mistyped probe timeout stops `guidenest probe`, not `guidenest ask`. Each also says, in
`description`, the form its value takes, which is what a person reads when the value is wrong.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

import annotated_types
from dotenv import dotenv_values
from pydantic import AliasChoices, Field, FilePath, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from rapidfuzz import fuzz, process

from bot.ocr.hosts import parse_host

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails

# The knowledge shipped beside the package (a checkout or an editable install).
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_PROBE_PORTS = (25, 110, 143, 465, 587, 993, 995, 2525)
# Where Discord serves attachments: `url` on the first, `proxy_url` on the second.
DISCORD_CDN_HOSTS = ("cdn.discordapp.com", "media.discordapp.net")

ENV_PREFIX = "GUIDENEST_"


class Group(StrEnum):
    """The part of the program that reads a setting."""

    DISCORD = "Discord"
    KNOWLEDGE = "knowledge"
    ANSWERING = "answering"
    STORAGE = "storage"
    LOGGING = "logging"
    HEALTH = "health endpoint"
    PROBE = "probe"
    SCREENSHOTS = "screenshots"


class Confidence(StrEnum):
    """How sure the matcher must be before the bot answers unasked."""

    STRICT = "strict"
    NORMAL = "normal"
    RELAXED = "relaxed"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"

    @classmethod
    def _missing_(cls, value: object) -> LogLevel | None:
        """`info` as well as `INFO`, as the logging module spells them."""
        return cls.__members__.get(value.upper()) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One bad setting: its field and the line that tells a person what to write instead."""

    field: str
    message: str

    @property
    def group(self) -> Group:
        return group_of(self.field)


class SettingsError(Exception):
    """Settings are malformed; the message has one line per bad setting, naming it and the form it takes."""

    def __init__(self, problems: Iterable[SettingProblem]) -> None:
        super().__init__("\n".join(problem.message for problem in problems))


class _SettingsConflictError(ValueError):
    """Settings that disagree with each other; the message is the whole line shown to the user."""


def _split_list(value: Any) -> Any:
    """Accept `a,b,c` from the environment; an empty string is an empty list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def parse_dns_server(entry: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address -> (address, port)."""
    text = entry.strip()
    port = 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"cannot read {entry!r}")
            port = _number(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _number(port_text)
    else:
        host = text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a port")
    return host, port


_SECONDS = "a number of seconds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,  # `GUIDENEST_DEV_GUILD=` in .env means "not set", as .env.example shows
        frozen=True,
    )

    # --- Discord -------------------------------------------------------------------------------------------
    discord_token: Annotated[SecretStr | None, Group.DISCORD] = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_TOKEN", "GUIDENEST_DISCORD_TOKEN"),
        description="the bot token from the Developer Portal",
    )
    discord_api_base: Annotated[str, Group.DISCORD] = Field(default=DISCORD_API_BASE, description="an http(s) URL")
    discord_gateway_url: Annotated[str, Group.DISCORD] = Field(default=DISCORD_GATEWAY_URL, description="a ws(s) URL")
    dev_guild: Annotated[int | None, Group.DISCORD] = Field(
        default=None, gt=0, description="a guild (server) id", examples=["123456789012345678"]
    )
    shard_count: Annotated[int | None, Group.DISCORD] = Field(
        default=None, gt=0, description="a whole number of shards", examples=["2"]
    )
    shard_ids: Annotated[list[int], NoDecode, Group.DISCORD] = Field(
        default_factory=list, description="shard numbers, comma-separated or a range", examples=["0,1 or 0-3"]
    )

    # --- Knowledge and answering ---------------------------------------------------------------------------
    knowledge_dir: Annotated[Path, Group.KNOWLEDGE] = Field(
        default=DEFAULT_KNOWLEDGE_DIR, description="the path of a knowledge folder", examples=["knowledge"]
    )
    default_confidence: Annotated[Confidence, Group.ANSWERING] = Confidence.NORMAL
    answer_cooldown_seconds: Annotated[float, Group.ANSWERING] = Field(default=60.0, ge=0, description=_SECONDS)
    user_rate_limit: Annotated[int, Group.ANSWERING] = Field(default=5, ge=1, description="a whole number of answers")
    user_rate_window_seconds: Annotated[float, Group.ANSWERING] = Field(default=60.0, gt=0, description=_SECONDS)
    # Servers with learned phrasings whose own matcher is kept built (about 0.6 MB each at the shipped size).
    learned_matchers: Annotated[int, Group.ANSWERING] = Field(default=32, ge=1, description="a whole number of servers")

    # --- Storage ---------------------------------------------------------------------------------------------
    database_path: Annotated[Path, Group.STORAGE] = Field(
        default=Path("guidenest.sqlite3"), description="the path of a SQLite database file"
    )
    # A secret: a PostgreSQL URL may hold a password.
    database_url: Annotated[SecretStr | None, Group.STORAGE] = Field(
        default=None,
        description="a sqlite:///PATH or postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL",
        examples=["postgresql://guidenest@db.internal/guidenest"],
    )
    miss_retention_days: Annotated[int, Group.STORAGE] = Field(default=30, ge=1, description="a whole number of days")
    # A secret too: a Redis URL may hold a password. Unset: every limit is kept in this process's memory.
    redis_url: Annotated[SecretStr | None, Group.STORAGE] = Field(
        default=None,
        description="a redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] or rediss://… URL",
        examples=["redis://redis.internal:6379/0"],
    )

    # --- Operations ------------------------------------------------------------------------------------------
    log_level: Annotated[LogLevel, Group.LOGGING] = LogLevel.INFO
    health_host: Annotated[str, Group.HEALTH] = Field(
        default="127.0.0.1", description="a host name or IP address to listen on"
    )
    health_port: Annotated[int | None, Group.HEALTH] = Field(
        default=None, ge=1, le=65535, description="a TCP port number", examples=["8080"]
    )

    # --- Probe -----------------------------------------------------------------------------------------------
    probe_timeout_seconds: Annotated[float, Group.PROBE] = Field(default=10.0, gt=0, le=60, description=_SECONDS)
    probe_line_bytes: Annotated[int, Group.PROBE] = Field(default=4096, ge=256, description="a whole number of bytes")
    probe_total_bytes: Annotated[int, Group.PROBE] = Field(
        default=65536, ge=1024, description="a whole number of bytes"
    )
    probe_allowed_ports: Annotated[list[int], NoDecode, Group.PROBE] = Field(
        default_factory=lambda: list(DEFAULT_PROBE_PORTS),
        description="TCP port numbers, comma-separated",
        examples=["25,465,587"],
    )
    probe_allow_networks: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode, Group.PROBE] = Field(
        default_factory=list, description="networks in CIDR form, comma-separated", examples=["10.0.0.0/8,fd00::/8"]
    )
    probe_concurrency: Annotated[int, Group.PROBE] = Field(default=4, ge=1, description="a whole number of probes")
    probe_user_cooldown_seconds: Annotated[float, Group.PROBE] = Field(default=30.0, ge=0, description=_SECONDS)
    probe_guild_hourly_cap: Annotated[int, Group.PROBE] = Field(
        default=30, ge=1, description="a whole number of probes per hour"
    )
    probe_target_hourly_cap: Annotated[int, Group.PROBE] = Field(
        default=10, ge=1, description="a whole number of probes per hour"
    )
    dns_servers: Annotated[list[str], NoDecode, Group.PROBE] = Field(
        default_factory=list,
        description="IP addresses, each optionally with :port, comma-separated",
        examples=["127.0.0.1:5353"],
    )
    # Extra trust anchors (PEM) on top of the system store, e.g. an operator's internal CA.
    probe_ca_file: Annotated[FilePath | None, Group.PROBE] = Field(
        default=None, description="the path of an existing PEM file", examples=["/etc/ssl/internal-ca.pem"]
    )
    # Requests that may wait for a free probe slot; beyond running + waiting, requests are refused.
    probe_queue_limit: Annotated[int, Group.PROBE] = Field(default=16, ge=0, description="a whole number of requests")

    # --- Screenshots (OCR) ---------------------------------------------------------------------------------
    discord_cdn_hosts: Annotated[list[str], NoDecode, Group.SCREENSHOTS] = Field(
        default_factory=lambda: list(DISCORD_CDN_HOSTS),
        description="host names, each optionally with :port, comma-separated",
        examples=["cdn.discordapp.com,127.0.0.1:8080"],
    )
    # Empty: TESSDATA_PREFIX if set, else Debian's /usr/share/tesseract-ocr/5/tessdata.
    ocr_tessdata_dir: Annotated[Path | None, Group.SCREENSHOTS] = Field(
        default=None,
        description="the path of Tesseract's tessdata folder",
        examples=["/usr/share/tesseract-ocr/5/tessdata"],
    )
    ocr_max_bytes: Annotated[int, Group.SCREENSHOTS] = Field(
        default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024, description="a whole number of bytes"
    )
    # Below Pillow's own decompression-bomb limit (89 million), which would otherwise only warn.
    ocr_max_pixels: Annotated[int, Group.SCREENSHOTS] = Field(
        default=25_000_000, ge=10_000, le=80_000_000, description="a whole number of pixels"
    )
    ocr_timeout_seconds: Annotated[float, Group.SCREENSHOTS] = Field(default=10.0, gt=0, le=60, description=_SECONDS)
    ocr_concurrency: Annotated[int, Group.SCREENSHOTS] = Field(
        default=2, ge=1, le=32, description="a whole number of images"
    )

    @property
    def database_target(self) -> Path | str:
        """The database the bot uses: GUIDENEST_DATABASE_URL when set, else the SQLite file GUIDENEST_DATABASE_PATH."""
        return self.database_url.get_secret_value() if self.database_url is not None else self.database_path

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"(sqlite(\+\w+)?:///\S+|postgres(ql)?(\+\w+)?://\S*/\w\S*)", value.get_secret_value()
        ):
            raise ValueError  # the expected form says it all
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"(rediss?://\S+|unix://\S+)", value.get_secret_value()):
            raise ValueError  # the expected form says it all
        return value

    @field_validator("discord_api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError  # the expected form says it all
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        if not re.fullmatch(r"wss?://[^\s/]+(/\S*)?", value):
            raise ValueError  # the expected form says it all
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _parse_shard_ids(cls, value: Any) -> Any:
        """`0,1,2` or a range `0-3` (inclusive)."""
        if not isinstance(value, str):
            return value
        ids: list[int] = []
        for part in _split_list(value):
            low, sep, high = part.partition("-")
            if sep:
                ids.extend(range(_number(low), _number(high) + 1))
            else:
                ids.append(_number(part))
        return ids

    @field_validator("shard_ids")
    @classmethod
    def _check_shards(cls, value: list[int], info: ValidationInfo) -> list[int]:
        # Settings that only make sense together; the messages name both variables.
        if not value or "shard_count" not in info.data:  # a bad count is reported on its own
            return value
        count = info.data["shard_count"]
        if count is None:
            raise _SettingsConflictError(
                "GUIDENEST_SHARD_IDS needs GUIDENEST_SHARD_COUNT, the total number of shards, set too"
            )
        if any(shard >= count for shard in value):
            raise _SettingsConflictError(
                f"GUIDENEST_SHARD_IDS must be below GUIDENEST_SHARD_COUNT: with {count} shards, "
                f"the ids run from 0 to {count - 1}"
            )
        return value

    @field_validator("probe_allowed_ports", mode="before")
    @classmethod
    def _parse_ports(cls, value: Any) -> Any:
        items = _split_list(value)
        return [_number(item) if isinstance(item, str) else item for item in items]

    @field_validator("dns_servers", "discord_cdn_hosts", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("discord_cdn_hosts")
    @classmethod
    def _check_cdn_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_host(entry)  # raises ValueError naming the entry
        return value

    @field_validator("dns_servers")
    @classmethod
    def _check_dns_servers(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_dns_server(entry)  # raises ValueError naming the entry
        return value

    @field_validator("probe_allow_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        networks = []
        for item in _split_list(value):
            try:
                networks.append(ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item)
            except ValueError:
                raise ValueError(f"{item!r} is not a network") from None
        return networks

    @field_validator("probe_allowed_ports")
    @classmethod
    def _check_ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"{port} is not a TCP port")
        return value


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return "DISCORD_TOKEN" if field == "discord_token" else f"{ENV_PREFIX}{field.upper()}"


def group_of(field: str) -> Group:
    """The group `field` is declared in (its `Annotated[..., Group.X]`)."""
    return next(item for item in Settings.model_fields[field].metadata if isinstance(item, Group))


def load_settings(*, needed: Collection[Group] = tuple(Group), **overrides: Any) -> Settings:
    """The settings from `overrides`, the environment and `.env`, in that order of precedence.

    Raises SettingsError with a line for every bad setting in the `needed` groups (all of them unless told).
    A group with a bad setting that is not needed falls back to its defaults as a whole, so its settings still
    agree with each other; the command asking does not read them.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = _problems(exc)
    if stopping := [problem for problem in problems if problem.group in needed]:
        raise SettingsError(stopping)
    unread = {problem.group for problem in problems}
    defaults = {
        field: info.get_default(call_default_factory=True)
        for field, info in Settings.model_fields.items()
        if group_of(field) in unread
    }
    return Settings(**{**overrides, **defaults})


def _field_at(location: str) -> str:
    """The field an error is located at: its name, or for a setting with several names (the token) the first."""
    return next(
        field
        for field, info in Settings.model_fields.items()
        if location == field
        or (isinstance(info.validation_alias, AliasChoices) and location in info.validation_alias.choices)
    )


def _problems(exc: ValidationError) -> list[SettingProblem]:
    first_errors: dict[str, ErrorDetails] = {}
    for error in exc.errors():
        # The first error of a setting says what is wrong with it: one line per setting.
        first_errors.setdefault(_field_at(str(error["loc"][0])), error)
    return [SettingProblem(field, _describe(field, error)) for field, error in first_errors.items()]


def _describe(field: str, error: ErrorDetails) -> str:
    """`NAME must be <form>[, <bounds>][, e.g. <example>] (got '<value>'[: <what is wrong in it>])`."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _SettingsConflictError):
        return str(cause)
    info = Settings.model_fields[field]
    choices = _choices(info)
    line = f"{env_name(field)} must be "
    if choices:
        line += "one of " + _spoken_list([str(choice.value) for choice in choices])
    else:
        line += f"{info.description}{_bounds(info)}"
        example = _example(info)
        if example is not None:
            line += f", e.g. {example}"
    shown = _shown_value(info, error["input"])
    if shown is not None:
        # What is wrong inside the value, when that adds to it: "'smtp' is not a whole number" in a list of ports.
        detail = f": {cause}" if isinstance(cause, ValueError) and str(cause) and shown not in str(cause) else ""
        line += f" (got {shown}{detail})"
    return line


def _choices(info: FieldInfo) -> list[Enum]:
    annotation = info.annotation
    return list(annotation) if isinstance(annotation, type) and issubclass(annotation, Enum) else []


def _spoken_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _bounds(info: FieldInfo) -> str:
    """The limits of a number in words: ", more than 0 and at most 60", ", from 1 to 65535"."""
    at_least = above = at_most = None
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            at_least = item.ge
        elif isinstance(item, annotated_types.Gt):
            above = item.gt
        elif isinstance(item, annotated_types.Le):
            at_most = item.le
    if at_least is not None and at_most is not None:
        return f", from {at_least} to {at_most}"
    limits = [
        f"{at_least} or more" if at_least is not None else "",
        f"more than {above}" if above is not None else "",
        f"at most {at_most}" if at_most is not None else "",
    ]
    spoken = " and ".join(limit for limit in limits if limit)
    return f", {spoken}" if spoken else ""


def _example(info: FieldInfo) -> str | None:
    if info.examples:
        return str(info.examples[0])
    default = info.get_default(call_default_factory=True)
    if isinstance(default, float):
        return f"{default:g}"
    return None if default is None else str(default)


# The shape of a Discord bot token: a secret pasted into the wrong variable must not be printed back either.
_TOKEN_SHAPE = re.compile(r"[\w-]{17,}\.[\w-]{5,}\.[\w-]{20,}")
_SHOWN_LENGTH = 60  # a pasted key or file still fits on its line


def _shown_value(info: FieldInfo, value: object) -> str | None:
    """The value as the user wrote it, quoted; None for a secret setting, whose value is never printed."""
    if SecretStr in (info.annotation, *get_args(info.annotation)):
        return None
    text = value if isinstance(value, str) else str(value)
    if _TOKEN_SHAPE.search(text):
        return "a value shaped like a bot token, not shown"
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 1] + "…"
    return repr(text)


# How close a name must be to a setting's (rapidfuzz WRatio, 0-100) to be suggested as the one meant.
_SUGGESTION_CUTOFF = 75


def unknown_setting_warnings(environ: Mapping[str, str]) -> list[str]:
    """A warning for each `GUIDENEST_*` variable (in `environ` or the `.env` file) that is no setting.

    Settings are read case-insensitively, so the names are compared in upper case. The nearest setting's name is
    suggested when one is close enough to be the one meant.
    """
    dotenv_file = Path(str(Settings.model_config["env_file"]))
    origins = dict.fromkeys(environ, "in the environment")
    if dotenv_file.is_file():
        origins |= {name: f"in {dotenv_file}" for name in dotenv_values(dotenv_file) if name not in origins}
    known = {f"{ENV_PREFIX}{field.upper()}" for field in Settings.model_fields}
    real_names = {env_name(field).removeprefix(ENV_PREFIX): env_name(field) for field in Settings.model_fields}
    warnings = []
    for name, origin in sorted(origins.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        found = process.extractOne(
            upper.removeprefix(ENV_PREFIX), list(real_names), scorer=fuzz.WRatio, score_cutoff=_SUGGESTION_CUTOFF
        )
        hint = f"; did you mean {real_names[found[0]]}?" if found else " (.env.example lists every setting)"
        warnings.append(f"{name} ({origin}) is not a setting and is ignored{hint}")
    return warnings
