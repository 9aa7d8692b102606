"""Checks on what a member sent, before any of it reaches a command: kept free of Discord, tested without one.

Discord's client only sends option values its registered definition allows, but the gateway delivers whatever
a modified client or a stale definition produces: strings where numbers belong, `NaN`, `Infinity`, `1e300`,
options the code no longer has. discord.py checks none of that at run time (`Range` only shapes the
definition), so every value is checked here against the rules the code declares, and refused with a sentence
for the member.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# Discord's option types (the numbers in the payload).
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, NUMBER = 3, 4, 5, 10
SNOWFLAKE_TYPES = frozenset({6, 7, 8, 9, 11})  # user, channel, role, mentionable, attachment

_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_SHOWN_NAME = re.compile(r"[^a-z0-9_-]")


class BadInput(ValueError):  # noqa: N818 - reads as what it is: input, refused
    """A value the bot refuses; the text is written for the member who sent it."""


class StaleCommand(BadInput):
    """The payload does not fit the command the code has: Discord's copy of the definition is out of date."""


@dataclass(frozen=True)
class OptionRule:
    """What the code accepts for one option; `low` and `high` bound a number, or a string's length."""

    name: str
    kind: int
    required: bool = False
    low: float | None = None
    high: float | None = None
    choices: tuple[str | int | float, ...] = ()


def shown_name(name: object) -> str:
    # An option name is echoed to the member; anything but Discord's own name characters is dropped.
    return _SHOWN_NAME.sub("", str(name).lower())[:32] or "?"


def checked_number(value: Any, *, low: float | None, high: float | None, what: str) -> float:
    """A finite number within the bounds, else BadInput (`NaN` fails every comparison, so it is named)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"`{what}` takes a number.")
    if not math.isfinite(value):
        raise BadInput(f"`{what}` takes a finite number, not {value}.")
    if low is not None and value < low:
        raise BadInput(f"`{what}` takes {low:g} or more.")
    if high is not None and value > high:
        raise BadInput(f"`{what}` takes {high:g} or less.")
    return float(value)


def leaf_options(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The options of the (sub)command a payload runs, as discord.py walks them; BadInput if malformed."""
    options = data.get("options", [])
    for _depth in range(3):  # a command, a group, a subcommand: never deeper
        if not isinstance(options, list) or not all(isinstance(option, dict) for option in options):
            raise BadInput("The command's options are malformed.")
        if options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            if not isinstance(options[0].get("name"), str):  # discord.py indexes it unchecked
                break
            options = options[0].get("options", [])
            continue
        return options
    raise BadInput("The command's options are malformed.")


def _check_value(option: dict[str, Any], rule: OptionRule) -> None:
    name = rule.name
    if "value" not in option:
        raise BadInput(f"`{name}` came without a value.")
    value = option["value"]
    kind = rule.kind
    if kind == STRING:
        if not isinstance(value, str):
            raise BadInput(f"`{name}` takes text.")
        if (rule.low is not None and len(value) < rule.low) or (rule.high is not None and len(value) > rule.high):
            raise BadInput(f"`{name}` takes {rule.low or 0:g} to {rule.high or 6000:g} characters.")
    elif kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadInput(f"`{name}` takes a whole number.")
        checked_number(value, low=rule.low, high=rule.high, what=name)
    elif kind == NUMBER:
        checked_number(value, low=rule.low, high=rule.high, what=name)
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise BadInput(f"`{name}` takes True or False.")
    elif kind in SNOWFLAKE_TYPES and not (isinstance(value, str) and _SNOWFLAKE.match(value)):
        raise BadInput(f"`{name}` does not name anything I can find.")
    if rule.choices and value not in rule.choices:
        raise BadInput(f"`{name}` takes one of its listed choices.")


def check_options(given: Iterable[dict[str, Any]], rules: Sequence[OptionRule], *, focused_ok: bool = False) -> None:
    """Refuse options that do not fit `rules`: StaleCommand when their names or types differ from the code's
    (Discord's client builds them from the registered definition), BadInput when a value is out of bounds.

    `focused_ok`: the option being typed into during autocomplete is partial text, left unchecked.
    """
    by_name = {rule.name: rule for rule in rules}
    seen: set[str] = set()
    for option in given:
        name = option.get("name")
        rule = by_name.get(name) if isinstance(name, str) else None
        if rule is None or name in seen:
            raise StaleCommand(f"I don't know the option `{shown_name(name)}` here.")
        seen.add(rule.name)
        if option.get("type") != rule.kind:
            raise StaleCommand(f"The option `{rule.name}` has a different type now.")
        if focused_ok and option.get("focused"):
            continue
        _check_value(option, rule)
    missing = [rule.name for rule in rules if rule.required and rule.name not in seen]
    if missing and not focused_ok:
        raise StaleCommand(f"The option `{missing[0]}` is missing.")
