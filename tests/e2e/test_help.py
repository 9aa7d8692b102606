"""`/help`, and the commands as Discord registers them."""

from __future__ import annotations

from tests.e2e.cogs_helpers import embed


async def test_help_explains_the_bot_privately(e2e):
    inter = await e2e.slash("help")
    reply = await inter.reply()
    assert reply.ephemeral
    card = embed(reply)
    assert card["title"].startswith("Guide Nest")
    text = reply.text
    for command in ("/ask", "/port", "/provider", "/config", "/kb stats", "/kb reload"):
        assert command in text
    callback = await inter.ack()
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}


async def test_every_command_is_registered_with_its_options(e2e):
    commands = {command["name"]: command for command in e2e.commands()}
    assert {"ask", "port", "provider", "help", "config", "kb"} <= set(commands)

    def options(name: str) -> dict[str, dict]:
        return {option["name"]: option for option in commands[name].get("options") or []}

    assert options("ask")["question"]["required"] is True
    assert options("ask")["private"].get("required", False) is False
    assert options("port")["query"].get("autocomplete") is True
    assert options("provider")["name"]["autocomplete"] is True
    assert set(options("config")) == {
        "show",
        "channel",
        "confidence",
        "cooldowns",
        "moderator-role",
        "mailsettings",
        "solved-tag",
    }
    assert options("config")["solved-tag"]["options"][0]["autocomplete"] is True
    menus = {command["name"]: command["type"] for command in commands.values() if command["type"] != 1}
    assert menus == {"Find an answer": 3, "Post an answer": 3}
    assert set(options("kb")) == {"stats", "reload", "teach", "learned", "forget"}
    levels = [choice["value"] for choice in options("config")["confidence"]["options"][0]["choices"]]
    assert levels == ["strict", "normal", "relaxed", "default"]
