"""`guidenest port` and `guidenest provider`: the tables of the knowledge base."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from bot.cards.lookups import no_provider_card, port_card, provider_card
from bot.cards.output import print_card
from bot.cli.common import load_service, print_json
from bot.matching.lookup import ProviderLookup, find_ports, lookup_provider

if TYPE_CHECKING:
    import argparse

    from bot.cards.card import Card
    from bot.knowledge.model import KnowledgeBase
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


def port_lookup_card(knowledge: KnowledgeBase, query: str) -> Card:
    """The card for `guidenest port QUERY` and the console's `/port QUERY`."""
    return port_card(find_ports(knowledge, query), query)


DISCOVER = "guidenest discover {domain}"


def provider_lookup_card(knowledge: KnowledgeBase, name: str) -> Card:
    """The card for `guidenest provider NAME` and the console's `/provider NAME`."""
    return _provider_card(lookup_provider(knowledge, name))


def _provider_card(found: ProviderLookup) -> Card:
    """The match's settings, or the nearest names and how to look a domain up when nothing matched."""
    if found.match is None:
        return no_provider_card(found, DISCOVER)
    return provider_card(found.match, found)


def run_port(args: argparse.Namespace, settings: Settings) -> int:
    service = load_service(settings)
    if service is None:
        return 1
    query = " ".join(args.query)
    rows = find_ports(service.current.knowledge, query)
    if args.json:
        print_json([asdict(row) for row in rows])
    else:
        print_card(port_card(rows, query))
    return 0 if rows else 1


def run_provider(args: argparse.Namespace, settings: Settings) -> int:
    service = load_service(settings)
    if service is None:
        return 1
    name = " ".join(args.name)
    found = lookup_provider(service.current.knowledge, name)
    if args.json:
        print_json(_provider_json(found))
    else:
        print_card(_provider_card(found))
    return 0 if found.match is not None else 1


def _provider_json(found: ProviderLookup) -> dict[str, Any]:
    """`match` is null unless the query really named a provider; `nearest` are names to offer then."""
    return {
        "query": found.query,
        "match": asdict(found.match) if found.match is not None else None,
        "matched_by": found.matched_by,
        "also": [p.id for p in found.also],
        "nearest": [{"id": p.id, "name": p.name} for p in found.nearest],
        "domain": found.domain,
    }
