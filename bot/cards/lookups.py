"""Cards for the port table and the provider table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards.card import (
    DESCRIPTION_LIMIT,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    MAX_FIELDS,
    TITLE_LIMIT,
    Card,
    Field,
    Tone,
    break_links,
    escape_markdown,
    shorten,
    strip_controls,
)
from bot.knowledge.model import SECURITY_LABELS

if TYPE_CHECKING:
    from bot.knowledge.model import PortRow, Provider, ServerSetting
    from bot.matching.lookup import ProviderLookup

_STATUS_LABELS = {
    "recommended": "recommended",
    "acceptable": "acceptable",
    "legacy": "legacy",
    "often-blocked": "often blocked",
    "unofficial": "unofficial",
}


def port_line(row: PortRow) -> str:
    return (
        f"**{row.protocol} {row.port}** · {SECURITY_LABELS[row.security]} · {row.direction} · "
        f"{_STATUS_LABELS[row.status]}"
    )


def port_card(rows: list[PortRow], query: str = "") -> Card:
    """One protocol or port: every matching row with its notes; several rows become a compact table."""
    if not rows:
        return Card(
            title="No such mail port",
            description=shorten(
                f"Nothing in the port table matches {escape_markdown(query)!s}. "
                "Try a protocol (`imap`, `pop3`, `smtp`), a number (`993`) or a security mode (`starttls`).",
                DESCRIPTION_LIMIT,
            ),
            tone=Tone.UNSURE,
        )
    if len(rows) == 1 or (len(rows) <= MAX_FIELDS and query):
        fields = tuple(
            Field(
                shorten(f"{row.protocol} {row.port} — {SECURITY_LABELS[row.security]}", FIELD_NAME_LIMIT),
                shorten(
                    f"{row.direction.capitalize()} · {_STATUS_LABELS[row.status]} · `{row.name}` · "
                    f"{row.standard}\n{row.notes}",
                    FIELD_VALUE_LIMIT,
                ),
            )
            for row in rows
        )
        # The title shows the query as typed (not escaped, as before), but without controls or a link in it.
        shown = break_links(strip_controls(query))
        title = f"Mail ports: {shown}" if query else f"{rows[0].protocol} port {rows[0].port}"
        return Card(title=shorten(title, TITLE_LIMIT), description="", fields=fields, entry_id=rows[0].entry)
    return port_table_card(rows)


def port_table_card(rows: list[PortRow]) -> Card:
    lines = [port_line(row) for row in rows]
    return Card(
        title="Mail ports",
        description=shorten("\n".join(lines), DESCRIPTION_LIMIT),
        footer="Encrypted ports first: SSL/TLS on 993, 995 and 465; STARTTLS on 143, 110 and 587.",
    )


def server_line(server: ServerSetting) -> str:
    return (
        f"**{server.protocol}** `{server.host}` port **{server.port}** · {SECURITY_LABELS[server.security]}"
    )


SHOWN_DOMAINS = 8  # a provider can have a hundred domains: the card names a few and counts the rest


def provider_card(provider: Provider, lookup: ProviderLookup | None = None) -> Card:
    """A provider's settings; given the lookup that found it, also how it was found when not by its name."""
    fields = [
        Field("Incoming", "\n".join(server_line(s) for s in provider.incoming)),
        Field("Outgoing", "\n".join(server_line(s) for s in provider.outgoing)),
        Field("Sign-in", shorten(provider.auth, FIELD_VALUE_LIMIT)),
    ]
    if provider.notes:
        fields.append(Field("Notes", shorten(provider.notes, FIELD_VALUE_LIMIT)))
    fields.append(Field("Source", shorten(provider.source, FIELD_VALUE_LIMIT), aside=True))
    domains = list(provider.domains)
    if lookup is not None and lookup.domain:
        # The domain asked about first: "live.nl" is an Outlook.com domain.
        asked = [d for d in domains if lookup.domain == d or lookup.domain.endswith("." + d)]
        domains = [*asked, *(d for d in domains if d not in asked)]
    shown = ", ".join(domains[:SHOWN_DOMAINS])
    if len(domains) > SHOWN_DOMAINS:
        shown += f" and {len(domains) - SHOWN_DOMAINS} more"
    lines = [f"Domains: {shown}"] if shown else []
    if lookup is not None and lookup.matched_by == "typo":
        lines.insert(0, f"Closest name to *{escape_markdown(lookup.query)}*: {escape_markdown(provider.name)}.")
    elif lookup is not None and lookup.matched_by == "server":
        host = escape_markdown(lookup.domain or lookup.query)
        lines.insert(0, f"*{host}* is a server of {escape_markdown(provider.name)}.")
    if lookup is not None and lookup.also:
        lines.append("The same servers also serve " + ", ".join(escape_markdown(p.name) for p in lookup.also) + ".")
    return Card(
        title=shorten(f"{provider.name} mail settings", TITLE_LIMIT),
        description=shorten("\n".join(lines), DESCRIPTION_LIMIT),
        fields=tuple(fields),
        entry_id=provider.entry,
    )


def no_provider_card(lookup: ProviderLookup, discover: str) -> Card:
    """Nothing in the table matched: say so, offer the nearest names, and say how to find a domain's settings.

    `discover` is this surface's command for a domain's settings, with `{domain}` where the domain goes:
    "/mailsettings domain:{domain}" on Discord, "guidenest discover {domain}" on the command line."""
    name = lookup.query
    if not name.strip():
        # "I don't have settings for ." helps nobody: say what to type instead.
        return Card(
            title="Which provider?",
            description="Give a provider's name, a domain or an e-mail address: `gmail`, `outlook.com`, "
            "`me@yahoo.com`.",
            tone=Tone.UNSURE,
        )
    if lookup.domain:
        lines = [
            f"*{escape_markdown(lookup.domain)}* is not a domain in my provider table.",
            (
                f"To find its settings, try `{discover.format(domain=lookup.domain)}`: it reads what the domain "
                "publishes for mail apps (autoconfig, SRV and MX records)."
            ),
        ]
    else:
        lines = [f"No provider in my table is called *{escape_markdown(name)}*."]
        if lookup.nearest:
            lines.append("Did you mean " + ", ".join(f"`{escape_markdown(p.name)}`" for p in lookup.nearest) + "?")
        lines.append(
            f"For a company's or your own domain, try `{discover.format(domain='your-domain.com')}`, "
            "or your provider's help pages."
        )
    return Card(title="Unknown provider", description=shorten("\n".join(lines), DESCRIPTION_LIMIT), tone=Tone.UNSURE)
