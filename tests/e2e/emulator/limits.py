"""Discord's documented limits, checked on every request the bot makes.

Each check returns a list of `Problem`s (empty when the request is acceptable). The server answers a request
with problems as Discord does, HTTP 400 with code 50035 "Invalid Form Body" and the problems nested by field
path, and records each as a violation so the test fails even when the bot swallows the error.

Sources: Discord developer documentation — Message resource (content 2,000), Embed limits (title 256,
description 4,096, 25 fields, field name 256 / value 1,024, footer 2,048, author 256, total 6,000, 10 per
message), Component reference (5 action rows, 5 buttons or 1 select per row, custom_id 100, button label 80,
select options 25, option label/value/description 100, placeholder 150; modals: title 45, 5 components, text
input label 45, value 4,000), Application commands (names 1-32 matching the name regex, lower case where a
lower-case form exists; descriptions 1-100; 25 options; 25 choices of name 1-100; 100 chat-input commands;
user and message context-menu commands: names 1-32, mixed case and spaces allowed, no description or options,
15 of each type per scope),
Receiving and responding (autocomplete: at most 25 choices), Threads (name 1-100).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
BUTTONS_PER_ROW_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_OPTION_TEXT_MAX = 100
SELECT_PLACEHOLDER_MAX = 150
V2_COMPONENTS_MAX = 40
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMANDS_PER_SCOPE_MAX = 100
CONTEXT_MENUS_PER_SCOPE_MAX = 15  # of each type: user commands, message commands
COMMAND_TOTAL_CHARS_MAX = 4000
MODAL_TITLE_MAX = 45
MODAL_COMPONENTS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_PLACEHOLDER_MAX = 100
TEXT_INPUT_VALUE_MAX = 4000
LABEL_DESCRIPTION_MAX = 100
THREAD_NAME_MAX = 100
FORUM_TAGS_MAX = 5
FILES_MAX = 10

COMPONENTS_V2_FLAG = 1 << 15

# Discord's regex is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; Python's \w covers letters and digits
# (and the underscore), the two ranges add Devanagari and Thai combining marks.
_COMMAND_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")

# Component types.
ACTION_ROW = 1
BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
LABEL = 18
LINK_STYLE = 5
PREMIUM_STYLE = 6


@dataclass(frozen=True)
class Problem:
    """One broken rule: where in the body (dotted path), Discord's error code and a message."""

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<body>'}: {self.message} ({self.code})"


def _max_length(
    problems: list[Problem], path: str, value: Any, limit: int, *, required: bool = False
) -> None:
    if value is None:
        if required:
            problems.append(Problem(path, "BASE_TYPE_REQUIRED", "This field is required"))
        return
    if not isinstance(value, str):
        problems.append(Problem(path, "BASE_TYPE_STRING", "Must be a string."))
        return
    if required and not value:
        problems.append(Problem(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length."))
    elif len(value) > limit:
        problems.append(Problem(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _join(prefix: str, name: str | int) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


# --- Messages -----------------------------------------------------------------------------------------------


def embed_size(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 total of a message's embeds."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for embed_field in embed.get("fields") or []:
        size += len(embed_field.get("name") or "") + len(embed_field.get("value") or "")
    return size


def check_embeds(embeds: Any, prefix: str = "embeds") -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(embeds, list):
        return [Problem(prefix, "BASE_TYPE_ARRAY", "Must be an array.")]
    if len(embeds) > EMBEDS_MAX:
        problems.append(Problem(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length."))
    total = 0
    for index, embed in enumerate(embeds):
        path = _join(prefix, index)
        _max_length(problems, _join(path, "title"), embed.get("title"), EMBED_TITLE_MAX)
        _max_length(problems, _join(path, "description"), embed.get("description"), EMBED_DESCRIPTION_MAX)
        footer = embed.get("footer")
        if footer is not None:
            _max_length(
                problems, _join(path, "footer.text"), footer.get("text"), EMBED_FOOTER_MAX, required=True
            )
        author = embed.get("author")
        if author is not None:
            _max_length(
                problems, _join(path, "author.name"), author.get("name"), EMBED_AUTHOR_MAX, required=True
            )
        fields = embed.get("fields") or []
        if len(fields) > EMBED_FIELDS_MAX:
            problems.append(
                Problem(
                    _join(path, "fields"),
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {EMBED_FIELDS_MAX} or fewer in length.",
                )
            )
        for field_index, embed_field in enumerate(fields):
            field_path = _join(_join(path, "fields"), field_index)
            _max_length(
                problems,
                _join(field_path, "name"),
                embed_field.get("name"),
                EMBED_FIELD_NAME_MAX,
                required=True,
            )
            _max_length(
                problems,
                _join(field_path, "value"),
                embed_field.get("value"),
                EMBED_FIELD_VALUE_MAX,
                required=True,
            )
        total += embed_size(embed)
    if total > EMBED_TOTAL_MAX:
        problems.append(
            Problem(
                prefix, "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
            )
        )
    return problems


def _walk_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for component in components:
        found.append(component)
        found.extend(_walk_components(component.get("components") or []))
        if isinstance(component.get("component"), dict):
            found.extend(_walk_components([component["component"]]))
        if isinstance(component.get("accessory"), dict):
            found.extend(_walk_components([component["accessory"]]))
    return found


def _check_select(problems: list[Problem], path: str, select: dict[str, Any]) -> None:
    _max_length(problems, _join(path, "placeholder"), select.get("placeholder"), SELECT_PLACEHOLDER_MAX)
    if select.get("type") == STRING_SELECT:
        options = select.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            problems.append(
                Problem(
                    _join(path, "options"),
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {SELECT_OPTIONS_MAX} in length.",
                )
            )
        for index, option in enumerate(options):
            option_path = _join(_join(path, "options"), index)
            for key in ("label", "value"):
                _max_length(
                    problems, _join(option_path, key), option.get(key), SELECT_OPTION_TEXT_MAX, required=True
                )
            _max_length(
                problems, _join(option_path, "description"), option.get("description"), SELECT_OPTION_TEXT_MAX
            )
    for key in ("min_values", "max_values"):
        value = select.get(key)
        if value is not None and not 0 <= value <= SELECT_OPTIONS_MAX:
            problems.append(
                Problem(_join(path, key), "NUMBER_TYPE_MAX", f"Must be {SELECT_OPTIONS_MAX} or less.")
            )


def _check_custom_ids(problems: list[Problem], components: list[dict[str, Any]], prefix: str) -> None:
    seen: set[str] = set()
    for component in _walk_components(components):
        custom_id = component.get("custom_id")
        if custom_id is None:
            continue
        _max_length(problems, _join(prefix, "custom_id"), custom_id, CUSTOM_ID_MAX, required=True)
        if custom_id in seen:
            problems.append(
                Problem(
                    prefix,
                    "COMPONENT_CUSTOM_ID_DUPLICATED",
                    f"Component custom id {custom_id!r} is duplicated",
                )
            )
        seen.add(custom_id)


def check_components(components: Any, *, flags: int = 0, prefix: str = "components") -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(components, list):
        return [Problem(prefix, "BASE_TYPE_ARRAY", "Must be an array.")]
    if flags & COMPONENTS_V2_FLAG:
        if len(_walk_components(components)) > V2_COMPONENTS_MAX:
            problems.append(
                Problem(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {V2_COMPONENTS_MAX} or fewer in length.")
            )
        _check_custom_ids(problems, components, prefix)
        return problems
    if len(components) > ACTION_ROWS_MAX:
        problems.append(
            Problem(prefix, "BASE_TYPE_MAX_LENGTH", f"Must be {ACTION_ROWS_MAX} or fewer in length.")
        )
    for row_index, row in enumerate(components):
        row_path = _join(prefix, row_index)
        if row.get("type") != ACTION_ROW:
            problems.append(
                Problem(
                    _join(row_path, "type"), "UNION_TYPE_CHOICES", "Top-level components must be action rows."
                )
            )
            continue
        children = row.get("components") or []
        child_path = _join(row_path, "components")
        if not children:
            problems.append(Problem(child_path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."))
        selects = [child for child in children if child.get("type") in SELECT_TYPES]
        if selects and len(children) > 1:
            problems.append(
                Problem(
                    child_path, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A select menu must be alone in its row."
                )
            )
        elif len(children) > BUTTONS_PER_ROW_MAX:
            problems.append(
                Problem(
                    child_path, "BASE_TYPE_MAX_LENGTH", f"Must be {BUTTONS_PER_ROW_MAX} or fewer in length."
                )
            )
        for index, child in enumerate(children):
            path = _join(child_path, index)
            if child.get("type") == BUTTON:
                _max_length(problems, _join(path, "label"), child.get("label"), BUTTON_LABEL_MAX)
                style = child.get("style")
                if style == LINK_STYLE and not child.get("url"):
                    problems.append(
                        Problem(_join(path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
                    )
                if style not in (LINK_STYLE, PREMIUM_STYLE) and child.get("custom_id") is None:
                    problems.append(
                        Problem(_join(path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
                    )
            elif child.get("type") in SELECT_TYPES:
                _check_select(problems, path, child)
    _check_custom_ids(problems, components, prefix)
    return problems


def check_message(payload: Any, prefix: str = "") -> list[Problem]:
    """A message body as sent to create or edit a message, an interaction reply, a follow-up or a webhook
    edit."""
    if not isinstance(payload, dict):
        return [Problem(prefix, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")]
    problems: list[Problem] = []
    _max_length(problems, _join(prefix, "content"), payload.get("content"), CONTENT_MAX)
    if payload.get("embeds") is not None:
        problems.extend(check_embeds(payload["embeds"], _join(prefix, "embeds")))
    if payload.get("embed") is not None:
        problems.extend(check_embeds([payload["embed"]], _join(prefix, "embed")))
    if payload.get("components") is not None:
        problems.extend(
            check_components(
                payload["components"], flags=payload.get("flags") or 0, prefix=_join(prefix, "components")
            )
        )
    if (payload.get("flags") or 0) & COMPONENTS_V2_FLAG and (payload.get("content") or payload.get("embeds")):
        problems.append(
            Problem(
                _join(prefix, "content"),
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "content and embeds cannot be used with the IS_COMPONENTS_V2 flag",
            )
        )
    return problems


def is_empty_message(message: dict[str, Any], *, files: int = 0) -> bool:
    """Discord refuses (code 50006) a message with nothing to show."""
    return not (
        message.get("content")
        or message.get("embeds")
        or message.get("components")
        or message.get("sticker_ids")
        or message.get("poll")
        or message.get("attachments")
        or files
    )


def check_files(count: int) -> list[Problem]:
    if count > FILES_MAX:
        return [Problem("files", "BASE_TYPE_MAX_LENGTH", f"Must be {FILES_MAX} or fewer in length.")]
    return []


# --- The "never ping" policy --------------------------------------------------------------------------------

_USER_MENTION = re.compile(r"<@!?\d+>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def pings(payload: dict[str, Any], *, is_reply: bool) -> list[str]:
    """What a message would ping, following Discord's rules for `allowed_mentions`.

    Without `allowed_mentions`, Discord parses every mention in the content. With it, only the kinds in
    `parse` and the ids listed in `users`/`roles` ping, and a reply pings its author only with `replied_user:
    true`.
    """
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    listed_users = set() if allowed is None else {str(user) for user in allowed.get("users") or []}
    listed_roles = set() if allowed is None else {str(role) for role in allowed.get("roles") or []}
    found: list[str] = []
    if "everyone" in parse and ("@everyone" in content or "@here" in content):
        found.append("@everyone/@here")
    for mention in _USER_MENTION.findall(content):
        user_id = mention.strip("<@!>")
        if "users" in parse or user_id in listed_users:
            found.append(mention)
    for role_id in _ROLE_MENTION.findall(content):
        if "roles" in parse or role_id in listed_roles:
            found.append(f"<@&{role_id}>")
    if is_reply and allowed is not None and allowed.get("replied_user"):
        found.append("the author of the message replied to")
    return found


# --- Interactions -------------------------------------------------------------------------------------------


def check_autocomplete(data: Any) -> list[Problem]:
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        return [Problem("data.choices", "BASE_TYPE_REQUIRED", "This field is required")]
    choices = data["choices"]
    problems: list[Problem] = []
    if len(choices) > CHOICES_MAX:
        problems.append(
            Problem("data.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {CHOICES_MAX} or fewer in length.")
        )
    for index, choice in enumerate(choices):
        path = f"data.choices.{index}"
        _max_length(problems, f"{path}.name", choice.get("name"), CHOICE_NAME_MAX, required=True)
        if isinstance(choice.get("value"), str):
            _max_length(problems, f"{path}.value", choice.get("value"), CHOICE_VALUE_MAX)
    return problems


def _check_modal_field(problems: list[Problem], path: str, component: dict[str, Any]) -> None:
    if component.get("type") == TEXT_INPUT:
        _max_length(problems, _join(path, "label"), component.get("label"), TEXT_INPUT_LABEL_MAX)
        _max_length(
            problems, _join(path, "placeholder"), component.get("placeholder"), TEXT_INPUT_PLACEHOLDER_MAX
        )
        _max_length(problems, _join(path, "value"), component.get("value"), TEXT_INPUT_VALUE_MAX)
        for key in ("min_length", "max_length"):
            value = component.get(key)
            if value is not None and not 0 <= value <= TEXT_INPUT_VALUE_MAX:
                problems.append(
                    Problem(_join(path, key), "NUMBER_TYPE_MAX", f"Must be {TEXT_INPUT_VALUE_MAX} or less.")
                )
    elif component.get("type") in SELECT_TYPES:
        _check_select(problems, path, component)


def check_modal(data: Any) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem("data", "BASE_TYPE_REQUIRED", "This field is required")]
    problems: list[Problem] = []
    _max_length(problems, "data.title", data.get("title"), MODAL_TITLE_MAX, required=True)
    _max_length(problems, "data.custom_id", data.get("custom_id"), CUSTOM_ID_MAX, required=True)
    components = data.get("components") or []
    if not 1 <= len(components) <= MODAL_COMPONENTS_MAX:
        problems.append(
            Problem(
                "data.components",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MODAL_COMPONENTS_MAX} in length.",
            )
        )
    for index, component in enumerate(components):
        path = f"data.components.{index}"
        if component.get("type") == ACTION_ROW:
            for child_index, child in enumerate(component.get("components") or []):
                _check_modal_field(problems, f"{path}.components.{child_index}", child)
        elif component.get("type") == LABEL:
            _max_length(
                problems, f"{path}.label", component.get("label"), TEXT_INPUT_LABEL_MAX, required=True
            )
            _max_length(problems, f"{path}.description", component.get("description"), LABEL_DESCRIPTION_MAX)
            _check_modal_field(problems, f"{path}.component", component.get("component") or {})
    _check_custom_ids(problems, components, "data.components")
    return problems


# --- Application commands -----------------------------------------------------------------------------------

CHAT_INPUT = 1
USER_COMMAND = 2
MESSAGE_COMMAND = 3
# PRIMARY_ENTRY_POINT (4) exists only for apps with an Activity, which this one is not.
COMMAND_TYPES = (CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND)
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2


def _check_name(problems: list[Problem], path: str, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= COMMAND_NAME_MAX:
        problems.append(
            Problem(path, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {COMMAND_NAME_MAX} in length.")
        )
        return
    if chat_input and (_COMMAND_NAME.match(name) is None or name != name.lower()):
        problems.append(
            Problem(
                path,
                "APPLICATION_COMMAND_INVALID_NAME",
                "Command name is invalid: lower-case letters, numbers, - _",
            )
        )


def _check_options(problems: list[Problem], path: str, options: list[dict[str, Any]]) -> None:
    if len(options) > COMMAND_OPTIONS_MAX:
        problems.append(
            Problem(path, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS_MAX} or fewer in length.")
        )
    names: set[str] = set()
    seen_optional = False
    for index, option in enumerate(options):
        option_path = f"{path}.{index}"
        name = option.get("name")
        _check_name(problems, f"{option_path}.name", name, chat_input=True)
        if name in names:
            problems.append(
                Problem(
                    f"{option_path}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate name"
                )
            )
        names.add(name)
        _max_length(
            problems,
            f"{option_path}.description",
            option.get("description"),
            COMMAND_DESCRIPTION_MAX,
            required=True,
        )
        choices = option.get("choices") or []
        if len(choices) > CHOICES_MAX:
            problems.append(
                Problem(
                    f"{option_path}.choices",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {CHOICES_MAX} or fewer in length.",
                )
            )
        if choices and option.get("autocomplete"):
            problems.append(
                Problem(
                    f"{option_path}.autocomplete",
                    "APPLICATION_COMMAND_OPTION_CHOICES_AND_AUTOCOMPLETE",
                    "Autocomplete cannot be set with choices",
                )
            )
        for choice_index, choice in enumerate(choices):
            choice_path = f"{option_path}.choices.{choice_index}"
            _max_length(problems, f"{choice_path}.name", choice.get("name"), CHOICE_NAME_MAX, required=True)
            if isinstance(choice.get("value"), str):
                _max_length(problems, f"{choice_path}.value", choice.get("value"), CHOICE_VALUE_MAX)
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _check_options(problems, f"{option_path}.options", option.get("options") or [])
            continue
        if option.get("required"):
            if seen_optional:
                problems.append(
                    Problem(
                        f"{option_path}.required",
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            seen_optional = True


def _command_chars(command: dict[str, Any]) -> int:
    def count(options: list[dict[str, Any]]) -> int:
        total = 0
        for option in options:
            total += len(option.get("name") or "") + len(option.get("description") or "")
            total += sum(
                len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
                for choice in option.get("choices") or []
            )
            total += count(option.get("options") or [])
        return total

    return (
        len(command.get("name") or "")
        + len(command.get("description") or "")
        + count(command.get("options") or [])
    )


def check_command(command: Any, prefix: str = "") -> list[Problem]:
    if not isinstance(command, dict):
        return [Problem(prefix, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")]
    problems: list[Problem] = []
    kind = command.get("type", CHAT_INPUT)
    if kind not in COMMAND_TYPES:
        problems.append(
            Problem(_join(prefix, "type"), "BASE_TYPE_CHOICES", f"Value must be one of {COMMAND_TYPES}.")
        )
    chat_input = kind == CHAT_INPUT
    _check_name(problems, _join(prefix, "name"), command.get("name"), chat_input=chat_input)
    if chat_input:
        _max_length(
            problems,
            _join(prefix, "description"),
            command.get("description"),
            COMMAND_DESCRIPTION_MAX,
            required=True,
        )
        _check_options(problems, _join(prefix, "options"), command.get("options") or [])
    elif command.get("description"):
        problems.append(
            Problem(
                _join(prefix, "description"),
                "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                "Context menu commands cannot have a description",
            )
        )
    if not chat_input and command.get("options"):
        problems.append(
            Problem(
                _join(prefix, "options"),
                "APPLICATION_COMMAND_OPTIONS_INVALID",
                "Only chat input commands can have options",
            )
        )
    if _command_chars(command) > COMMAND_TOTAL_CHARS_MAX:
        problems.append(
            Problem(
                prefix,
                "APPLICATION_COMMAND_TOO_LARGE",
                f"Command exceeds maximum size ({COMMAND_TOTAL_CHARS_MAX})",
            )
        )
    permissions = command.get("default_member_permissions")
    if permissions is not None and not str(permissions).isdigit():
        problems.append(
            Problem(
                _join(prefix, "default_member_permissions"),
                "BASE_TYPE_STRING",
                "Must be a permission bit set.",
            )
        )
    return problems


def check_command_list(commands: Any) -> list[Problem]:
    if not isinstance(commands, list):
        return [Problem("", "BASE_TYPE_ARRAY", "Must be an array.")]
    problems: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    per_type: dict[int, int] = {}
    for index, command in enumerate(commands):
        problems.extend(check_command(command, str(index)))
        if not isinstance(command, dict):
            continue
        key = (command.get("type", CHAT_INPUT), command.get("name"))
        if key in seen:
            problems.append(
                Problem(
                    f"{index}.name",
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Duplicate command name {key[1]!r}",
                )
            )
        seen.add(key)
        per_type[key[0]] = per_type.get(key[0], 0) + 1
    if per_type.get(CHAT_INPUT, 0) > COMMANDS_PER_SCOPE_MAX:
        problems.append(
            Problem(
                "", "BASE_TYPE_MAX_LENGTH", f"Must be {COMMANDS_PER_SCOPE_MAX} or fewer chat input commands."
            )
        )
    for kind, what in ((USER_COMMAND, "user"), (MESSAGE_COMMAND, "message")):
        if per_type.get(kind, 0) > CONTEXT_MENUS_PER_SCOPE_MAX:
            problems.append(
                Problem(
                    "",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {CONTEXT_MENUS_PER_SCOPE_MAX} or fewer {what} commands.",
                )
            )
    return problems


def check_thread_name(name: Any, path: str = "name") -> list[Problem]:
    problems: list[Problem] = []
    _max_length(problems, path, name, THREAD_NAME_MAX, required=True)
    return problems


def form_error(problems: list[Problem]) -> dict[str, Any]:
    """Discord's 400 body: {"code": 50035, "message": "Invalid Form Body", "errors": {<path nested>:
    {"_errors": […]}}}."""
    errors: dict[str, Any] = {}
    for problem in problems:
        node = errors
        for part in [part for part in problem.path.split(".") if part]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": problem.code, "message": problem.message})
    return {"code": 50035, "message": "Invalid Form Body", "errors": errors}
