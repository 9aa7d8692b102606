"""Turning what a member typed or pasted into comparable text: the same rules for questions and errors.

Every rule removes something that differs between two ways of writing the same thing (case, markdown, quotes,
invisible characters, host names and addresses that vary per user) or makes one spelling of an error code out
of several (`0X800CCC0E`, `800ccc0e`; `535-5.7.8`, `(535, b'5.7.8`). The host names and e-mail domains taken
out of the text are kept aside: they tell which provider someone uses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Work stays bounded on huge pastes: read at most HARD_LIMIT characters, keep the head of the message and,
# from the rest, only the lines that look like errors (a log pasted after a paragraph of chatter).
HARD_LIMIT = 64_000
HEAD_CHARS = 4_000
TAIL_ERROR_CHARS = 4_000

# Zero-width and direction marks, soft hyphen, BOM: invisible, yet they split words for a computer.
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# Python traceback scaffolding: the frames say where, not what; the last line holds the error.
_TRACEBACK = re.compile(
    r"^\s*Traceback \(most recent call last\):\s*$|^\s*File \"[^\"\n]*\", line \d+.*$|\(_ssl\.c:\d+\)",
    re.MULTILINE,
)
_FENCE = re.compile(r"```[^\n`]*\n?|```")  # the fence and its language tag; the pasted text inside stays
_DISCORD_MARKUP = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:\d+(?::\w)?)>")  # mentions, channels, emoji
_SHORTCODE = re.compile(r"(?<!\w):[a-z0-9_+-]{2,32}:(?!\w)")  # :thumbsup:
_MD_LINK = re.compile(r"\[([^\]\n]{0,200})\]\((?:[^)\s]{0,2000})\)")
_URL = re.compile(r"\b(?:https?|ftp|wss?)://\S+|\bwww\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]{1,64}@((?:[a-z0-9-]{1,63}\.)+[a-z]{2,24})\b", re.IGNORECASE)
_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(
    r"\[?\b(?=[0-9a-f:]*::|(?:[0-9a-f]{0,4}:){3})[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b\]?", re.IGNORECASE
)
# Host names end in a top-level domain; the list keeps dotted code names (smtplib.SMTPException, ssl.SSLError)
# from being taken for hosts. Two-letter endings are country domains.
_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|io|co|me|app|dev|cloud|email|mail|online|site|tech|xyz|host|"
    "local|lan|home|internal|localdomain|localhost|example|test|invalid|arpa|pro|name|mobi|asia|eu|club|"
    "space|store|systems|network|services|solutions|digital"
)
_HOST = re.compile(rf"\b(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}|[a-z]{{2}})\b", re.IGNORECASE)

# Error codes. Outlook's HRESULTs with or without 0x; SMTP replies with an enhanced status code in any of the
# ways programs print them: `535 5.7.8`, `535-5.7.8`, `(535, b'5.7.8`.
_HEX_CODE = re.compile(r"\b0x([0-9a-f]{8})\b|\b(800ccc[0-9a-f]{2}|8004210[0-9a-f])\b")
_SMTP_CODE = re.compile(r"\b([245]\d\d)(?:[\s,-]|,\s*b?['\"]){1,3}([245]\.\d{1,3}\.\d{1,3})\b")
_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_CAMEL = re.compile(r"(?<=[a-z]{2})(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z]{2})")
_LONG_CAMEL_WORD = re.compile(r"\b[A-Za-z]{10,}\b")
_POSSESSIVE = re.compile(r"(?<=\w)['\u2019]s\b")
_APOSTROPHE = re.compile(r"(?<=\w)['\u2019](?=\w)")
_TOKEN = re.compile(r"0x[0-9a-f]{8}|(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])|[^\W_]+")
# Chinese and Japanese put no spaces between words, so a whole clause would be one token ("邮箱认证失败"): such
# runs, and Korean words, are read as overlapping pairs of characters instead ("邮箱", "箱认", "认证" …), the way
# search engines index these scripts, so that a phrasing's "授权码" meets the same pairs inside a longer run.
_CJK_RUN = re.compile("([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+)")
_ERROR_LINE = re.compile(
    r"error|fail|refused|denied|timed? ?out|exception|unable|cannot|can't|could not|not accepted|invalid|"
    r"0x[0-9a-f]{8}|\b[245]\d\d[ -][245]\.\d|\bssl\b|\btls\b|certificate|-err|\bno \[",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Normalized:
    """A message made comparable. `text` is `tokens` joined by single spaces."""

    text: str
    tokens: tuple[str, ...]
    codes: frozenset[str]  # canonical error codes: "0x800ccc0e", "535 5.7.8", "5.7.8"
    numbers: tuple[int, ...]  # whole numbers that stand alone or follow a host (candidate ports), in order
    domains: tuple[str, ...]  # host names and e-mail domains that were taken out of the text

    @property
    def empty(self) -> bool:
        return not self.tokens


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


def focus(text: str) -> str:
    """The part of a long message worth reading: its head, then the error-looking lines of the rest."""
    if len(text) <= HEAD_CHARS:
        return text
    text = text[:HARD_LIMIT]
    head, rest = text[:HEAD_CHARS], text[HEAD_CHARS:]
    picked: list[str] = []
    budget = TAIL_ERROR_CHARS
    for line in rest.splitlines():
        if budget <= 0:
            break
        found = _ERROR_LINE.search(line)
        if found:
            # An overlong line (a log pasted without line breaks) keeps a window around the error.
            start = max(0, found.start() - budget // 4) if len(line) > budget else 0
            kept = line[start : start + budget]
            picked.append(kept)
            budget -= len(kept)
    return head + "\n" + "\n".join(picked)


def _hex_code(match: re.Match[str]) -> str:
    return "0x" + (match.group(1) or match.group(2))


def _smtp_code(match: re.Match[str]) -> str:
    return f"{match.group(1)} {match.group(2)}"


def canonical_code(code: str) -> str:
    """One spelling per error code: `0X800CCC0E`/`800ccc0e` → `0x800ccc0e`, `535-5.7.8` → `535 5.7.8`."""
    text = code.strip().casefold()
    if match := _HEX_CODE.fullmatch(text):
        return _hex_code(match)
    if match := _SMTP_CODE.fullmatch(text):
        return _smtp_code(match)
    return " ".join(text.split())


def _split_long_camel(text: str) -> str:
    # `SMTPServerDisconnected` also reads as "SMTP Server Disconnected", for whoever types it in words or in
    # lower case; short brand names (iCloud, macOS) stay whole.
    def both(match: re.Match[str]) -> str:
        split = _CAMEL.sub(" ", match.group(0))
        return match.group(0) if split == match.group(0) else f"{match.group(0)} {split}"

    return _LONG_CAMEL_WORD.sub(both, text)


def _take_hosts(text: str, domains: list[str]) -> str:
    def email(match: re.Match[str]) -> str:
        domains.append(match.group(1).casefold())
        return " "

    def host(match: re.Match[str]) -> str:
        domains.append(match.group(0).casefold())
        return " "

    text = _EMAIL.sub(email, text)
    text = _IPV4.sub(" ", text)
    text = _IPV6.sub(" ", text)
    # A port written after a host (`mail.example.com:587`) is left behind as `:587` and read as a number.
    return _HOST.sub(host, text)


def clean(text: str) -> tuple[str, tuple[str, ...]]:
    """Lower-case text without markup, links, addresses or punctuation, and the domains that were removed."""
    text = focus(text)
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    text = _FENCE.sub("\n", text)
    text = _TRACEBACK.sub(" ", text)
    text = _DISCORD_MARKUP.sub(" ", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _split_long_camel(text)
    text = text.casefold()
    text = _SHORTCODE.sub(" ", text)
    domains: list[str] = []
    text = _take_hosts(text, domains)
    text = _SMTP_CODE.sub(lambda m: f" {_smtp_code(m)} ", text)
    text = _HEX_CODE.sub(lambda m: f" {_hex_code(m)} ", text)
    text = _POSSESSIVE.sub("", text)  # gmail's → gmail
    text = _APOSTROPHE.sub("", text)  # doesn't → doesnt, so contractions stay one word
    return text, tuple(dict.fromkeys(domains))


def _cjk_pairs(tokens: list[str]) -> list[str]:
    """`tokens` with each run of CJK characters split into overlapping pairs (one character stays itself)."""
    out: list[str] = []
    for token in tokens:
        if not _CJK_RUN.search(token):
            out.append(token)
            continue
        for i, part in enumerate(_CJK_RUN.split(token)):
            if i % 2 == 0:  # split() puts the runs it found at odd places, the text around them at even ones
                if part:
                    out.append(part)
            elif len(part) == 1:
                out.append(part)
            else:
                out.extend(part[j : j + 2] for j in range(len(part) - 1))
    return out


def normalize(text: str) -> Normalized:
    """Clean `text` and split it into tokens: words, numbers, hex codes, enhanced status codes and CJK pairs."""
    cleaned, domains = clean(text)
    codes = {_smtp_code(m) for m in _SMTP_CODE.finditer(cleaned)}
    codes.update(m.group(1) for m in _ENHANCED.finditer(cleaned))
    codes.update(_hex_code(m) for m in _HEX_CODE.finditer(cleaned))
    tokens = _TOKEN.findall(cleaned.replace("_", " "))
    if _CJK_RUN.search(cleaned):  # one look at the message, not one per token: most messages hold no CJK at all
        tokens = _cjk_pairs(tokens)
    numbers = tuple(int(t) for t in tokens if t.isdigit() and len(t) <= 5 and 0 < int(t) <= 65535)
    return Normalized(" ".join(tokens), tuple(tokens), frozenset(codes), numbers, domains)
