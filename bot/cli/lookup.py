"""`guidenest port` and `guidenest provider`: the tables of the knowledge base."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.cli.common import load_service, print_json
from bot.matching.lookup import find_ports, find_provider
from bot.render import no_provider_card, port_card, provider_card

if TYPE_CHECKING:
    import argparse

    from bot.knowledge.model import KnowledgeBase, Provider
    from bot.settings import Settings


def register(subcommands: Any) -> None:
    port = subcommands.add_parser(
        "port",
        help="look up mail ports",
        description="Look up mail ports by protocol, number or security: imap, 993, 'smtp starttls'. "
        "With no query, print the whole table.",
    )
    port.add_argument("query", nargs="*", help="protocol, port number or security mode")
    port.add_argument("--json", action="store_true", help="print JSON")
    port.set_defaults(handler=run_port)

    provider = subcommands.add_parser(
        "provider",
        help="a mail provider's server settings",
        description="A provider's incoming and outgoing settings, by name or domain: gmail, hotmail, outlook.com.",
    )
    provider.add_argument("name", nargs="+", help="provider name, domain or e-mail address")
    provider.add_argument("--json", action="store_true", help="print JSON")
    provider.set_defaults(handler=run_provider)


def port_reply(knowledge: KnowledgeBase, query: str) -> str:
    return port_card(find_ports(knowledge, query), query).to_text()


def provider_reply(knowledge: KnowledgeBase, name: str) -> str:
    return _provider_text(find_provider(knowledge, name), name)


def _provider_text(found: list[tuple[Provider, float]], name: str) -> str:
    """The best match's settings, or what to type instead when nothing matched."""
    return (provider_card(found[0][0]) if found else no_provider_card(name)).to_text()


def run_port(args: argparse.Namespace, settings: Settings) -> int:
    service = load_service(settings)
    if service is None:
        return 1
    query = " ".join(args.query)
    rows = find_ports(service.current.knowledge, query)
    if args.json:
        print_json([asdict(row) for row in rows])
    else:
        print(port_card(rows, query).to_text())
    return 0 if rows else 1


def run_provider(args: argparse.Namespace, settings: Settings) -> int:
    service = load_service(settings)
    if service is None:
        return 1
    name = " ".join(args.name)
    found = find_provider(service.current.knowledge, name)
    if args.json:
        print_json([{**asdict(provider), "score": score} for provider, score in found[:1]] if found else [])
    else:
        print(_provider_text(found, name))
    return 0 if found else 1
