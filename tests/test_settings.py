"""Settings come from the environment or .env, and a bad one is named with the form it should take."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import pytest

from bot.settings import DEFAULT_KNOWLEDGE_DIR, Confidence, Settings, SettingsError, env_name, load_settings

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
            "GUIDENEST_SHARD_COUNT",
            "many",
            "GUIDENEST_SHARD_COUNT: invalid value; expected a positive integer",
        ),
        (
            "GUIDENEST_HEALTH_PORT",
            "70000",
            "GUIDENEST_HEALTH_PORT: invalid value; expected a TCP port number 1-65535",
        ),
        (
            "GUIDENEST_PROBE_ALLOW_NETWORKS",
            "10.0.0.0/33",
            "GUIDENEST_PROBE_ALLOW_NETWORKS: invalid value; expected comma-separated CIDR networks",
        ),
        (
            "GUIDENEST_DEFAULT_CONFIDENCE",
            "sure",
            "GUIDENEST_DEFAULT_CONFIDENCE: invalid value; expected strict",
        ),
        ("GUIDENEST_LOG_LEVEL", "LOUD", "GUIDENEST_LOG_LEVEL: invalid value; expected DEBUG"),
        (
            "GUIDENEST_DISCORD_API_BASE",
            "discord.example",
            "GUIDENEST_DISCORD_API_BASE: invalid value; expected an http(s) URL",
        ),
        (
            "GUIDENEST_DISCORD_GATEWAY_URL",
            "http://gw.example",
            "GUIDENEST_DISCORD_GATEWAY_URL: invalid value; expected a ws(s) URL",
        ),
        ("GUIDENEST_DNS_SERVERS", "dns.example", "GUIDENEST_DNS_SERVERS: invalid value; expected comma-separated IP"),
    ],
)
def test_bad_setting_is_named_with_its_form(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected)
    assert value not in message  # a secret pasted into the wrong variable is never echoed


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"GUIDENEST_SHARD_IDS": "0"}, "GUIDENEST_SHARD_IDS needs GUIDENEST_SHARD_COUNT"),
        (
            {"GUIDENEST_SHARD_IDS": "2-4", "GUIDENEST_SHARD_COUNT": "4"},
            "GUIDENEST_SHARD_IDS: shard ids run from 0 to GUIDENEST_SHARD_COUNT - 1 (3)",
        ),
    ],
)
def test_shard_settings_must_agree(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: str) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)


def test_a_range_of_shards_within_the_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDENEST_SHARD_COUNT", "8")
    monkeypatch.setenv("GUIDENEST_SHARD_IDS", "4-7")
    settings = load_settings()
    assert settings.shard_count == 8
    assert settings.shard_ids == [4, 5, 6, 7]
