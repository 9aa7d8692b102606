"""`guidenest probe` and `guidenest discover`: the probe core, from the command line.

Exit 0 when the probe ran (whatever it found), 2 when it was refused (bad target, private address, port off
the list), with `{"refused": "<reason>"}` under --json.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    from bot.probe import DiscoveryResult, ProbeResult, ProbeTarget
    from bot.settings import Settings

EXIT_REFUSED = 2


def register(subcommands: Any) -> None:  # argparse's _SubParsersAction is private
    probe = subcommands.add_parser(
        "probe",
        help="check a mail server from this machine (greeting level only; never logs in or sends mail)",
        description=(
            "Connect to a mail server the way a mail app would and report DNS, TCP, TLS, the greeting, "
            "capabilities, STARTTLS and the certificate, with a diagnosis. Give a port, or a protocol and a "
            "security mode (imap/pop3/smtp with ssl/starttls/plain) for the standard port."
        ),
    )
    probe.add_argument("host", help="server name or IP address, e.g. imap.example.com")
    probe.add_argument("--port", type=int, help="port number (993, 143, 995, 110, 465, 587, 25, 2525)")
    probe.add_argument("--protocol", help="imap, pop3 or smtp (inferred from a standard port)")
    probe.add_argument("--security", help="ssl, starttls or plain (inferred from a standard port)")
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.set_defaults(handler=probe_command)

    discover_parser = subcommands.add_parser(
        "discover",
        help="find a mail domain's incoming and outgoing server settings",
        description=(
            "Look for a domain's mail settings like a mail app: the provider's autoconfig file, DNS SRV and "
            "MX records, then guessed host names, each checked with a probe."
        ),
    )
    discover_parser.add_argument("domain", help="mail domain (the part after @), e.g. example.com")
    discover_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    discover_parser.set_defaults(handler=discover_command)


def _refused(reason: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"refused": reason}))
    else:
        print(f"Refused: {reason}")
    return EXIT_REFUSED


# One request per process, through a guard of its own, in the same steps as the bot's commands (admission, then
# every host and address reached counted against the per-target cap). A single run never reaches the cap: a
# request counts each target once; the guard is there so the command line cannot drift from the bot.
CLI_USER = "command-line"


def probe_command(args: argparse.Namespace, settings: Settings) -> int:
    # The probe stack (aiohttp, dnspython, cryptography) loads only when a probe runs, not for every command.
    from bot.probe import ProbeGuard, ProbeRefused, parse_target, run_probe
    from bot.probe.report import format_probe

    async def guarded(target: ProbeTarget) -> ProbeResult:
        guard = ProbeGuard(settings)
        async with guard.admit(CLI_USER, None, target.key):
            return await run_probe(target, settings, guard=guard)

    try:
        target = parse_target(args.host, args.port, args.protocol, args.security, settings)
        result = asyncio.run(guarded(target))
    except ProbeRefused as exc:
        return _refused(exc.reason, args.json)
    print(json.dumps(result.to_json(), indent=2) if args.json else format_probe(result))
    return 0


def discover_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.probe import ProbeGuard, ProbeRefused, discover, normalize_domain
    from bot.probe.report import format_discovery

    async def guarded(domain: str) -> DiscoveryResult:
        guard = ProbeGuard(settings)
        async with guard.admit(CLI_USER, None, domain):
            return await discover(domain, settings, guard=guard)

    try:
        result = asyncio.run(guarded(normalize_domain(args.domain)))
    except ProbeRefused as exc:
        return _refused(exc.reason, args.json)
    print(json.dumps(result.to_json(), indent=2) if args.json else format_discovery(result))
    return 0
