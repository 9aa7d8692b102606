"""Settings come from the environment or .env; a bad one is named in plain words with the form it should take."""

from __future__ import annotations

import ipaddress
import os
import re
from enum import StrEnum
from pathlib import Path

import pytest

from bot.settings import (
    DEFAULT_KNOWLEDGE_DIR,
    Confidence,
    Group,
    Settings,
    SettingsError,
    env_name,
    group_of,
    load_settings,
    unknown_setting_warnings,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the machine running the tests, and no .env is read by accident."""
    for name in list(os.environ):
        if name.startswith("GUIDENEST_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def example_settings() -> dict[str, str]:
    pairs = re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), flags=re.MULTILINE)
    return dict(pairs)


def test_env_example_documents_every_setting_once() -> None:
    documented = list(example_settings())
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(env_name(field) for field in Settings.model_fields)


def test_env_example_values_are_the_defaults(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    assert load_settings() == Settings(_env_file=None)  # type: ignore[call-arg]
    settings = load_settings()
    assert settings.knowledge_dir == DEFAULT_KNOWLEDGE_DIR
    assert settings.discord_token is None
    assert settings.probe_allowed_ports == [25, 110, 143, 465, 587, 993, 995, 2525]
    assert settings.default_confidence is Confidence.NORMAL


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc.def.ghi")
    monkeypatch.setenv("GUIDENEST_SHARD_COUNT", "6")
    monkeypatch.setenv("GUIDENEST_SHARD_IDS", "0-2,5")
    monkeypatch.setenv("GUIDENEST_PROBE_ALLOW_NETWORKS", "127.0.0.0/8, fd00::/8")
    monkeypatch.setenv("GUIDENEST_DNS_SERVERS", "127.0.0.1:5353")
    monkeypatch.setenv("GUIDENEST_DEFAULT_CONFIDENCE", "strict")
    settings = load_settings()
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "abc.def.ghi"
    assert "abc.def" not in repr(settings)  # the token never shows in logs of the settings
    assert settings.shard_ids == [0, 1, 2, 5]
    assert settings.probe_allow_networks == [
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
    ]
    assert settings.dns_servers == ["127.0.0.1:5353"]
    assert settings.default_confidence is Confidence.STRICT


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GUIDENEST_DEV_GUILD=1234\nGUIDENEST_HEALTH_PORT=8080\n")
    settings = load_settings()
    assert settings.dev_guild == 1234
    assert settings.health_port == 8080


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        (
            "GUIDENEST_PROBE_TIMEOUT_SECONDS",
            "ten",
            (
                "GUIDENEST_PROBE_TIMEOUT_SECONDS must be a number of seconds, more than 0 and at most 60, e.g. 10"
                " (got 'ten')"
            ),
        ),
        (
            "GUIDENEST_PROBE_TIMEOUT_SECONDS",
            "120",
            (
                "GUIDENEST_PROBE_TIMEOUT_SECONDS must be a number of seconds, more than 0 and at most 60, e.g. 10"
                " (got '120')"
            ),
        ),
        (
            "GUIDENEST_PROBE_LINE_BYTES",
            "12",
            "GUIDENEST_PROBE_LINE_BYTES must be a whole number of bytes, 256 or more, e.g. 4096 (got '12')",
        ),
        (
            "GUIDENEST_USER_RATE_LIMIT",
            "2.5",
            "GUIDENEST_USER_RATE_LIMIT must be a whole number of answers, 1 or more, e.g. 5 (got '2.5')",
        ),
        (
            "GUIDENEST_SHARD_COUNT",
            "many",
            "GUIDENEST_SHARD_COUNT must be a whole number of shards, more than 0, e.g. 2 (got 'many')",
        ),
        (
            "GUIDENEST_HEALTH_PORT",
            "70000",
            "GUIDENEST_HEALTH_PORT must be a TCP port number, from 1 to 65535, e.g. 8080 (got '70000')",
        ),
        (
            "GUIDENEST_DEFAULT_CONFIDENCE",
            "sure",
            "GUIDENEST_DEFAULT_CONFIDENCE must be one of strict, normal or relaxed (got 'sure')",
        ),
        (
            "GUIDENEST_LOG_LEVEL",
            "loud",
            "GUIDENEST_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL (got 'loud')",
        ),
        (
            "GUIDENEST_PROBE_ALLOWED_PORTS",
            "25,smtp",
            (
                "GUIDENEST_PROBE_ALLOWED_PORTS must be TCP port numbers, comma-separated, e.g. 25,465,587"
                " (got '25,smtp': 'smtp' is not a whole number)"
            ),
        ),
        (
            "GUIDENEST_PROBE_ALLOWED_PORTS",
            "25,99999",
            (
                "GUIDENEST_PROBE_ALLOWED_PORTS must be TCP port numbers, comma-separated, e.g. 25,465,587"
                " (got '25,99999': 99999 is not a TCP port)"
            ),
        ),
        (
            "GUIDENEST_SHARD_IDS",
            "0-x",
            (
                "GUIDENEST_SHARD_IDS must be shard numbers, comma-separated or a range, e.g. 0,1 or 0-3"
                " (got '0-x': 'x' is not a whole number)"
            ),
        ),
        (
            "GUIDENEST_PROBE_ALLOW_NETWORKS",
            "10.0.0.0/33",
            (
                "GUIDENEST_PROBE_ALLOW_NETWORKS must be networks in CIDR form, comma-separated,"
                " e.g. 10.0.0.0/8,fd00::/8 (got '10.0.0.0/33')"
            ),
        ),
        (
            "GUIDENEST_DNS_SERVERS",
            "127.0.0.1,dns.example",
            (
                "GUIDENEST_DNS_SERVERS must be IP addresses, each optionally with :port, comma-separated,"
                " e.g. 127.0.0.1:5353 (got '127.0.0.1,dns.example': 'dns.example' is not an IP address)"
            ),
        ),
        (
            "GUIDENEST_DISCORD_API_BASE",
            "discord.example",
            (
                "GUIDENEST_DISCORD_API_BASE must be an http(s) URL, e.g. https://discord.com/api/v10"
                " (got 'discord.example')"
            ),
        ),
        (
            "GUIDENEST_DISCORD_GATEWAY_URL",
            "http://gw.example",
            (
                "GUIDENEST_DISCORD_GATEWAY_URL must be a ws(s) URL, e.g. wss://gateway.discord.gg/"
                " (got 'http://gw.example')"
            ),
        ),
        (
            "GUIDENEST_PROBE_CA_FILE",
            "no-such.pem",
            (
                "GUIDENEST_PROBE_CA_FILE must be the path of an existing PEM file, e.g. /etc/ssl/internal-ca.pem"
                " (got 'no-such.pem')"
            ),
        ),
    ],
)
def test_bad_setting_says_in_plain_words_what_to_write(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == expected


def test_every_setting_has_a_group_and_a_form() -> None:
    """The group decides which commands a bad value stops; the form (or an enum's values) is what the error says."""
    for field, info in Settings.model_fields.items():
        assert isinstance(group_of(field), Group)
        choices = isinstance(info.annotation, type) and issubclass(info.annotation, StrEnum)
        assert info.description or choices, field


def test_every_bad_setting_is_reported_at_once_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {
        "GUIDENEST_DEFAULT_CONFIDENCE": "sure",
        "GUIDENEST_MISS_RETENTION_DAYS": "forever",
        "GUIDENEST_PROBE_TIMEOUT_SECONDS": "ten",
        "GUIDENEST_PROBE_ALLOWED_PORTS": "25,x,y",  # two bad parts: still one line
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert [line.split()[0] for line in lines] == list(bad)
    for line in lines:
        assert "Input should" not in line
        assert "pydantic" not in line


TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"


def test_a_token_pasted_into_another_setting_is_not_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_DEV_GUILD", TOKEN)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("GUIDENEST_DEV_GUILD must be a guild (server) id")
    assert "not shown" in message
    assert "MTk4NjIy" not in message
    assert "ZnCjm1XV" not in message


def test_a_secret_setting_never_shows_its_value() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(discord_token=["not", "a", "token"])
    assert str(caught.value) == "DISCORD_TOKEN must be the bot token from the Developer Portal"


def test_a_long_value_is_cut_to_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_PROBE_TIMEOUT_SECONDS", "x" * 500)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(str(caught.value)) < 200
    assert str(caught.value).endswith("…')")


def test_a_bad_setting_outside_the_needed_groups_does_not_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_PROBE_TIMEOUT_SECONDS", "ten")
    monkeypatch.setenv("GUIDENEST_PROBE_CONCURRENCY", "8")
    monkeypatch.setenv("GUIDENEST_DEFAULT_CONFIDENCE", "strict")
    settings = load_settings(needed={Group.KNOWLEDGE, Group.ANSWERING})
    assert settings.default_confidence is Confidence.STRICT
    # The probe group, which has the bad setting, is at its defaults as a whole; nothing reads it.
    assert settings.probe_timeout_seconds == 10.0
    assert settings.probe_concurrency == 4
    with pytest.raises(SettingsError, match=r"^GUIDENEST_PROBE_TIMEOUT_SECONDS must be"):
        load_settings(needed={Group.PROBE})
    with pytest.raises(SettingsError, match=r"^GUIDENEST_PROBE_TIMEOUT_SECONDS must be"):
        load_settings()  # every group unless told


def test_a_group_falls_back_whole_so_its_settings_still_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_SHARD_COUNT", "x")
    monkeypatch.setenv("GUIDENEST_SHARD_IDS", "0-1")  # needs a shard count, which fell back to none
    settings = load_settings(needed={Group.PROBE})
    assert (settings.shard_count, settings.shard_ids) == (None, [])


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"GUIDENEST_SHARD_IDS": "0"},
            "GUIDENEST_SHARD_IDS needs GUIDENEST_SHARD_COUNT, the total number of shards, set too",
        ),
        (
            {"GUIDENEST_SHARD_IDS": "2-4", "GUIDENEST_SHARD_COUNT": "4"},
            "GUIDENEST_SHARD_IDS must be below GUIDENEST_SHARD_COUNT: with 4 shards, the ids run from 0 to 3",
        ),
        # A bad count is reported on its own, not as a disagreement.
        (
            {"GUIDENEST_SHARD_IDS": "0", "GUIDENEST_SHARD_COUNT": "x"},
            "GUIDENEST_SHARD_COUNT must be a whole number of shards, more than 0, e.g. 2 (got 'x')",
        ),
    ],
)
def test_shard_settings_must_agree(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == expected


def test_log_level_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_unknown_variables_get_a_warning_with_the_nearest_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GUIDENEST_CONFIDENCE=strict\nGUIDENEST_LOG_LEVEL=INFO\nOTHER_TOOL=1\n")
    environ = {
        "GUIDENEST_PROBE_TIMEOUT": "5",
        "GUIDENEST_XYZZY": "1",
        "guidenest_dev_guild": "1",  # settings are read in any case
        "GUIDENEST_DISCORD_TOKEN": "t",  # the token's other name
        "DISCORD_TOKEN": "t",
        "HOME": "/home/someone",
    }
    assert unknown_setting_warnings(environ) == [
        "GUIDENEST_CONFIDENCE (in .env) is not a setting and is ignored; did you mean GUIDENEST_DEFAULT_CONFIDENCE?",
        (
            "GUIDENEST_PROBE_TIMEOUT (in the environment) is not a setting and is ignored;"
            " did you mean GUIDENEST_PROBE_TIMEOUT_SECONDS?"
        ),
        "GUIDENEST_XYZZY (in the environment) is not a setting and is ignored (.env.example lists every setting)",
    ]


def test_no_warning_when_every_name_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    assert unknown_setting_warnings({env_name(field): "" for field in Settings.model_fields}) == []


def test_a_range_of_shards_within_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_SHARD_COUNT", "8")
    monkeypatch.setenv("GUIDENEST_SHARD_IDS", "4-7")
    settings = load_settings()
    assert settings.shard_count == 8
    assert settings.shard_ids == [4, 5, 6, 7]
