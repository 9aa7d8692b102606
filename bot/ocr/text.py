"""From what Tesseract read to a question: window chrome dropped, lines joined, error codes mended.

Each step is measured on the rendered screenshots (tests/ocr/screenshots.py, benchmarks/ocr.py): without the
chrome rule, button rows ("OK  Cancel", "Settings  OK") and icon noise reach the matcher; without the code rule,
an Outlook code read as `Ox800CCCOE` is not the code `0x800CCC0E`.
"""

from __future__ import annotations

import re

# The most text taken from one image: a screenshot of a whole log says what matters in its first lines.
MAX_CHARS = 2000

# Buttons and window controls of mail programs and phone alerts: a line made only of these is chrome.
BUTTON_WORDS = frozenset(
    {
        "ok", "cancel", "close", "details", "help", "retry", "try again", "settings", "yes", "no", "continue",
        "dismiss", "ignore", "later", "not now", "done", "allow", "don't allow", "learn more", "more info",
        "show details", "hide details", "edit details", "edit settings", "account settings", "view certificate", "back",
        "send", "stop", "skip", "next", "apply", "minimize", "maximize", "open", "reply",
    }
)  # fmt: skip
_BUTTON_ROW = re.compile(
    r"(?:\s*\b(?:" + "|".join(sorted((re.escape(w) for w in BUTTON_WORDS), key=len, reverse=True)) + r")\b\s*)+",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_BLANK_LINE = re.compile(r"\n\s*\n")
# An HRESULT as OCR misreads it: O, o, Q, D or @ for 0 in its eight hex digits, and O for the 0 of 0x.
_OCR_HEX_CODE = re.compile(r"\b[0Oo][xX]((?:[0-9A-Fa-f]|[OoQD@]){8})(?![0-9A-Za-z@])")
_ZEROISH = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "@": "0"})


def is_chrome(line: str) -> bool:
    """Buttons, window controls and icon noise: a line of button words only, or with hardly a letter."""
    alnum = sum(char.isalnum() for char in line)
    if alnum < 2 or alnum < len(line.replace(" ", "")) / 2:
        return True
    return _BUTTON_ROW.fullmatch(line.replace("|", " ")) is not None


def mend_codes(text: str) -> str:
    """`Ox800CCCOE` → `0x800CCC0E`: the misreadings of 0 in an Outlook error code."""
    return _OCR_HEX_CODE.sub(lambda m: "0x" + m.group(1).translate(_ZEROISH).upper(), text)


def screenshot_question(raw: str, *, drop_chrome: bool = True, mend: bool = True) -> str:
    """The question in Tesseract's text `raw`: "" when nothing but chrome was read. The switches exist for
    benchmarks/ocr.py, which measures what each adds."""
    paragraphs = []
    # Tesseract ends a block of text with a blank line: a dialog's title, its message, its buttons.
    for block in _BLANK_LINE.split(raw):
        lines = (_SPACES.sub(" ", line).strip() for line in block.splitlines())
        kept = [line for line in lines if line and not (drop_chrome and is_chrome(line))]
        if kept:
            paragraphs.append(" ".join(kept))  # a dialog wraps one sentence over several lines
    text = " — ".join(paragraphs)
    if mend:
        text = mend_codes(text)
    return text[:MAX_CHARS].strip()
