"""From Tesseract's text to a question: chrome dropped, blocks joined, misread error codes mended."""

from __future__ import annotations

import pytest

from bot.ocr.text import MAX_CHARS, is_chrome, mend_codes, screenshot_question


@pytest.mark.parametrize(
    "line",
    ["OK", "Cancel", "OK  Cancel", "Cancel | OK", "Settings OK", "Edit details", "Don't Allow", "| |", "@",
     "—  □  \u00d7"],
)
def test_buttons_and_icon_noise_are_chrome(line: str) -> None:
    assert is_chrome(line)


@pytest.mark.parametrize(
    "line",
    ["Cannot Get Mail", "OK, the connection to the server failed", "530 5.7.0 Authentication Required", "No [AUTH]"],
)
def test_text_with_words_is_kept(line: str) -> None:
    assert not is_chrome(line)


@pytest.mark.parametrize(
    ("read", "meant"),
    [
        ("Ox800CCCOE", "0x800CCC0E"),
        ("0x800CCCOE", "0x800CCC0E"),
        ("ox8004210@", "0x80042100"),
        ("error (0X800ccc0f):", "error (0x800CCC0F):"),
        ("0x800CCC0E", "0x800CCC0E"),
    ],
)
def test_misread_outlook_codes_are_mended(read: str, meant: str) -> None:
    assert mend_codes(read) == meant


def test_words_that_only_look_like_codes_are_left_alone() -> None:
    assert mend_codes("Oxford 0xDEADBEEFCAFE boxOOOOOOOO") == "Oxford 0xDEADBEEFCAFE boxOOOOOOOO"


def test_an_alert_becomes_one_question() -> None:
    read = "9:41\n\nCannot Get Mail\n\nThe connection to the\nserver failed.\n\nOK\n"
    assert screenshot_question(read) == "9:41 — Cannot Get Mail — The connection to the server failed."


def test_a_dialog_keeps_its_message_and_drops_its_buttons() -> None:
    read = (
        "Microsoft Outlook\n\nA\n\nSending reported error (Ox800CCCOF): The\nconnection was interrupted.\n\n"
        "OK   Help\n"
    )
    assert screenshot_question(read) == (
        "Microsoft Outlook — Sending reported error (0x800CCC0F): The connection was interrupted."
    )
    assert "OK" in screenshot_question(read, drop_chrome=False)
    assert "Ox800CCCOF" in screenshot_question(read, mend=False)


def test_nothing_but_chrome_is_nothing() -> None:
    assert screenshot_question("\n\nOK\n\n| Cancel |\n\n") == ""


def test_a_whole_screen_of_text_is_cut() -> None:
    assert len(screenshot_question("535 5.7.8 Username and Password not accepted\n" * 200)) <= MAX_CHARS
