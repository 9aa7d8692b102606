"""Servers that misbehave on purpose: every probe ends within its caps with a clear result."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.probe import ErrorKind, ProbeResult, Stage, parse_target, run_probe
from tests.probe.servers import HOSTILE

if TYPE_CHECKING:
    from tests.probe.conftest import SettingsFactory

TIMEOUT = 1.0
# The cap plus scheduling slack on a busy two-core machine; a probe that hung would blow far past it.
CAP_MS = TIMEOUT * 1000 + 600


async def probe(make_settings: SettingsFactory, name: str, port: int | None = None, **overrides: object) -> ProbeResult:
    address, default_port, _ = HOSTILE.get(name, ("127.0.2.26", 993, None))
    settings = make_settings(probe_timeout_seconds=TIMEOUT, **overrides)
    target = parse_target(address, port or default_port, None, None, settings)
    result = await run_probe(target, settings)
    assert result.elapsed_ms < CAP_MS, result.to_json()
    assert not result.ok
    assert result.error is not None
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["summary"]
    assert diagnosis["entry"]
    return result


async def test_silent_after_connect(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "silent")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.GREETING, ErrorKind.TIMEOUT)
    assert "no greeting" in result.error.message


async def test_silent_where_tls_is_expected(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "silent", 993)
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.TLS, ErrorKind.TIMEOUT)
    assert result.to_json()["diagnosis"]["entry"] == "ssl-vs-starttls"


async def test_endless_multiline_banner_is_cut_off(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "endless_lines")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.GREETING, ErrorKind.PROTOCOL_UNEXPECTED)
    assert "more than 200 lines" in result.error.message


async def test_endless_banner_hits_the_byte_cap(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "endless_lines", probe_total_bytes=2048)
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL_UNEXPECTED
    assert "more than 2048 bytes" in result.error.message


async def test_endless_line_hits_the_line_cap(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "endless_line")
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL_UNEXPECTED
    assert "longer than 4096 bytes" in result.error.message


async def test_binary_garbage(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "garbage")
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL_UNEXPECTED
    assert result.detected_protocol == "binary"
    # What is shown of it is printable and short.
    assert result.banner is not None
    assert result.banner.isprintable()
    assert len(result.banner) <= 300


@pytest.mark.parametrize(
    ("name", "speaks", "words"), [("http", "http", "a web server"), ("ssh", "ssh", "an SSH server")]
)
@pytest.mark.parametrize("port", [2525, 993])
async def test_http_or_ssh_banner(
    make_settings: SettingsFactory, name: str, speaks: str, words: str, port: int
) -> None:
    result = await probe(make_settings, name, port)
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL_UNEXPECTED
    assert result.detected_protocol == speaks
    diagnosis = result.to_json()["diagnosis"]
    assert words in diagnosis["summary"]
    assert diagnosis["entry"] == "cannot-connect-to-server"


async def test_close_mid_handshake(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "close_mid_handshake")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.TLS, ErrorKind.CLOSED_EARLY)
    assert result.to_json()["diagnosis"]["entry"] == "server-disconnected"


async def test_close_right_after_connect(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "close_at_once")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.GREETING, ErrorKind.CLOSED_EARLY)
    assert result.to_json()["diagnosis"]["entry"] == "smtp-server-disconnected"


async def test_a_drip_fed_banner_cannot_outlast_the_timeout(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "drip")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.GREETING, ErrorKind.TIMEOUT)


async def test_rejected_greeting(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "reject")
    assert result.error is not None
    assert result.error.kind is ErrorKind.GREETING_REJECTED
    assert result.banner == "554 5.7.1 No SMTP service for you"


async def test_starttls_not_offered(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "no_starttls")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.STARTTLS, ErrorKind.STARTTLS_NOT_OFFERED)
    assert result.starttls_offered is False
    assert "AUTH PLAIN LOGIN" in result.capabilities
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["entry"] == "starttls-not-offered"
    assert "use port 465 with SSL/TLS" in diagnosis["summary"]


async def test_starttls_offered_but_refused(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "starttls_454")
    assert result.error is not None
    assert result.error.kind is ErrorKind.STARTTLS_REFUSED
    assert "454" in result.error.message
    assert result.starttls_offered is True


async def test_plain_text_after_agreeing_to_starttls(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "starttls_then_plain")
    assert result.error is not None
    assert (result.error.stage, result.error.kind) == (Stage.TLS, ErrorKind.TLS_HANDSHAKE_FAILED)
    assert "after agreeing to STARTTLS" in result.error.message
    # Not mistaken for "this port expects STARTTLS": STARTTLS is what was tried.
    assert "expects STARTTLS" not in result.to_json()["diagnosis"]["summary"]
