"""`guidenest probe` and `guidenest discover`: the probe core, from the command line.

Exit codes: 0 when the probe ran (whatever it found); 2 for a usage mistake (an unknown --protocol or
--security, a port outside 1-65535, no port and no protocol, a port with no usual protocol, something that is
not a host name), with argparse's usage line on stderr; 3 when the guard refused it (this machine, a private
address, a port off the allowed list, a rate limit), with `{"refused": "<reason>"}` under --json.

On a terminal, the steps show live on stderr while they run (bot/cli/live.py); piped or with --json, nothing
but the result is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any, NoReturn

from bot.cli.live import live_steps
from bot.probe.model import PROTOCOL_WORDS, SECURITY_WORDS, MailProtocol, Security

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from enum import StrEnum

    from bot.probe import DiscoveryResult, ProbeResult, ProbeTarget
    from bot.probe.progress import ProgressHook
    from bot.settings import Settings

EXIT_REFUSED = 3


def _port_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is not a TCP port number (1 to 65535)")
    return number


def _canonical(words: Mapping[str, StrEnum]) -> Callable[[str], str]:
    """An argparse type: a word the core knows becomes its value (`TLS` -> `ssl`); `choices` rejects the rest."""

    def read(text: str) -> str:
        member = words.get(text.strip().lower())
        return member.value if member is not None else text

    return read


def _choice_help(what: str, members: type[StrEnum], words: Mapping[str, StrEnum]) -> str:
    values = [member.value for member in members]
    aliases = ", ".join(word for word, member in words.items() if word != member.value)
    return f"{what}: {', '.join(values[:-1])} or {values[-1]} (also accepted: {aliases}); inferred from a standard port"


def _usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    parser: argparse.ArgumentParser = args.command_parser
    parser.error(message)  # usage line and message on stderr, exit 2


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
    probe.add_argument("--port", type=_port_number, help="port number (993, 143, 995, 110, 465, 587, 25, 2525)")
    probe.add_argument(
        "--protocol",
        type=_canonical(PROTOCOL_WORDS),
        choices=[member.value for member in MailProtocol],
        help=_choice_help("mail protocol", MailProtocol, PROTOCOL_WORDS),
    )
    probe.add_argument(
        "--security",
        type=_canonical(SECURITY_WORDS),
        choices=[member.value for member in Security],
        help=_choice_help("security mode", Security, SECURITY_WORDS),
    )
    probe.add_argument("--json", action="store_true", help="print the result as JSON")
    probe.set_defaults(handler=probe_command, command_parser=probe)

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
    discover_parser.set_defaults(handler=discover_command, command_parser=discover_parser)


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
    from bot.cards.output import print_card
    from bot.cards.probe import probe_card
    from bot.cli.common import knowledge_for_cards
    from bot.probe import ProbeGuard, ProbeRefused, ProbeRequestError, parse_target, run_probe

    async def guarded(target: ProbeTarget, progress: ProgressHook | None) -> ProbeResult:
        guard = ProbeGuard(settings)
        async with guard.admit(CLI_USER, None, target.key):
            return await run_probe(target, settings, guard=guard, progress=progress)

    try:
        target = parse_target(args.host, args.port, args.protocol, args.security, settings)
        with live_steps(f"Probing {target.describe()}", wanted=not args.json) as progress:
            result = asyncio.run(guarded(target, progress))
    except ProbeRequestError as exc:
        _usage_error(args, exc.reason)
    except ProbeRefused as exc:
        return _refused(exc.reason, args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_card(probe_card(result, knowledge_for_cards(settings), detail=True))
    return 0


def discover_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cards.output import print_card
    from bot.cards.probe import discovery_card
    from bot.cli.common import knowledge_for_cards
    from bot.probe import ProbeGuard, ProbeRefused, ProbeRequestError, discover, normalize_domain

    async def guarded(domain: str, progress: ProgressHook | None) -> DiscoveryResult:
        guard = ProbeGuard(settings)
        async with guard.admit(CLI_USER, None, domain):
            return await discover(domain, settings, guard=guard, progress=progress)

    try:
        domain = normalize_domain(args.domain)
        with live_steps(f"Looking for the mail settings of {domain}", wanted=not args.json) as progress:
            result = asyncio.run(guarded(domain, progress))
    except ProbeRequestError as exc:
        _usage_error(args, exc.reason)
    except ProbeRefused as exc:
        return _refused(exc.reason, args.json)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print_card(discovery_card(result, knowledge_for_cards(settings), detail=True))
    return 0
