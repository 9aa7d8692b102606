"""Progress events from real probes and discoveries in the lab: each step named, each final state the result's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from bot.probe import MailProtocol, ProbeRefused, ProbeTarget, Security, Stage, discover, parse_target, run_probe
from bot.probe.autoconfig import autoconfig_urls
from bot.probe.progress import STAGE_STEPS, ProgressEvent, server_step
from tests.probe.servers import SELF_SIGNED_HOST, SMTP_HOST

if TYPE_CHECKING:
    from bot.probe import DiscoveryResult, ProbeResult
    from tests.probe.conftest import SettingsFactory

pytestmark = pytest.mark.usefixtures("dovecot")


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def final(self) -> dict[str, ProgressEvent]:
        """The last event of each step, in the order the steps first appeared."""
        last: dict[str, ProgressEvent] = {}
        for event in self.events:
            last[event.what] = event
        return last

    def first_seen(self) -> list[str]:
        return list(dict.fromkeys(event.what for event in self.events))


def without_timings(result: ProbeResult | DiscoveryResult) -> Any:
    """The JSON form with the durations left out: two runs of the same probe differ only in those."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in {"elapsed_ms", "stages"}}
        if isinstance(value, list):
            return [strip(item) for item in value]
        if isinstance(value, str) and " ms" in value:
            return "<timed>"
        return value

    return strip(result.to_json())


def row_step(row: dict[str, Any]) -> str:
    target = ProbeTarget(row["host"], row["port"], MailProtocol(row["protocol"]), Security(row["security"]))
    return server_step(target)


def assert_candidates_match(result: DiscoveryResult, recorder: Recorder, refused: set[str]) -> None:
    """Every server the result lists ends its progress row the way its row in the result ends."""
    final = recorder.final()
    assert all(event.state != "running" for event in final.values()), final
    for row in result.candidates:
        step = row_step(row)
        if row["outcome"] == "not finished":
            # Cancelled before its coroutine ran (no event at all) or while it ran.
            assert step not in final or final[step].state == "stopped", (row, final.get(step))
            continue
        event = final[step]
        if row["outcome"] == "ok":
            assert event.state == "done", (row, event)
        elif step in refused:
            assert (event.state, event.detail) == ("refused", row["detail"]), (row, event)
        else:
            assert (event.state, event.detail) == ("failed", row["detail"]), (row, event)
    assert {event.what for event in final.values() if event.state == "refused"} == refused


async def test_a_probe_reports_each_stage_as_it_runs(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    target = parse_target("smtp.example.test", 587, None, None, settings)
    recorder = Recorder()
    result = await run_probe(target, settings, progress=recorder)
    assert result.ok
    order = [Stage.DNS, Stage.TCP, Stage.GREETING, Stage.CAPABILITIES, Stage.STARTTLS, Stage.TLS]
    assert recorder.first_seen() == [STAGE_STEPS[stage] for stage in [*order, Stage.CAPABILITIES_AFTER_TLS]]
    # Each stage says it runs, then that it is done, with the time the result records for it.
    for stage in order:
        step = STAGE_STEPS[stage]
        states = [event.state for event in recorder.events if event.what == step]
        assert states == ["running", "done"], (step, states)
        assert recorder.final()[step].detail.startswith(f"{result.stages[stage.value]:.0f} ms")
    final = recorder.final()
    assert final[STAGE_STEPS[Stage.DNS]].detail.endswith(SMTP_HOST)
    assert result.tls is not None
    assert final[STAGE_STEPS[Stage.TLS]].detail.endswith(str(result.tls.version))
    assert result.banner is not None
    assert result.banner in final[STAGE_STEPS[Stage.GREETING]].detail
    # The same probe without a hook finds the same things.
    assert without_timings(await run_probe(target, settings)) == without_timings(result)


async def test_a_failed_probe_ends_on_its_failed_stage(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    recorder = Recorder()
    # SSL/TLS on the STARTTLS port: the TLS handshake meets a plain greeting.
    result = await run_probe(parse_target(SMTP_HOST, 587, "smtp", "ssl", settings), settings, progress=recorder)
    assert result.error is not None
    assert result.error.stage is Stage.TLS
    final = recorder.final()
    assert list(final) == [STAGE_STEPS[Stage.TCP], STAGE_STEPS[Stage.TLS]]
    assert final[STAGE_STEPS[Stage.TCP]].state == "done"
    assert (final[STAGE_STEPS[Stage.TLS]].state, final[STAGE_STEPS[Stage.TLS]].detail) == (
        "failed",
        result.error.message,
    )


async def test_an_untrusted_certificate_is_read_again_and_reported_failed(make_settings: SettingsFactory) -> None:
    settings = make_settings()
    recorder = Recorder()
    result = await run_probe(parse_target(SELF_SIGNED_HOST, 465, None, None, settings), settings, progress=recorder)
    assert result.error is not None
    assert result.error.kind.value == "certificate_untrusted"
    tls_events = [event for event in recorder.events if event.what == STAGE_STEPS[Stage.TLS]]
    assert any(event.state == "running" and "connecting again" in (event.detail or "") for event in tls_events)
    assert (tls_events[-1].state, tls_events[-1].detail) == ("failed", result.error.message)


async def test_a_name_refused_after_its_lookup_is_reported_refused(strict_settings: Any) -> None:
    recorder = Recorder()
    with pytest.raises(ProbeRefused) as refused:
        await run_probe(
            parse_target("ten.private.test", 993, None, None, strict_settings), strict_settings, progress=recorder
        )
    assert recorder.events[-1] == ProgressEvent(STAGE_STEPS[Stage.DNS], "refused", refused.value.reason)


async def test_a_discovery_reports_every_step_with_the_results_verdict(make_settings: SettingsFactory) -> None:
    settings = make_settings(probe_allow_networks="127.0.2.0/24")
    recorder = Recorder()
    result = await discover("internal.test", settings, progress=recorder)
    assert result.incoming is not None
    assert result.incoming.host == "mail.internal.test"
    final = recorder.final()

    # The lookups and every autoconfig URL ran and ended.
    assert final["DNS SRV records"].state == "done"
    assert final["DNS MX records"] == ProgressEvent("DNS MX records", "done", "none published")
    assert result.autoconfig is not None
    assert [url for url, _ in result.autoconfig.attempts] == autoconfig_urls("internal.test")
    for url, outcome in result.autoconfig.attempts:
        assert (final[url].state, final[url].detail) == ("failed", outcome)

    # imap.internal.test resolves to 10.20.30.40, outside the allowlist: both its guesses are refused.
    refused = {
        server_step(ProbeTarget("imap.internal.test", port, MailProtocol.IMAP, security))
        for port, security in ((993, Security.SSL), (143, Security.STARTTLS))
    }
    assert_candidates_match(result, recorder, refused)
    for step in refused:
        assert "resolves to 10.20.30.40" in str(final[step].detail)
    winner = server_step(ProbeTarget("mail.internal.test", 993, MailProtocol.IMAP, Security.SSL))
    assert final[winner].state == "done"
    # A guess said first that it was looking its name up, then that it was probing the address.
    details = [event.detail for event in recorder.events if event.what == winner]
    assert details[0] == "guessed; looking up mail.internal.test"
    assert details[1] == "probing 127.0.2.7"


async def test_published_servers_the_guard_refuses_are_reported_refused(make_settings: SettingsFactory) -> None:
    recorder = Recorder()
    result = await discover("refused-srv.test", make_settings(), progress=recorder)
    refused = {server_step(ProbeTarget(item.host, item.port, item.protocol, item.security)) for item in result.refused}
    assert len(refused) == 5
    assert_candidates_match(result, recorder, refused)
    final = recorder.final()
    for item in result.refused:
        event = final[server_step(ProbeTarget(item.host, item.port, item.protocol, item.security))]
        assert event.detail == item.reason
    assert "_submission._tcp mail.srv.test:587" in str(final["DNS SRV records"].detail)


async def test_the_autoconfig_file_and_the_steps_it_made_unnecessary(make_settings: SettingsFactory) -> None:
    recorder = Recorder()
    result = await discover("example.test", make_settings(), progress=recorder)
    assert result.autoconfig is not None
    final = recorder.final()
    found = final["https://autoconfig.example.test/mail/config-v1.1.xml"]
    assert found == ProgressEvent(found.what, "done", f"lists {len(result.autoconfig.servers)} servers")
    assert final["DNS MX records"].detail == "mail.example.test (10)"
    assert_candidates_match(result, recorder, refused=set())
    # The autoconfig servers won at once, so the guesses still running were stopped, and said why.
    stopped = [event for event in final.values() if event.state == "stopped"]
    assert stopped
    assert all(event.detail == "not needed: a better server was chosen" for event in stopped)


async def test_a_display_that_fails_changes_nothing(make_settings: SettingsFactory) -> None:
    calls: list[ProgressEvent] = []

    def broken(event: ProgressEvent) -> None:
        calls.append(event)
        raise RuntimeError("the terminal went away")

    settings = make_settings()
    with_broken = without_timings(await discover("srv.test", settings, progress=broken))
    assert len(calls) == 1  # switched off after the first failure
    plain = without_timings(await discover("srv.test", settings))
    # Guesses still running when the winner is known are cancelled, so on a loaded machine one run may list a
    # guess as "not finished" that the other saw fail: rows are compared wherever both runs finished them.
    broken_rows, plain_rows = with_broken.pop("candidates"), plain.pop("candidates")
    assert with_broken == plain
    assert [{**row, "outcome": None, "detail": None} for row in broken_rows] == [
        {**row, "outcome": None, "detail": None} for row in plain_rows
    ]
    pairs = zip(broken_rows, plain_rows, strict=True)
    both_finished = [(a, b) for a, b in pairs if "not finished" not in (a["outcome"], b["outcome"])]
    assert both_finished
    assert all(a == b for a, b in both_finished)
