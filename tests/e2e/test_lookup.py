"""`/port` and `/provider`, with their autocomplete."""

from __future__ import annotations

from tests.e2e.cogs_helpers import embed


async def test_port_without_query_shows_the_table(e2e):
    reply = await (await e2e.slash("port")).reply()
    card = embed(reply)
    assert card["title"] == "Mail ports"
    rows = len(e2e.bot.knowledge.current.knowledge.ports)
    assert card["description"].count("\n") + 1 == rows
    for port in ("993", "995", "465", "587", "143", "110", "25"):
        assert f" {port}**" in card["description"]


async def test_port_query_shows_both_security_modes_status_and_notes(e2e):
    reply = await (await e2e.slash("port", query="imap")).reply()
    card = embed(reply)
    names = [field["name"] for field in card["fields"]]
    assert any("993" in name and "SSL/TLS" in name for name in names)
    assert any("143" in name and "STARTTLS" in name for name in names)
    assert all(field["value"] for field in card["fields"])
    assert "recommended" in reply.text
    single = embed(await (await e2e.slash("port", query="993")).reply())
    assert len(single["fields"]) == 1
    assert "993" in single["fields"][0]["name"]


async def test_port_unknown_query_is_echoed_escaped(e2e):
    reply = await (await e2e.slash("port", query="**8080** @everyone")).reply()
    card = embed(reply)
    assert card["title"] == "No such mail port"
    assert "\\*\\*8080\\*\\* @\u200beveryone" in card["description"]
    callback = await (await e2e.slash("port", query="@here")).ack()
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}


async def test_port_autocomplete(e2e):
    choices = await e2e.autocomplete("port", "query", query="ima")
    assert choices
    assert len(choices) <= 25
    assert all(choice["name"].startswith("IMAP") for choice in choices)
    # A choice's value is a query that finds exactly that row.
    reply = await (await e2e.slash("port", query=choices[0]["value"])).reply()
    assert len(embed(reply)["fields"]) == 1
    everything = await e2e.autocomplete("port", "query", query="")
    assert len(everything) == min(25, len(e2e.bot.knowledge.current.knowledge.ports))


async def test_provider_card_by_name_domain_or_address(e2e):
    reply = await (await e2e.slash("provider", options={"name": "gmail"})).reply()
    card = embed(reply)
    assert card["title"].startswith("Gmail")
    fields = {field["name"]: field["value"] for field in card["fields"]}
    assert "imap.gmail.com" in fields["Incoming"]
    assert "smtp.gmail.com" in fields["Outgoing"]
    assert "Sign-in" in fields
    by_address = embed(
        await (await e2e.slash("provider", options={"name": "someone@googlemail.com"})).reply()
    )
    assert by_address["title"] == card["title"]


async def test_provider_unknown_is_said_plainly_and_escaped(e2e):
    reply = await (await e2e.slash("provider", options={"name": "_my_ __tiny__ isp"})).reply()
    card = embed(reply)
    assert card["title"] == "Unknown provider"
    assert "\\_my\\_ \\_\\_tiny\\_\\_ isp" in card["description"]


async def test_provider_autocomplete(e2e):
    choices = await e2e.autocomplete("provider", "name", options={"name": "gm"})
    assert choices[0]["value"] == "gmail"
    assert choices[0]["name"].startswith("Gmail — gmail.com, googlemail.com")
    assert all(len(choice["name"]) <= 100 and len(choice["value"]) <= 100 for choice in choices)
    everything = await e2e.autocomplete("provider", "name", options={"name": ""})
    assert len(everything) == min(25, len(e2e.bot.knowledge.current.knowledge.providers))
    reply = await (await e2e.slash("provider", options={"name": choices[0]["value"]})).reply()
    assert embed(reply)["title"].startswith("Gmail")


def _everything_shown(card: dict) -> str:
    parts = [card.get("title") or "", card.get("description") or "", (card.get("footer") or {}).get("text", "")]
    parts += [f"{field['name']}\n{field['value']}" for field in card.get("fields", [])]
    return "\n".join(parts)


async def test_provider_echo_has_no_bidi_override_and_no_link(e2e):
    # Unknown: the typed name is echoed; a typo of a known name: the whole query is echoed next to the match.
    for typed, title in [
        ("\u202eevil https://evil.example/login", "Unknown provider"),
        ("gmial \u202ehttps://evil.example/login", "Gmail mail settings"),
    ]:
        card = embed(await (await e2e.slash("provider", options={"name": typed})).reply())
        assert card["title"] == title
        # The echo is in the description (the fields hold the table's own source links).
        shown = card["description"]
        assert "evil.example/login" in shown  # still said, so the member sees what was read ...
        assert "://" not in shown  # ... but never as a link in the bot's voice
        assert "\u202e" not in shown


async def test_port_echo_has_no_bidi_override_and_no_link(e2e):
    for typed, title in [
        ("https://evil.example/login\u202e", "No such mail port"),
        ("imap \u202ehttps://evil.example/login", "Mail ports: imap https:\u200b//evil.example/login"),
    ]:
        card = embed(await (await e2e.slash("port", query=typed)).reply())
        assert card["title"] == title
        shown = _everything_shown(card)
        assert "://" not in shown
        assert "\u202e" not in shown
