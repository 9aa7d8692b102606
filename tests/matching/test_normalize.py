"""Each normalization rule, on its own."""

from __future__ import annotations

import pytest

from bot.matching.normalize import HEAD_CHARS, TAIL_ERROR_CHARS, canonical_code, clean, focus, normalize


def words(text: str) -> str:
    return normalize(text).text


def test_case_is_folded() -> None:
    assert words("IMAP Port") == words("imap port") == "imap port"


def test_zero_width_and_direction_marks_do_not_split_words() -> None:
    assert words("ima\u200bp po\u200drt\ufeff\u2060") == "imap port"
    assert words("\u200b\u200c\u200d") == ""


def test_fullwidth_letters_become_ascii() -> None:
    assert words("\uff29\uff2d\uff21\uff30") == "imap"  # fullwidth IMAP


def test_code_fences_keep_the_pasted_text_but_not_the_language_tag() -> None:
    assert words("```python\nConnection refused\n```") == "connection refused"
    assert words("```\n```") == ""


def test_markdown_emphasis_inline_code_and_quotes_are_dropped() -> None:
    assert words("**Outlook** says `Cannot connect` > “really”") == "outlook says cannot connect really"


def test_markdown_links_keep_their_text_and_lose_the_address() -> None:
    assert words("see [the guide](https://example.com/a?b=c)") == "see the guide"


def test_urls_are_removed() -> None:
    assert words("go to https://support.google.com/mail/?p=BadCredentials now") == "go to now"
    assert words("www.example.com/help then") == "then"


def test_discord_mentions_channels_and_custom_emoji_are_removed() -> None:
    assert words("<@123456789> <@!42> <#99> <:blob:123> <a:dance:456> hi :thumbsup:") == "hi"


def test_host_names_and_addresses_are_taken_out_and_kept_aside() -> None:
    norm = normalize("Server imap.example.com has disconnected; mail from bob@gmail.com via 192.0.2.7")
    assert norm.text == "server has disconnected mail from via"
    assert norm.domains == ("gmail.com", "imap.example.com")


def test_dotted_code_names_are_not_host_names() -> None:
    norm = normalize("smtplib.SMTPServerDisconnected and ssl.SSLError")
    assert norm.domains == ()
    assert "smtplib" in norm.tokens
    assert "sslerror" in norm.tokens


def test_a_port_after_a_host_survives_as_a_number() -> None:
    assert normalize("connect ECONNREFUSED mail.example.com:587").numbers == (587,)
    assert normalize("[2001:db8::1]:993 and 203.0.113.5:465").numbers == (993, 465)


def test_long_camel_case_names_also_read_as_words() -> None:
    assert words("SMTPServerDisconnected") == "smtpserverdisconnected smtp server disconnected"
    assert words("iCloud macOS") == "icloud macos"  # short brand names stay whole


def test_contractions_and_possessives_stay_one_word() -> None:
    assert words("doesn't") == words("doesn\u2019t") == "doesnt"
    assert words("gmail's imap") == "gmail imap"


def test_chinese_and_japanese_runs_read_as_pairs_of_characters() -> None:
    # No spaces between words: the clause would be one token, and "授权码" inside it would meet nothing.
    pairs = ("邮箱", "箱认", "认证", "证失", "失败", "请用", "用授", "授权", "权码")
    assert normalize("邮箱认证失败\uff0c请用授权码").tokens == pairs  # a full-width comma between two clauses
    assert normalize("qq邮箱 163邮箱").tokens == ("qq", "邮箱", "163", "邮箱")
    assert normalize("メール送信").tokens == ("メー", "ール", "ル送", "送信")
    assert normalize("메일 발송 실패").tokens == ("메일", "발송", "실패")
    assert normalize("发 smtp error").tokens == ("发", "smtp", "error")  # one character stays itself


def test_underscores_separate_words() -> None:
    assert words("[SSL: WRONG_VERSION_NUMBER]") == "ssl wrong version number"


def test_python_traceback_frames_are_dropped() -> None:
    text = 'Traceback (most recent call last):\n  File "a.py", line 3, in <module>\nssl.SSLError: bad (_ssl.c:1002)'
    assert words(text) == "ssl sslerror bad"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("0x800CCC0E", "0x800ccc0e"),
        ("0X800ccc0e", "0x800ccc0e"),
        ("800CCC0E", "0x800ccc0e"),
        ("8004210B", "0x8004210b"),
        ("535 5.7.8", "535 5.7.8"),
        ("535-5.7.8", "535 5.7.8"),
        ("535, b'5.7.8", "535 5.7.8"),
        ("  5.7.139 ", "5.7.139"),
    ],
)
def test_error_codes_have_one_spelling(written: str, canonical: str) -> None:
    assert canonical_code(written) == canonical


def test_error_codes_are_found_in_text_whatever_their_form() -> None:
    assert normalize("Error (0X800CCC0E) in Outlook").codes == {"0x800ccc0e"}
    assert normalize("got 800ccc0e").codes == {"0x800ccc0e"}
    assert normalize("smtplib.SMTPAuthenticationError: (535, b'5.7.8 Username").codes == {
        "535 5.7.8",
        "5.7.8",
    }
    assert normalize("534-5.7.9 Application-specific password").codes == {"534 5.7.9", "5.7.9"}
    # A version number is not a status code, and an enhanced code keeps all its digits.
    assert normalize("python 3.11.4 and tls 1.2").codes == frozenset()
    assert normalize("530 5.7.57 Client not authenticated").codes == {"530 5.7.57", "5.7.57"}


def test_code_tokens_stay_whole() -> None:
    assert normalize("535 5.7.8 nope").tokens == ("535", "5.7.8", "nope")
    assert normalize("0x800CCC0E").tokens == ("0x800ccc0e",)


def test_non_latin_letters_are_kept() -> None:
    assert words("Яндекс почта") == "яндекс почта"


def test_emoji_only_and_whitespace_only_give_nothing() -> None:
    assert normalize("😀🙏👍").empty
    assert normalize(" \n\t ").empty
    assert normalize("").empty


def test_long_messages_are_cut_to_the_head_and_the_error_looking_lines() -> None:
    chatter = "bla bla nothing to see here\n" * 2000
    text = "my outlook stopped working\n" + chatter + "Error 0x800CCC0E cannot connect\n" + chatter
    kept = focus(text)
    assert len(kept) <= HEAD_CHARS + TAIL_ERROR_CHARS + 2
    assert kept.startswith("my outlook stopped working")
    assert "0x800CCC0E" in kept
    assert normalize(text).codes == {"0x800ccc0e"}


def test_huge_input_is_bounded() -> None:
    cleaned, _ = clean("imap port error " * 50_000)  # 800,000 characters
    assert len(cleaned) <= HEAD_CHARS + TAIL_ERROR_CHARS + 2
