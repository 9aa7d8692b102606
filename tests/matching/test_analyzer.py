"""The analyzer's reading of a message: here, which error codes are a sign that it is about mail."""

from __future__ import annotations

import pytest

from bot.matching.analyzer import Analyzer, ProviderNames
from bot.matching.normalize import normalize

ANALYZER = Analyzer(ProviderNames.build(()), {})


def mail_signals(text: str) -> int:
    return ANALYZER.analyze(normalize(text), correct=False).mail_signals


@pytest.mark.parametrize(
    "code",
    ["0x800CCC0E", "800ccc0e", "0x8004010F", "0x8004210A", "535 5.7.8", "5.7.139", "(535, b'5.7.8"],
)
def test_outlook_mapi_and_smtp_codes_are_signs_of_mail(code: str) -> None:
    assert mail_signals(f"it says {code}") == 1


@pytest.mark.parametrize("code", ["0x80092012", "0x80092013", "0x80070005", "0x80004005"])
def test_other_windows_error_codes_are_not(code: str) -> None:
    assert mail_signals(f"it says {code}") == 0
