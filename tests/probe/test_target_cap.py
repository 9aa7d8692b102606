"""The per-target hourly cap covers every host and address a request reaches, not only the one typed.

A domain's owner decides where its SRV records, autoconfig file and guessable names point; here hammer.test and
alias.test point theirs at "someone else's server" (VICTIM_HOST, whose connections the lab counts). Once that
server has had its probes for the hour, neither a discovery nor a direct probe through another name reaches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.probe import ProbeGuard, ProbeRefused, discover, parse_target, run_probe
from tests.probe.servers import MAIL_HOST, VICTIM_HOST, MailLab

if TYPE_CHECKING:
    from bot.probe import DiscoveryResult
    from bot.settings import Settings
    from tests.probe.conftest import SettingsFactory

pytestmark = pytest.mark.usefixtures("dovecot")


def victim_connections(lab: MailLab) -> int:
    return sum(count for (host, _port), count in lab.threads.connections.items() if host == VICTIM_HOST)


async def direct_probe(guard: ProbeGuard, settings: Settings, user: str, host: str, port: int) -> bool:
    """What /probe does: admitted with the target's key, then run with the guard. Whether it worked."""
    target = parse_target(host, port, None, None, settings)
    async with guard.admit(user, f"guild-of-{user}", target.key):
        return (await run_probe(target, settings, guard=guard)).ok


async def mailsettings(guard: ProbeGuard, settings: Settings, user: str, domain: str) -> DiscoveryResult:
    """What /mailsettings does: admitted with the domain as the target, then discovered with the guard."""
    async with guard.admit(user, f"guild-of-{user}", domain):
        return await discover(domain, settings, guard=guard)


def rows_for(result: DiscoveryResult, host: str) -> list[dict[str, object]]:
    return [row for row in result.candidates if row["host"] == host]


async def test_an_srv_record_pointing_at_a_host_at_its_cap_is_not_followed(
    make_settings: SettingsFactory, lab: MailLab
) -> None:
    settings = make_settings(probe_target_hourly_cap=2)
    guard = ProbeGuard(settings)
    # Two direct probes from two servers use up the host's hour ...
    assert await direct_probe(guard, settings, "mod1", "smtp.victim.test", 465)
    assert await direct_probe(guard, settings, "mod2", "smtp.victim.test", 465)
    before = victim_connections(lab)
    assert before >= 2

    # ... and a third server's discovery of a domain whose SRV record names that host does not reach it.
    result = await mailsettings(guard, settings, "attacker", "hammer.test")
    assert victim_connections(lab) == before
    outgoing = result.outgoing
    assert outgoing is not None
    # Still what the domain publishes, said to be unchecked and why.
    assert (outgoing.source, outgoing.host, outgoing.port) == ("srv", "smtp.victim.test", 465)
    assert outgoing.probe is None
    refusal = "smtp.victim.test has been probed 2 times in the last hour (counting every server the bot is in)"
    assert outgoing.evidence[1].startswith(f"Not probed: {refusal}")
    [row] = rows_for(result, "smtp.victim.test")
    assert row["outcome"] == "not probed"
    assert str(row["detail"]).startswith(refusal)
    assert any(note.startswith("Not probed (hourly probe cap): smtp.victim.test port 465. ") for note in result.notes)
    # The rest of the discovery went on as usual.
    incoming = result.incoming
    assert incoming is not None
    assert (incoming.source, incoming.host, incoming.port) == ("srv", "mail.srv.test", 993)
    assert incoming.probe is not None
    assert incoming.probe.ok
    assert incoming.probe.address == MAIL_HOST


async def test_names_leading_to_an_address_at_its_cap_are_not_followed(
    make_settings: SettingsFactory, lab: MailLab
) -> None:
    settings = make_settings(probe_target_hourly_cap=1)
    guard = ProbeGuard(settings)
    assert await direct_probe(guard, settings, "mod1", VICTIM_HOST, 587)
    before = victim_connections(lab)

    # alias.test's SRV target relay.alias.test and its guess smtp.alias.test are new names for that address.
    result = await mailsettings(guard, settings, "attacker", "alias.test")
    assert victim_connections(lab) == before
    outgoing = result.outgoing
    assert outgoing is not None
    assert (outgoing.source, outgoing.host, outgoing.probe) == ("srv", "relay.alias.test", None)
    assert outgoing.evidence[1].startswith(f"Not probed: {VICTIM_HOST} has been probed once in the last hour")
    for row in rows_for(result, "smtp.alias.test"):
        # Refused at its turn, or never started because the discovery had decided by then.
        assert row["outcome"] in {"not probed", "not finished"}, row
        if row["outcome"] == "not probed":
            assert str(row["detail"]).startswith(f"{VICTIM_HOST} has been probed once")
    incoming = result.incoming
    assert incoming is not None
    assert incoming.probe is not None
    assert incoming.probe.ok
    # Refused as a whole: the name did not spend its own budget on the way.
    await guard.check("someone", "another guild", "relay.alias.test")


async def test_a_direct_probe_by_another_name_for_an_address_at_its_cap_is_refused(
    make_settings: SettingsFactory, lab: MailLab
) -> None:
    settings = make_settings(probe_target_hourly_cap=1)
    guard = ProbeGuard(settings)
    assert await direct_probe(guard, settings, "mod1", VICTIM_HOST, 465)
    before = victim_connections(lab)
    with pytest.raises(ProbeRefused) as caught:
        await direct_probe(guard, settings, "mod2", "smtp.victim.test", 465)
    assert caught.value.reason.startswith(f"{VICTIM_HOST} has been probed once in the last hour")
    assert victim_connections(lab) == before


async def test_a_discovery_spends_each_host_and_address_once_and_direct_probes_share_it(
    make_settings: SettingsFactory,
) -> None:
    # A cap of one: counting every connection would stop this discovery at its own second try of mail.srv.test.
    settings = make_settings(probe_target_hourly_cap=1)
    guard = ProbeGuard(settings)
    result = await mailsettings(guard, settings, "mod1", "srv.test")
    for item in (result.incoming, result.outgoing):
        assert item is not None
        assert (item.source, item.host) == ("srv", "mail.srv.test")
        assert item.probe is not None
        assert item.probe.ok, item.evidence
    assert (result.incoming.port, result.outgoing.port) == (993, 587)  # type: ignore[union-attr]
    assert not any("hourly probe cap" in note for note in result.notes)
    assert not any("has been probed" in str(row["detail"]) for row in result.candidates)
    # What the discovery reached has had its probe for the hour, by name and by address.
    for host, port in (("mail.srv.test", 993), (MAIL_HOST, 587)):
        with pytest.raises(ProbeRefused, match="has been probed once in the last hour"):
            await direct_probe(guard, settings, f"mod-{host}", host, port)


async def test_an_autoconfig_host_at_its_cap_is_not_fetched(make_settings: SettingsFactory, lab: MailLab) -> None:
    settings = make_settings(probe_target_hourly_cap=1)
    guard = ProbeGuard(settings)
    async with guard.admit("mod1", "g1", "autoconfig.example.test"):
        pass  # someone probed it (how does not matter): its hour is used
    url = "https://autoconfig.example.test/mail/config-v1.1.xml"
    fetched_before = lab.autoconfig_requests.count(url)

    result = await mailsettings(guard, settings, "mod2", "example.test")
    assert lab.autoconfig_requests.count(url) == fetched_before
    assert result.autoconfig is not None
    assert result.autoconfig.url is None
    outcome = dict(result.autoconfig.attempts)[url]
    assert outcome.startswith("not fetched: autoconfig.example.test has been probed once in the last hour")
    # Without the file, the usual guesses still find the servers.
    incoming, outgoing = result.incoming, result.outgoing
    assert incoming is not None
    assert outgoing is not None
    assert (incoming.source, incoming.host, incoming.port) == ("guess", "imap.example.test", 993)
    assert (outgoing.source, outgoing.host, outgoing.port) == ("guess", "smtp.example.test", 465)
    assert incoming.probe is not None
    assert incoming.probe.ok
