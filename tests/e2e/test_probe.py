"""`/probe`, `/probe-history` and `/mailsettings` against real local servers, and the audit log they write.

Address plan (this module owns 127.0.3.10-.53; the probe tests use 127.0.2.x). The ports are the system's
free ones, so that two test runs at once never collide; the bot's allowed ports are widened to include them.
  127.0.3.10  aiosmtpd, STARTTLS required (certificate from the test CA, valid for the address)
  127.0.3.11  a small IMAP server with implicit TLS (greeting, CAPABILITY, LOGOUT)
  127.0.3.53  dnsmasq: nest.test publishes SRV records for both; private.nest.test is 10.1.2.3
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.settings import DEFAULT_PROBE_PORTS
from tests.e2e.cogs_helpers import embed
from tests.e2e.emulator import CommandNotAvailable, Perm
from tests.probe.servers import Certificates, Dnsmasq, ServerThread

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator

SMTP = "127.0.3.10"
IMAP = "127.0.3.11"
DNS = "127.0.3.53"
MANAGE_GUILD = str(int(Perm.MANAGE_GUILD))


async def imap_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] nest IMAP ready\r\n")
    await writer.drain()
    while line := await reader.readline():
        tag, _, command = line.strip().partition(b" ")
        if command.upper() == b"CAPABILITY":
            writer.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif command.upper() == b"LOGOUT":
            writer.write(b"* BYE see you\r\n" + tag + b" OK done\r\n")
            await writer.drain()
            return
        else:
            writer.write(tag + b" BAD not here\r\n")
        await writer.drain()


@dataclass(frozen=True)
class Lab:
    ca_file: Path
    smtp_port: int
    imap_port: int
    dns_port: int


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    root = Path(tempfile.mkdtemp(prefix="guidenest-e2e-probe-"))
    certificates = Certificates(root, names=(SMTP, IMAP, "smtp.nest.test", "imap.nest.test"))
    threads = ServerThread()
    dnsmasq: Dnsmasq | None = None
    try:
        threads.start()
        threads.add_smtp(SMTP, 0, starttls=certificates.valid, require_starttls=True)
        smtp_port = threads.servers[-1].sockets[0].getsockname()[1]
        threads.add_stream(IMAP, 0, imap_greeting, tls=certificates.valid)
        imap_port = threads.servers[-1].sockets[0].getsockname()[1]
        zone = [
            f"--host-record=smtp.nest.test,{SMTP}",
            f"--host-record=imap.nest.test,{IMAP}",
            "--host-record=private.nest.test,10.1.2.3",
            f"--srv-host=_imaps._tcp.nest.test,imap.nest.test,{imap_port},0,10",
            f"--srv-host=_submission._tcp.nest.test,smtp.nest.test,{smtp_port},0,10",
            # inside.test publishes this machine and a private host: both refused, neither recommended.
            "--srv-host=_imaps._tcp.inside.test,localhost,993,0,10",
            "--srv-host=_submission._tcp.inside.test,private.nest.test,587,0,10",
        ]
        dnsmasq = Dnsmasq(root, DNS, free_udp_port(DNS), zone=zone)
        dnsmasq.start()
        assert dnsmasq.process is not None
        assert dnsmasq.process.poll() is None, "dnsmasq exited: its port was taken after all"
        yield Lab(certificates.ca_file, smtp_port, imap_port, dnsmasq.port)
    finally:
        threads.stop()
        if dnsmasq is not None:
            dnsmasq.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings_overrides(lab: Lab) -> dict[str, Any]:
    return {
        "probe_allow_networks": "127.0.0.0/8",
        "probe_allowed_ports": [*DEFAULT_PROBE_PORTS, lab.smtp_port, lab.imap_port],
        "dns_servers": f"{DNS}:{lab.dns_port}",
        "probe_ca_file": str(lab.ca_file),
        "probe_timeout_seconds": 2.0,
    }


def fields(message) -> dict[str, str]:
    return {field["name"]: field["value"] for field in embed(message).get("fields") or []}


async def audit(e2e) -> list:
    return await e2e.bot.storage.probe_history(e2e.world.guild.id)


async def test_probe_commands_are_for_moderators(e2e):
    world = e2e.world
    for name in ("probe", "probe-history"):
        command = e2e.command(name)
        assert command["default_member_permissions"] == MANAGE_GUILD
        assert command.get("contexts") in (None, [0])
    options = {option["name"]: option for option in e2e.command("probe")["options"]}
    assert options["host"]["required"] is True
    assert [c["value"] for c in options["protocol"]["choices"]] == ["imap", "pop3", "smtp"]
    assert [c["value"] for c in options["security"]["choices"]] == ["ssl", "starttls", "plain"]
    # Members may see /mailsettings: whether they may run it is a per-server setting checked at run time.
    assert e2e.command("mailsettings").get("default_member_permissions") is None

    with pytest.raises(CommandNotAvailable):
        await e2e.slash("probe", user=world.member, host=SMTP, port=587)
    # A server can show the command to more members in its integration settings; the bot still refuses.
    for name, options in (("probe", {"host": SMTP, "port": 587}), ("probe-history", {})):
        refused = await (await e2e.slash(name, user=world.member, force=True, options=options)).reply()
        assert refused.ephemeral
        assert embed(refused)["title"] == "Not allowed"
    assert await audit(e2e) == []

    help_text = (await (await e2e.slash("help")).reply()).text
    for command in ("/probe", "/probe-history", "/mailsettings", "/config mailsettings"):
        assert command in help_text


async def test_probe_of_a_working_server_then_cooldown_and_history(e2e, lab):
    world = e2e.world
    port = lab.smtp_port
    inter = await e2e.slash("probe", user=world.moderator, host=SMTP, port=port, protocol="smtp")
    result = await inter.reply()
    assert inter.response_type == 5  # deferred: the probe may take up to its timeout
    assert not result.ephemeral
    card = embed(result)
    assert card["title"] == f"Probe: SMTP {SMTP} port {port} with STARTTLS"
    assert card["description"].startswith("✅ **Works**")
    assert "**What this means**" in card["description"]
    assert "works with STARTTLS" in card["description"]  # the diagnosis
    entry = e2e.bot.knowledge.current.knowledge.entry("smtp-port-587")
    assert f"**{entry.title}**" in card["description"]
    assert card["footer"]["text"].startswith("Knowledge entry: smtp-port-587")
    details = fields(result)
    assert details["Address"] == SMTP
    assert details["STARTTLS"] == "offered"
    assert details["TLS"].startswith("TLSv1.")
    assert details["Banner"].startswith("220 ")
    for stage in ("tcp", "greeting", "starttls", "tls", "capabilities after tls"):
        assert f"{stage} " in details["Stages"]
    assert "Matches the host: yes · Trusted: yes · Self-signed: no" in details["Certificate"]
    assert "days left" in details["Certificate"]
    assert e2e.bot.metrics.probes.value() == 1

    again = await (await e2e.slash("probe", user=world.moderator, host=SMTP, port=port, protocol="smtp")).reply()
    assert again.ephemeral
    assert embed(again)["title"] == "Refused"
    assert "try again in" in embed(again)["description"]
    assert e2e.bot.metrics.probes.value() == 1

    rows = await audit(e2e)
    assert [(row.action, row.target, row.address, row.outcome[:8]) for row in rows] == [
        ("probe", f"{SMTP}:{port} smtp starttls", None, "refused:"),
        ("probe", f"{SMTP}:{port} smtp starttls", SMTP, "ok"),
    ]
    assert rows[1].user_id == world.moderator.id
    assert rows[1].guild_id == world.guild.id
    assert rows[1].duration_ms >= 1  # a TCP connection and a TLS handshake took some time

    history = await (await e2e.slash("probe-history", user=world.owner)).reply()
    assert history.ephemeral
    lines = embed(history)["description"].splitlines()
    assert len(lines) == 2
    assert f"<@{world.moderator.id}> /probe **{SMTP}:{port} smtp starttls** → {SMTP} · ok · " in lines[1]
    assert "refused: You can run one probe every" in lines[0]


async def test_probe_with_the_wrong_security_explains_the_fix(e2e, lab):
    moderator = e2e.world.moderator
    inter = await e2e.slash(
        "probe", user=moderator, host=SMTP, port=lab.smtp_port, protocol="smtp", security="ssl"
    )
    result = await inter.reply()
    card = embed(result)
    assert card["description"].startswith("❌ **Failed** at the tls step (tls_handshake_failed)")
    assert "This port expects STARTTLS, not SSL/TLS" in card["description"]
    entry = e2e.bot.knowledge.current.knowledge.entry("ssl-vs-starttls")
    assert f"**{entry.title}**" in card["description"]
    assert card["footer"]["text"].startswith("Knowledge entry: ssl-vs-starttls")
    assert fields(result)["The server speaks"] == "smtp"
    [row] = await audit(e2e)
    assert (row.outcome, row.address) == ("tls_handshake_failed", SMTP)


async def test_refusals_are_explained_and_audited(e2e):
    world = e2e.world
    # Known before any network use: answered at once, privately.
    inter = await e2e.slash("probe", user=world.moderator, host="10.0.0.1", port=993)
    refused = await inter.reply()
    assert inter.response_type == 4
    assert refused.ephemeral
    assert "private" in embed(refused)["description"]
    bad = await (await e2e.slash("probe", user=world.owner, host="imap.nest.test:993")).reply()
    assert "host:port" in embed(bad)["description"]
    # What was typed comes back in the reason, shown literally rather than as markdown.
    typed = await (await e2e.slash("probe", user=world.owner, host="**mail**_x", port=993)).reply()
    assert "'\\*\\*mail\\*\\*\\_x' is not a valid server name" in embed(typed)["description"]
    # Known only once the name is resolved: the "thinking…" message becomes the refusal.
    inter = await e2e.slash("probe", user=world.moderator, host="private.nest.test", port=993)
    refused = await inter.reply()
    assert inter.response_type == 5
    assert embed(refused)["title"] == "Refused"
    assert "10.1.2.3" in embed(refused)["description"]
    assert e2e.bot.metrics.probes.value() == 0

    rows = await audit(e2e)
    assert [row.target for row in rows] == [
        "private.nest.test:993 imap ssl",
        "**mail**_x:993",
        "imap.nest.test:993",
        "10.0.0.1:993",  # refused while reading the target: recorded as typed
    ]
    assert all(row.outcome.startswith("refused: ") and row.address is None for row in rows)
    assert "10.1.2.3" in rows[0].outcome


async def test_mailsettings_for_moderators_until_opened_to_everyone(e2e, lab):
    world = e2e.world
    refused = await (await e2e.slash("mailsettings", user=world.member, domain="nest.test")).reply()
    assert refused.ephemeral
    assert embed(refused)["title"] == "Not allowed"
    assert "/config mailsettings public: True" in refused.text

    found = await (await e2e.slash("mailsettings", user=world.moderator, domain="me@nest.test")).reply()
    card = embed(found)
    assert card["title"] == "Mail settings for nest.test"
    assert f"**Incoming:** IMAP imap.nest.test port {lab.imap_port} with SSL/TLS" in card["description"]
    assert f"**Outgoing:** SMTP smtp.nest.test port {lab.smtp_port} with STARTTLS" in card["description"]
    details = fields(found)
    assert "(from DNS SRV records)" in details["Incoming"]
    assert "imaps" in details["Incoming"]  # the SRV record, as evidence
    assert "SSL/TLS works" in details["Incoming"]  # and the bot's own probe of it
    assert "STARTTLS works" in details["Outgoing"]

    opened = await (await e2e.slash("config mailsettings", user=world.moderator, public=True)).reply()
    assert "Every member" in opened.content
    assert fields(opened)["/mailsettings"] == "Everyone may use it"
    nothing = await (await e2e.slash("mailsettings", user=world.member, domain="empty.test")).reply()
    assert embed(nothing)["description"].startswith("I found no mail settings for empty.test")
    assert "Not found" in fields(nothing)["Incoming"]

    rows = await audit(e2e)
    assert [(row.user_id, row.action, row.target, row.address, row.outcome) for row in rows] == [
        (world.member.id, "discover", "empty.test", None, "nothing"),
        (world.moderator.id, "discover", "nest.test", f"{SMTP}, {IMAP}", "found"),
    ]
    assert e2e.bot.metrics.probes.value() == 2


class TestTargetCapCoversWhatADiscoveryReaches:
    @pytest.fixture
    def settings_overrides(self, settings_overrides: dict[str, Any]) -> dict[str, Any]:
        # One probe per target an hour and no cooldown: the shared per-target budget is what is under test.
        return {**settings_overrides, "probe_target_hourly_cap": 1, "probe_user_cooldown_seconds": 0}

    async def test_probe_and_mailsettings_share_each_servers_hour(self, e2e, lab):
        world = e2e.world
        probe = await e2e.slash(
            "probe", user=world.moderator, host="smtp.nest.test", port=lab.smtp_port, protocol="smtp"
        )
        first = await probe.reply()
        assert embed(first)["description"].startswith("✅ **Works**")

        # nest.test's SRV record names smtp.nest.test: the discovery reports it without contacting it again.
        found = await (await e2e.slash("mailsettings", user=world.owner, domain="nest.test")).reply()
        card = embed(found)
        assert f"**Outgoing:** SMTP smtp.nest.test port {lab.smtp_port} with STARTTLS" in card["description"]
        details = fields(found)
        assert "Not probed: smtp.nest.test has been probed once in the last hour" in details["Outgoing"]
        # (The outgoing guesses on smtp.nest.test that started were refused as well, their ports listed with it.)
        [note] = [line for line in details["Notes"].splitlines() if "smtp.nest.test" in line]
        assert "Not probed \\(hourly probe cap\\): smtp.nest.test port" in note
        assert f"{lab.smtp_port}." in note
        assert "SSL/TLS works" in details["Incoming"]

        # The IMAP server the discovery did reach has had its probe for the hour, typed by address too.
        inter = await e2e.slash("probe", user=world.moderator, host=IMAP, port=lab.imap_port, protocol="imap")
        again = await inter.reply()
        assert embed(again)["title"] == "Refused"
        assert f"{IMAP} has been probed once in the last hour" in embed(again)["description"]

        rows = await audit(e2e)
        assert [(row.action, row.address, row.outcome[:8]) for row in rows] == [
            ("probe", None, "refused:"),
            ("discover", IMAP, "found"),  # the published outgoing server counts as found, unprobed
            ("probe", SMTP, "ok"),
        ]


async def test_mailsettings_never_recommends_a_refused_published_server(e2e):
    found = await (await e2e.slash("mailsettings", user=e2e.world.moderator, domain="inside.test")).reply()
    card = embed(found)
    assert card["description"].startswith("I found no usable mail settings for inside.test")
    assert "localhost" not in card["description"]
    details = fields(found)
    assert "refused" in details["Incoming"]
    assert "refused" in details["Outgoing"]
    refused = details["Refused (not recommended)"].splitlines()
    assert len(refused) == 2
    assert refused[0].startswith("• IMAP localhost port 993 \\(incoming, SRV record\\): localhost means this machine")
    assert "private.nest.test resolves to 10.1.2.3" in refused[1]
    [row] = await audit(e2e)
    assert (row.action, row.target, row.address, row.outcome) == ("discover", "inside.test", None, "nothing")
