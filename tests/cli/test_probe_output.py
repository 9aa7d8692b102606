"""What `guidenest probe` and `discover` print: the card the bot posts, with the knowledge entry's explanation and
every technical detail, as plain text into a pipe and in colour in a terminal. Real aiosmtpd and dnsmasq servers
on 127.0.2.7x (test_probe_cli.py uses 127.0.2.6x)."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.cards.text import markup_text
from bot.cli import probe as probe_cli
from bot.knowledge.loader import load_knowledge
from bot.settings import DEFAULT_KNOWLEDGE_DIR, Settings, load_settings
from tests.cli.terminal import clean_environment, run_in_terminal, visible
from tests.probe.servers import Certificates, Dnsmasq, ServerThread

if TYPE_CHECKING:
    from collections.abc import Iterator

SMTP = "127.0.2.70"
EXPIRED = "127.0.2.71"
DNS = "127.0.2.72"
DNS_PORT = 5353
KNOWLEDGE = load_knowledge(DEFAULT_KNOWLEDGE_DIR)


@pytest.fixture(scope="module")
def servers() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="guidenest-output-"))
    certificates = Certificates(root, names=(SMTP, "smtp.output.test"))
    threads = ServerThread()
    dnsmasq = Dnsmasq(root, DNS, DNS_PORT, zone=[f"--host-record=smtp.output.test,{SMTP}"])
    try:
        dnsmasq.start()
        threads.start()
        threads.add_smtp(SMTP, 587, starttls=certificates.valid, require_starttls=True)
        threads.add_smtp(EXPIRED, 465, implicit=certificates.expired)
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


@pytest.fixture
def lab_environment(servers: Path) -> dict[str, str]:
    return clean_environment(
        GUIDENEST_PROBE_ALLOW_NETWORKS="127.0.2.0/24",
        GUIDENEST_DNS_SERVERS=f"{DNS}:{DNS_PORT}",
        GUIDENEST_PROBE_CA_FILE=str(servers),
        GUIDENEST_PROBE_TIMEOUT_SECONDS="2",
    )


def printed(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser(prog="guidenest")
    probe_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    assert args.handler(args, settings) == 0
    return capsys.readouterr().out


def explanation_lines(entry_id: str) -> list[str]:
    """The entry's title and the first lines of its answer, as plain text shows them."""
    entry = KNOWLEDGE.entries[entry_id]
    return [entry.title, *[line for line in markup_text(entry.answer) if line][:3]]


def test_a_working_server_is_explained_with_every_detail(settings: Settings, capsys) -> None:
    out = printed(settings, capsys, "probe", SMTP, "--port", "587")
    assert "\x1b" not in out
    assert out.startswith(f"== Probe: SMTP {SMTP} port 587 with STARTTLS ==\n✅ Works — checked in ")
    assert "\nWhat this means\nSMTP on " in out
    for line in explanation_lines("smtp-port-587"):
        assert line in out
    for fact in (
        f"Address: {SMTP}",
        "STARTTLS: offered",
        "TLS: TLSv1.",
        "Banner: 220 mail.example.test",
        "Capabilities before TLS: ",
        "Capabilities: ",
        "Stages: ",
        "Trusted: yes",
        "Matches the host: yes",
        "Self-signed: no",
        "Valid until: ",
        f"Names: smtp.output.test, {SMTP}",
        "  Issuer: ",
        "O=Guide Nest test CA",
    ):
        assert fact in out, fact
    assert out.rstrip().endswith(
        "(Knowledge entry: smtp-port-587 · Greeting-level check only: the bot never logs in or sends mail.)"
    )
    for marker in ("**", "`", "]("):
        assert marker not in out


def test_a_failure_is_explained_by_its_entry(settings: Settings, capsys) -> None:
    out = printed(settings, capsys, "probe", SMTP, "--port", "587", "--security", "ssl")
    assert "❌ Failed at the tls step (tls_handshake_failed): " in out
    assert "wrong version number" in out.lower()
    for line in explanation_lines("ssl-vs-starttls"):
        assert line in out
    assert "(Knowledge entry: ssl-vs-starttls · " in out


def test_an_expired_certificate_says_how_long_ago(settings: Settings, capsys) -> None:
    out = printed(settings, capsys, "probe", EXPIRED, "--port", "465")
    valid_until = next(line for line in out.splitlines() if "Valid until: " in line)
    assert "(EXPIRED " in valid_until
    assert valid_until.endswith(" days ago)")


def test_discovery_lists_what_it_tried(settings: Settings, capsys) -> None:
    out = printed(settings, capsys, "discover", "nowhere.test")
    assert out.startswith("== Mail settings for nowhere.test ==\nI found no mail settings for nowhere.test")
    assert "Incoming: Not found: no published setting" in out
    assert "Outgoing: Not found: no published setting" in out
    assert "no address in DNS: imap.nowhere.test, mail.nowhere.test" in out
    for line in explanation_lines("email-settings-discovery"):
        assert line in out
    assert "Knowledge entry: email-settings-discovery)" in out
    assert "\\" not in out  # Discord's escapes undone


def test_json_output_is_unchanged(settings: Settings, capsys) -> None:
    out = printed(settings, capsys, "probe", SMTP, "--port", "587", "--json")
    data = json.loads(out)
    assert out == json.dumps(data, indent=2) + "\n"
    assert data["diagnosis"]["entry"] == "smtp-port-587"


def test_broken_knowledge_still_shows_the_finding(servers: Path, capsys, tmp_path: Path) -> None:
    settings = load_settings(
        _env_file=None,
        probe_allow_networks="127.0.2.0/24",
        dns_servers=f"{DNS}:{DNS_PORT}",
        probe_ca_file=str(servers),
        knowledge_dir=str(tmp_path),
    )
    parser = argparse.ArgumentParser(prog="guidenest")
    probe_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["probe", SMTP, "--port", "587"])
    assert args.handler(args, settings) == 0
    captured = capsys.readouterr()
    assert f"the knowledge in {tmp_path} could not be loaded, so the explanation is left out" in captured.err
    assert "✅ Works" in captured.out
    assert "(Knowledge entry: smtp-port-587 · " in captured.out


def test_in_a_terminal_the_outcome_has_its_colour(lab_environment: dict[str, str]) -> None:
    works = run_in_terminal("probe", SMTP, "--port", "587", env=lab_environment)
    assert works.startswith(f"\x1b[1;32mProbe: SMTP {SMTP} port 587")  # green
    assert "\x1b[1mWhat this means" in works
    text = visible(works)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert KNOWLEDGE.entries["smtp-port-587"].title in text
    failed = run_in_terminal("probe", SMTP, "--port", "587", "--security", "ssl", env=lab_environment)
    assert failed.startswith(f"\x1b[1;31mProbe: SMTP {SMTP} port 587")  # red
    nothing = run_in_terminal("discover", "nowhere.test", env=lab_environment)
    assert nothing.startswith("\x1b[1;31mMail settings for nowhere.test")
