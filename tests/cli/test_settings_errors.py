"""Bad and unknown settings, as a user meets them: the installed `guidenest` in a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GUIDENEST = Path(sys.executable).parent / "guidenest"
TOKEN = "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"


def run_cli(cwd: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """`guidenest ARGS` in `cwd` with only PATH and `variables` set: nothing from this machine's settings."""
    return subprocess.run(
        [str(GUIDENEST), *args],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **variables},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_a_bad_setting_is_named_in_plain_words(tmp_path: Path) -> None:
    done = run_cli(
        tmp_path,
        "probe",
        "mail.example.com",
        GUIDENEST_PROBE_TIMEOUT_SECONDS="ten",
        GUIDENEST_PROBE_CONCURRENCY="0",
        GUIDENEST_DNS_SERVERS="dns.example",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines == [
        "guidenest: fix these settings (in the environment or .env) and try again:",
        "GUIDENEST_PROBE_TIMEOUT_SECONDS must be a number of seconds, more than 0 and at most 60, e.g. 10 (got 'ten')",
        "GUIDENEST_PROBE_CONCURRENCY must be a whole number of probes, 1 or more, e.g. 4 (got '0')",
        (
            "GUIDENEST_DNS_SERVERS must be IP addresses, each optionally with :port, comma-separated,"
            " e.g. 127.0.0.1:5353 (got 'dns.example')"
        ),
    ]
    for pydantic_words in ("Input should", "float_parsing", "errors.pydantic.dev", "Traceback"):
        assert pydantic_words not in done.stderr


def test_a_token_in_the_wrong_setting_is_not_printed(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"GUIDENEST_DEV_GUILD={TOKEN}\n", encoding="utf-8")
    done = run_cli(tmp_path, "run")
    assert done.returncode == 2
    assert "GUIDENEST_DEV_GUILD must be a guild (server) id" in done.stderr
    assert TOKEN not in done.stderr
    assert TOKEN.split(".", maxsplit=1)[0] not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["ask", "imap port"],
        ["port", "993"],
        ["provider", "gmail"],
        ["kb", "check"],
        ["db", "check"],
    ],
)
def test_a_bad_probe_setting_stops_only_the_commands_that_probe(tmp_path: Path, command: list[str]) -> None:
    done = run_cli(tmp_path, *command, GUIDENEST_PROBE_TIMEOUT_SECONDS="ten")
    assert done.returncode == 0, done.stderr
    assert "GUIDENEST_PROBE_TIMEOUT_SECONDS" not in done.stderr


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        (["probe", "mail.example.com"], "GUIDENEST_PROBE_TIMEOUT_SECONDS", "ten"),
        (["discover", "example.com"], "GUIDENEST_PROBE_ALLOWED_PORTS", "25,smtp"),
        (["run"], "GUIDENEST_PROBE_TIMEOUT_SECONDS", "ten"),
        (["run"], "GUIDENEST_HEALTH_PORT", "http"),
        (["ask", "imap port"], "GUIDENEST_DEFAULT_CONFIDENCE", "sure"),
        (["db", "check"], "GUIDENEST_MISS_RETENTION_DAYS", "forever"),
        (["port", "993"], "GUIDENEST_LOG_LEVEL", "loud"),  # every command sets up logging
    ],
)
def test_a_bad_setting_stops_the_commands_that_read_it(
    tmp_path: Path, command: list[str], variable: str, value: str
) -> None:
    done = run_cli(tmp_path, *command, **{variable: value})
    assert done.returncode == 2
    assert f"{variable} must be " in done.stderr
    assert f"(got '{value}'" in done.stderr


def test_a_bad_discord_setting_does_not_stop_ask(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "ask", "imap port", GUIDENEST_SHARD_COUNT="many", GUIDENEST_HEALTH_PORT="http")
    assert done.returncode == 0, done.stderr
    assert "993" in done.stdout


def test_an_unknown_variable_gets_a_warning_with_the_nearest_setting(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GUIDENEST_CONFIDENCE=strict\n", encoding="utf-8")
    done = run_cli(tmp_path, "port", "993", GUIDENEST_XYZZY="1", GUIDENEST_LOGLEVEL="DEBUG")
    assert done.returncode == 0  # a warning, not a stop
    assert "993" in done.stdout
    assert done.stderr.splitlines() == [
        (
            "guidenest: warning: GUIDENEST_CONFIDENCE (in .env) is not a setting and is ignored;"
            " did you mean GUIDENEST_DEFAULT_CONFIDENCE?"
        ),
        (
            "guidenest: warning: GUIDENEST_LOGLEVEL (in the environment) is not a setting and is ignored;"
            " did you mean GUIDENEST_LOG_LEVEL?"
        ),
        (
            "guidenest: warning: GUIDENEST_XYZZY (in the environment) is not a setting and is ignored"
            " (.env.example lists every setting)"
        ),
    ]


def test_real_settings_get_no_warning(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GUIDENEST_DEFAULT_CONFIDENCE=strict\nDISCORD_TOKEN=\n", encoding="utf-8")
    done = run_cli(tmp_path, "port", "993", guidenest_log_level="warning", GUIDENEST_DISCORD_TOKEN="x")
    assert done.returncode == 0
    assert done.stderr == ""


@pytest.mark.parametrize("given", ["/nonexistent", "no/such/knowledge"])
def test_a_missing_knowledge_folder_is_named_as_given(tmp_path: Path, given: str) -> None:
    done = run_cli(tmp_path, "ask", "imap port", GUIDENEST_KNOWLEDGE_DIR=given)
    assert done.returncode == 1
    assert f"{given}: does not exist. Set GUIDENEST_KNOWLEDGE_DIR to the knowledge folder" in done.stderr
    assert "or leave it unset for the knowledge shipped with Guide Nest" in done.stderr
    assert str(tmp_path) not in done.stderr  # not resolved against the working folder
    assert "Traceback" not in done.stderr


def test_kb_check_names_the_missing_folder_as_given(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "kb", "check", GUIDENEST_KNOWLEDGE_DIR="../elsewhere/kb")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        (
            "../elsewhere/kb: does not exist. Set GUIDENEST_KNOWLEDGE_DIR to the knowledge folder (the one holding"
            " entries/, ports.yaml and providers.yaml), or leave it unset for the knowledge shipped with Guide Nest."
        ),
        "1 error(s), 0 warning(s) in ../elsewhere/kb",
    ]


def test_a_file_given_as_the_knowledge_folder_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not knowledge\n", encoding="utf-8")
    done = run_cli(tmp_path, "port", "993", GUIDENEST_KNOWLEDGE_DIR="notes.txt")
    assert done.returncode == 1
    assert "notes.txt: is not a folder. Set GUIDENEST_KNOWLEDGE_DIR" in done.stderr
