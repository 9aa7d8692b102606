"""`guidenest probe` and `guidenest discover` end to end, with real aiosmtpd and dnsmasq on 127.0.2.6x."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.cli import probe as probe_cli
from bot.settings import Settings, load_settings
from tests.probe.servers import Certificates, Dnsmasq, ServerThread

if TYPE_CHECKING:
    from collections.abc import Iterator

SMTP = "127.0.2.60"
DNS = "127.0.2.62"
DNS_PORT = 5353


@pytest.fixture(scope="module")
def servers() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="guidenest-cli-"))
    certificates = Certificates(root, names=(SMTP, "smtp.cli.test"))
    threads = ServerThread()
    zone = [f"--host-record=smtp.cli.test,{SMTP}", "--host-record=private.cli.test,10.0.0.5"]
    dnsmasq = Dnsmasq(root, DNS, DNS_PORT, zone=zone)
    try:
        dnsmasq.start()
        threads.start()
        threads.add_smtp(SMTP, 587, starttls=certificates.valid, require_starttls=True)
        yield certificates.ca_file
    finally:
        threads.stop()
        dnsmasq.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(servers: Path) -> Settings:
    return load_settings(
        _env_file=None,
        probe_allow_networks="127.0.2.0/24",
        dns_servers=f"{DNS}:{DNS_PORT}",
        probe_ca_file=str(servers),
        probe_timeout_seconds=2,
    )


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="guidenest")
    probe_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.handler(args, settings))


def run_json(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = run(settings, *argv, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_probe_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", SMTP, "--port", "587")
    assert code == 0
    assert data["ok"] is True
    assert data["target"] == {"host": SMTP, "port": 587, "protocol": "smtp", "security": "starttls"}
    assert data["address"] == SMTP
    assert data["starttls"] == {"offered": True}
    assert data["banner"].startswith("220 ")
    assert data["tls"]["version"] in {"TLSv1.2", "TLSv1.3"}
    assert data["tls"]["certificate"]["trusted"] is True
    assert data["error"] is None
    assert data["diagnosis"]["entry"] == "smtp-port-587"
    assert set(data["stages"]) == {
        "tcp",
        "greeting",
        "capabilities",
        "starttls",
        "tls",
        "capabilities_after_tls",
    }


def test_probe_by_name_with_protocol_and_security(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", "smtp.cli.test", "--protocol", "smtp", "--security", "starttls")
    assert code == 0
    assert data["ok"] is True
    assert data["target"]["port"] == 587
    assert data["address"] == SMTP
    assert "dns" in data["stages"]


def test_a_failed_probe_still_exits_zero(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", SMTP, "--port", "587", "--security", "ssl")
    assert code == 0
    assert data["ok"] is False
    assert data["error"]["kind"] == "tls_handshake_failed"
    assert set(data["error"]) == {"stage", "kind", "message"}
    assert data["error"]["stage"] == "tls"
    assert "wrong version number" in data["error"]["message"].lower()
    assert data["tls"] is None
    assert data["diagnosis"]["entry"] == "ssl-vs-starttls"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("probe", "10.0.0.1", "--port", "993"), "private"),
        (("probe", "127.0.0.1", "--port", "587"), "loopback"),
        (("probe", SMTP, "--port", "22"), "not a mail port"),
        (("probe", "0x7f.1", "--port", "993"), "unusual form"),
        (("probe", "smtp.cli.test"), "Give a port"),
        (("probe", "private.cli.test", "--port", "993"), "resolves to 10.0.0.5"),  # refused after DNS
        (("probe", "localhost", "--port", "993"), "means this machine"),
        (("discover", "localhost"), "means this machine"),
        (("discover", "127.0.0.1"), "not an IP address"),
    ],
)
def test_refusals_exit_two_with_the_reason(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    code, data = run_json(settings, capsys, *argv)
    assert code == 2
    assert list(data) == ["refused"]
    assert words in data["refused"]


def test_refusal_without_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "probe", "192.168.1.1", "--port", "993") == 2
    assert capsys.readouterr().out.startswith("Refused: 192.168.1.1 is a private")


def test_human_report(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "probe", SMTP, "--port", "587") == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Probe of SMTP {SMTP} port 587 with STARTTLS")
    for words in (
        "Result        OK",
        "STARTTLS      offered",
        "trusted: yes; matches host: yes",
        "Diagnosis: SMTP",
    ):
        assert words in out
    assert out.rstrip().endswith("Knowledge entry: smtp-port-587")


def test_discover_reports_nothing_found_clearly(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "discover", "nowhere.test") == 0
    out = capsys.readouterr().out
    assert "Incoming: not found" in out
    assert "Outgoing: not found" in out
    assert "no address in DNS: imap.nowhere.test" in out
    code, data = run_json(settings, capsys, "discover", "nowhere.test")
    assert code == 0
    assert data["outcome"] == "nothing"
    assert data["incoming"] is None
