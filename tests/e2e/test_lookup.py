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
    assert choices[0] == {"name": "Gmail — gmail.com, googlemail.com", "value": "gmail"}
    assert all(len(choice["name"]) <= 100 and len(choice["value"]) <= 100 for choice in choices)
    everything = await e2e.autocomplete("provider", "name", options={"name": ""})
    assert len(everything) == min(25, len(e2e.bot.knowledge.current.knowledge.providers))
    reply = await (await e2e.slash("provider", options={"name": choices[0]["value"]})).reply()
    assert embed(reply)["title"].startswith("Gmail")
