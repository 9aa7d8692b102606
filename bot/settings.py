"""Every setting of the bot and the command line, read once from the environment or `.env`.

Names are `GUIDENEST_<FIELD>` except the Discord token, which is `DISCORD_TOKEN` as every Discord tool calls it.
`.env.example` documents each one with its default; keep the two in step (a test compares them).
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, FilePath, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The knowledge shipped beside the package (a checkout or an editable install).
DEFAULT_KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_PROBE_PORTS = (25, 110, 143, 465, 587, 993, 995, 2525)


class Confidence(StrEnum):
    """How sure the matcher must be before the bot answers unasked."""

    STRICT = "strict"
    NORMAL = "normal"
    RELAXED = "relaxed"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it and the expected form."""


def _split_list(value: Any) -> Any:
    """Accept `a,b,c` from the environment; an empty string is an empty list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def parse_dns_server(entry: str) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address -> (address, port)."""
    text = entry.strip()
    port = 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"GUIDENEST_DNS_SERVERS: cannot read {entry!r}; expected host or host:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text)
    else:
        host = text
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"GUIDENEST_DNS_SERVERS: {host!r} is not an IP address") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"GUIDENEST_DNS_SERVERS: {port} is not a port")
    return host, port


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GUIDENEST_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,  # `GUIDENEST_DEV_GUILD=` in .env means "not set", as .env.example shows
        frozen=True,
    )

    # --- Discord -------------------------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "GUIDENEST_DISCORD_TOKEN")
    )
    discord_api_base: str = DISCORD_API_BASE
    discord_gateway_url: str = DISCORD_GATEWAY_URL
    dev_guild: int | None = Field(default=None, gt=0)
    shard_count: int | None = Field(default=None, gt=0)
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)

    # --- Knowledge and answering ---------------------------------------------------------------------------
    knowledge_dir: Path = DEFAULT_KNOWLEDGE_DIR
    default_confidence: Confidence = Confidence.NORMAL
    answer_cooldown_seconds: float = Field(default=60.0, ge=0)
    user_rate_limit: int = Field(default=5, ge=1)
    user_rate_window_seconds: float = Field(default=60.0, gt=0)

    # --- Storage ---------------------------------------------------------------------------------------------
    database_path: Path = Path("guidenest.sqlite3")
    miss_retention_days: int = Field(default=30, ge=1)

    # --- Operations ------------------------------------------------------------------------------------------
    log_level: str = "INFO"
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=None, ge=1, le=65535)

    # --- Probe -----------------------------------------------------------------------------------------------
    probe_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    probe_line_bytes: int = Field(default=4096, ge=256)
    probe_total_bytes: int = Field(default=65536, ge=1024)
    probe_allowed_ports: Annotated[list[int], NoDecode] = Field(default_factory=lambda: list(DEFAULT_PROBE_PORTS))
    probe_allow_networks: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    probe_concurrency: int = Field(default=4, ge=1)
    probe_user_cooldown_seconds: float = Field(default=30.0, ge=0)
    probe_guild_hourly_cap: int = Field(default=30, ge=1)
    probe_target_hourly_cap: int = Field(default=10, ge=1)
    dns_servers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Extra trust anchors (PEM) on top of the system store, e.g. an operator's internal CA.
    probe_ca_file: FilePath | None = None
    # Requests that may wait for a free probe slot; beyond running + waiting, requests are refused.
    probe_queue_limit: int = Field(default=16, ge=0)

    @field_validator("discord_api_base")
    @classmethod
    def _check_api_base(cls, value: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("expected an http(s) URL")
        return value

    @field_validator("discord_gateway_url")
    @classmethod
    def _check_gateway_url(cls, value: str) -> str:
        if not re.fullmatch(r"wss?://[^\s/]+(/\S*)?", value):
            raise ValueError("expected a ws(s) URL")
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
                ids.extend(range(int(low), int(high) + 1))
            else:
                ids.append(int(part))
        return ids

    @field_validator("probe_allowed_ports", "dns_servers", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("dns_servers")
    @classmethod
    def _check_dns_servers(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_dns_server(entry)  # raises ValueError naming the entry
        return value

    @field_validator("probe_allow_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        items = _split_list(value)
        return [ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item for item in items]

    @field_validator("probe_allowed_ports")
    @classmethod
    def _check_ports(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"{port} is not a TCP port")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _check_shards(self) -> Settings:
        # Settings that only make sense together; the messages name both variables.
        if self.shard_ids and self.shard_count is None:
            raise ValueError("GUIDENEST_SHARD_IDS needs GUIDENEST_SHARD_COUNT, the total number of shards, set too")
        if self.shard_count is not None and any(shard >= self.shard_count for shard in self.shard_ids):
            raise ValueError(
                f"GUIDENEST_SHARD_IDS: shard ids run from 0 to GUIDENEST_SHARD_COUNT - 1 ({self.shard_count - 1})"
            )
        return self


# What each setting should look like, for error messages a person can act on.
_EXPECTED_FORM: dict[str, str] = {
    "discord_token": "the bot token from the Developer Portal",
    "discord_api_base": "an http(s) URL such as https://discord.com/api/v10",
    "discord_gateway_url": "a ws(s) URL such as wss://gateway.discord.gg/",
    "dev_guild": "a guild (server) id, a positive integer",
    "shard_count": "a positive integer",
    "shard_ids": "comma-separated shard numbers or a range, e.g. 0,1 or 0-3",
    "default_confidence": "strict, normal or relaxed",
    "health_port": "a TCP port number 1-65535",
    "probe_allowed_ports": "comma-separated TCP port numbers, e.g. 25,465,587",
    "probe_allow_networks": "comma-separated CIDR networks, e.g. 10.0.0.0/8,fd00::/8",
    "dns_servers": "comma-separated IP addresses, each optionally with :port, e.g. 127.0.0.1:5353",
    "probe_ca_file": "the path of an existing PEM file with extra CA certificates",
    "probe_queue_limit": "a whole number, 0 or more",
    "log_level": "DEBUG, INFO, WARNING, ERROR or CRITICAL",
}


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return "DISCORD_TOKEN" if field == "discord_token" else f"GUIDENEST_{field.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's report into one message per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            if not error["loc"]:  # a rule across settings: its message names them
                problems.append(str(error["msg"]).removeprefix("Value error, "))
                continue
            field = str(error["loc"][0])
            expected = _EXPECTED_FORM.get(field, error["msg"])
            # Never echo the value: it may be a secret pasted into the wrong variable.
            problems.append(f"{env_name(field)}: invalid value; expected {expected}")
        raise SettingsError("\n".join(problems)) from None
