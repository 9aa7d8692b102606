"""The matcher on a small fixture knowledge base: ranking, codes, typos, domain gate, bad input, reload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import KnowledgeBase
from bot.knowledge.service import KnowledgeService
from bot.matching.index import Index
from bot.matching.matcher import FLOOR, Matcher, MatchResult, Scored, stem
from bot.matching.normalize import normalize
from bot.matching.tuning import FEATURES, LEVELS, answer_probability
from bot.settings import Confidence
from tests.matching.conftest import FIXTURE_KB

REPO = Path(__file__).resolve().parents[2]


def best_id(matcher: Matcher, text: str) -> str | None:
    best = matcher.match(text).best
    return best.entry.id if best else None


# --- Ranking ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("imap port?", "imap-ports"),
        ("which port does IMAP use", "imap-ports"),
        ("what is 587 for", "smtp-port-587"),
        ("gmail smtp server", "provider-gmail"),
        ("Cannot connect to server", "cannot-connect"),
        ("Connection to server mail.example.net timed out.", "connection-timeout"),
    ],
)
def test_questions_and_errors_find_their_entry(matcher: Matcher, text: str, expected: str) -> None:
    result = matcher.match(text)
    assert result.best is not None
    assert result.best.entry.id == expected
    assert result.confident


def test_scores_are_0_to_100_with_one_decimal_best_first(matcher: Matcher) -> None:
    result = matcher.match("imap port and smtp 587", limit=10)
    scores = [s.score for s in result.ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(FLOOR <= s <= 100 and round(s, 1) == s for s in scores)


def test_limit_caps_the_ranking(matcher: Matcher) -> None:
    assert len(matcher.match("port", limit=2).ranked) <= 2
    assert len(matcher.match("imap smtp port connection server", limit=1).ranked) == 1


def test_word_order_separates_phrasings_with_the_same_words(matcher: Matcher) -> None:
    # Both entries share "connect" and "server"; only the exact error text should win outright.
    assert best_id(matcher, "Cannot connect to server") == "cannot-connect"
    assert best_id(matcher, "Connection to server timed out") == "connection-timeout"


# --- Error codes and ports --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["0x800CCC0E", "0x800ccc0e", "0X800Ccc0E", "800ccc0e", "Error (0x800CCC0E)"])
def test_outlook_codes_match_whatever_their_case(matcher: Matcher, code: str) -> None:
    result = matcher.match(code)
    assert result.best is not None
    assert result.best.entry.id == "outlook-0x800ccc0e"
    assert result.confident


def test_spellings_of_one_code_score_the_same(matcher: Matcher) -> None:
    spellings = ["0x800CCC0E", "0x800ccc0e", "0X800Ccc0E", "800CCC0E", "`0x800ccc0e`"]
    results = [[(s.entry.id, s.score) for s in matcher.match(code).ranked] for code in spellings]
    assert all(result == results[0] for result in results)


@pytest.mark.parametrize(
    "text",
    [
        "535 5.7.8",
        "535-5.7.8 Username and Password not accepted",
        "SMTPAuthenticationError: (535, b'5.7.8 Nope')",
    ],
)
def test_smtp_reply_codes_match_in_any_printed_form(matcher: Matcher, text: str) -> None:
    assert best_id(matcher, text) == "auth-failed-535"


def test_the_full_enhanced_code_decides_between_entries_sharing_a_reply_code(matcher: Matcher) -> None:
    # Both fixture entries list "535"; 5.7.139 belongs to one of them only.
    result = matcher.match("535 5.7.139 Authentication unsuccessful")
    assert result.best is not None
    assert result.best.entry.id == "m365-auth-disabled"
    others = {s.entry.id: s.score for s in result.ranked[1:]}
    assert others.get("auth-failed-535", 0) < result.best.score - 10


def test_a_port_number_alone_is_a_strong_signal(matcher: Matcher) -> None:
    assert best_id(matcher, "993?") == "imap-ports"
    assert best_id(matcher, "port 587") == "smtp-port-587"


def test_a_port_paired_with_the_wrong_security_finds_the_mismatch_entry(matcher: Matcher) -> None:
    assert best_id(matcher, "STARTTLS with 993 fails") == "port-mismatch"
    assert best_id(matcher, "I picked SSL for port 143") == "port-mismatch"
    # The right pairing is a question about the port itself.
    assert best_id(matcher, "starttls on 587") == "smtp-port-587"


# --- Typos ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("imap prot", "imap-ports"),  # swapped letters in a short word
        ("wrong verison numbr smtp", "wrong-version-number"),
        ("gmial imap setings", "provider-gmail"),
        ("emial cliant canot conect to sever", "cannot-connect"),
        ("smpt 587", "smtp-port-587"),
    ],
)
def test_typos_are_tolerated(matcher: Matcher, text: str, expected: str) -> None:
    assert best_id(matcher, text) == expected


def test_everyday_words_are_not_corrected_into_knowledge_words(fixture_kb: KnowledgeBase, matcher: Matcher) -> None:
    # "main" is one letter from "mail"; it must not turn a sentence into a mail question.
    assert not matcher.match("main menu").confident
    # "show" is one letter from "how"; "me" is a filler word.
    analyzer = Index(fixture_kb).analyzer
    assert analyzer.analyze(normalize("show me"), correct=True).terms == ("show",)


# --- Long messages ----------------------------------------------------------------------------------------


def test_an_error_buried_in_chatter_is_found(matcher: Matcher) -> None:
    text = (
        "hey everyone, hope you're all doing well. so I wrote a little script last weekend to send our "
        "newsletter and since this morning it dies with [SSL: WRONG_VERSION_NUMBER] wrong version number "
        "every single time. my friend thinks it's the provider. any idea what I should look at? thanks!!"
    )
    result = matcher.match(text)
    assert result.best is not None
    assert result.best.entry.id == "wrong-version-number"
    assert result.confident


def test_an_error_after_many_kilobytes_of_chatter_is_still_read(matcher: Matcher) -> None:
    chatter = "so anyway the weather was nice and we went out for a walk\n" * 400
    result = matcher.match("my mail stopped\n" + chatter + "Outlook: error 0x800CCC0E\n")
    assert result.best is not None
    assert result.best.entry.id == "outlook-0x800ccc0e"


# --- Staying silent ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["thanks!", "lol", "good morning", "ok", "test", "brb", "how do I center a div"])
def test_chatter_is_left_alone(matcher: Matcher, text: str) -> None:
    for level in Confidence:
        assert not matcher.match(text, level=level).confident


@pytest.mark.parametrize(
    "text",
    [
        "my minecraft server says cannot connect to server",
        "ssh port 22 connection refused",
        "postgres port 5432 timeout",
        "RDP 3389 blocked",
        "nginx wrong version number on 443",
        "VPN connection timed out",
    ],
)
def test_off_domain_text_is_never_answered_unasked(matcher: Matcher, text: str) -> None:
    result = matcher.match(text, level=Confidence.RELAXED)
    assert not result.confident
    # Asked explicitly, the matcher still ranks what it has: the decision is separate from the ranking.
    assert isinstance(result.ranked, tuple)


def test_the_same_words_about_mail_are_answered(matcher: Matcher) -> None:
    assert not matcher.match("minecraft: Cannot connect to server").confident
    assert matcher.match("Outlook: Cannot connect to server").confident


def test_an_error_other_programs_print_is_answered_unasked_only_with_a_sign_of_mail(
    tmp_path: Path, matcher: Matcher
) -> None:
    bare = "[SSL: WRONG_VERSION_NUMBER] wrong version number"
    assert matcher.match(bare).confident  # the fixture entry does not say that other programs print it
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, root)
    path = root / "entries" / "wrong-version-number.md"
    path.write_text(path.read_text(encoding="utf-8").replace("tags:", "needs_mail_context: true\ntags:", 1), "utf-8")
    flagged = Matcher(load_knowledge(root))
    result = flagged.match(bare, level=Confidence.RELAXED)
    # Still ranked first (asked directly, the bot offers it), but not answered unasked, and the reply can say why.
    assert result.best is not None
    assert result.best.entry.id == "wrong-version-number"
    assert not result.confident
    assert result.wants_mail_context
    # A mail word, port, client, server or library name is the sign of mail.
    for text in (f"smtplib: {bare}", f"port 465 {bare}", f"Outlook: {bare}", f"eM Client: {bare}", f"mailcow {bare}"):
        about_mail = flagged.match(text)
        assert about_mail.confident, text
        assert not about_mail.wants_mail_context


# --- Confidence levels and suggestions --------------------------------------------------------------------


def test_stricter_levels_never_answer_more(matcher: Matcher) -> None:
    texts = [
        "imap port",
        "gmail smtp",
        "Cannot connect to server",
        "connection problem with email",
        "port for mail",
        "ssl",
        "0x800ccc0e",
        "smtp password rejected",
        "my email does not work",
    ]
    for text in texts:
        strict, normal, relaxed = (matcher.match(text, level=level).confident for level in Confidence)
        assert not strict or normal, text
        assert not normal or relaxed, text


def test_a_message_without_any_mail_word_needs_more_at_strict(matcher: Matcher) -> None:
    # "Cannot connect to server" is an exact error text but says nothing about mail.
    assert matcher.match("Cannot connect to server", level=Confidence.NORMAL).confident
    assert not matcher.match("Cannot connect to server", level=Confidence.STRICT).confident
    assert matcher.match("email: Cannot connect to server", level=Confidence.STRICT).confident


def test_suggestions_exclude_the_best_and_hold_at_most_four(matcher: Matcher) -> None:
    result = matcher.match("imap smtp port server connection ssl starttls", limit=10)
    assert result.best is not None
    assert result.best not in result.suggestions
    assert len(result.suggestions) <= 4
    assert result.suggestions == result.ranked[1:5]


def test_when_nothing_reaches_the_floor_the_nearest_are_offered(matcher: Matcher) -> None:
    result = matcher.match("the mail app on my tablet feels sluggish")
    assert result.best is None
    assert not result.confident
    assert result.suggestions
    assert all(s.score < FLOOR for s in result.suggestions)


def test_match_result_properties() -> None:
    entry_a = Scored(entry=None, score=80.0)  # type: ignore[arg-type]
    result = MatchResult(query="q", ranked=(entry_a,), confident=True)
    assert result.best is entry_a
    assert result.suggestions == ()
    empty = MatchResult(query="q", ranked=(), confident=False, near=(entry_a,))
    assert empty.best is None
    assert empty.suggestions == (entry_a,)


# --- Bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t  ",
        "\u200b" * 500,
        "😀" * 300,
        "```\n```",
        "```python\n\n```",
        "\x00\x01\x02\x7f",
        "a" * 25_000,
        "imap " * 20_000,
        "<@123456789012345678>",
        "[](https://example.com)",
    ],
)
def test_bad_input_gives_a_sensible_result(matcher: Matcher, text: str) -> None:
    for level in Confidence:
        result = matcher.match(text, level=level)
        assert isinstance(result, MatchResult)
        assert result.query == text
    assert isinstance(matcher.explain(text), dict)


@pytest.mark.parametrize(
    "text",
    [
        "🙂 " * 5000 + "outlook says 0x800CCC0E",
        "ok " * 3000 + "then smtplib said (535, b'5.7.8 Username and Password not accepted') " + "ok " * 3000,
    ],
    ids=["code-at-the-end-of-one-long-line", "error-in-the-middle-of-one-long-line"],
)
def test_an_error_buried_in_one_overlong_line_is_found(matcher: Matcher, text: str) -> None:
    best = matcher.match(text).best
    assert best is not None
    assert best.entry.id in {"outlook-0x800ccc0e", "auth-failed-535"}
    assert ("0x800CCC0E" in text) == (best.entry.id == "outlook-0x800ccc0e")


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b", "😀😀😀", "```\n```", "\x00\x01"])
def test_empty_looking_input_matches_nothing(matcher: Matcher, text: str) -> None:
    result = matcher.match(text)
    assert result.ranked == ()
    assert result.suggestions == ()
    assert not result.confident


def test_a_huge_paste_with_the_error_at_the_top_is_answered(matcher: Matcher) -> None:
    text = "0x800CCC0E\n" + "x" * 30_000
    result = matcher.match(text)
    assert result.best is not None
    assert result.best.entry.id == "outlook-0x800ccc0e"


# --- Determinism, immutability, reload --------------------------------------------------------------------

PROBES = [
    "imap port?",
    "Cannot connect to server",
    "gmial smtp",
    "535 5.7.8",
    "ssl on 587",
    "lol",
    "outlok 0x800ccc0e",
]


def snapshot_of(matcher: Matcher) -> list[object]:
    out: list[object] = []
    for text in PROBES:
        result = matcher.match(text, limit=10)
        out.append(([(s.entry.id, s.score) for s in result.ranked], result.confident, len(result.suggestions)))
    return out


def test_results_are_deterministic_within_a_process(fixture_kb: KnowledgeBase, matcher: Matcher) -> None:
    first = snapshot_of(matcher)
    assert snapshot_of(matcher) == first
    assert snapshot_of(Matcher(fixture_kb)) == first


def test_results_do_not_depend_on_hash_randomisation(matcher: Matcher) -> None:
    script = (
        "import json, sys; from pathlib import Path; "
        "from bot.knowledge.loader import load_knowledge; from bot.matching.matcher import Matcher; "
        "from tests.matching.test_matcher import snapshot_of; "
        f"print(json.dumps(snapshot_of(Matcher(load_knowledge(Path({str(FIXTURE_KB)!r}))))))"
    )
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(done.stdout))
    expected = json.loads(json.dumps(snapshot_of(matcher)))
    assert outputs[0] == outputs[1] == expected


def test_matching_leaves_the_index_unchanged(fixture_kb: KnowledgeBase) -> None:
    fresh = Matcher(fixture_kb)
    before = snapshot_of(fresh)
    for text in ["x" * 10_000, "thunderbrid gmial 0x800ccc0f", "😀", "ssl on 993 " * 100]:
        fresh.match(text)
        fresh.explain(text)
    assert snapshot_of(fresh) == before


@pytest.mark.parametrize("text", ["imap port?", "Cannot connect to server", "gmial smtp", "535 5.7.8", "ssl on 587"])
def test_explain_shows_what_match_decides_on(matcher: Matcher, text: str) -> None:
    # benchmarks/matcher_calibrate.py fits the answer model on these features: they must be the ones `match` reads.
    explained = matcher.explain(text)
    result = matcher.match(text)
    assert result.best is not None
    assert explained["top"][0] == (result.best.entry.id, result.best.score)
    assert tuple(explained["features"]) == FEATURES
    probability = answer_probability(tuple(explained["features"].values()))
    assert result.confident == (probability >= LEVELS[Confidence.NORMAL].probability)


def test_a_matcher_has_no_public_way_to_change_it(matcher: Matcher) -> None:
    public = {name for name in dir(matcher) if not name.startswith("_")}
    assert public == {"entries", "explain", "inputs", "match", "read", "reranker"}
    with pytest.raises(AttributeError):
        matcher.reranker = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        matcher.entries = ()  # type: ignore[misc]


def test_a_reload_swaps_the_index_and_old_readers_keep_theirs(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, root)
    service = KnowledgeService(root)
    old = service.current
    assert best_id(old.matcher, "pop3 mailbox locked by another client") != "pop3-in-use"

    (root / "entries" / "pop3-in-use.md").write_text(
        "---\ntitle: POP3 mailbox in use\nasks:\n  - pop3 mailbox locked\nerrors:\n"
        '  - "-ERR [IN-USE] Mailbox is locked"\ntags: [pop3]\nsources:\n  - title: Fixture\n'
        "    url: https://example.com/fixture\n---\n"
        "Close the other client.\n",
        encoding="utf-8",
    )
    (root / "entries" / "imap-ports.md").unlink()
    (root / "ports.yaml").write_text(
        (root / "ports.yaml").read_text(encoding="utf-8").replace("entry: imap-ports", "entry: smtp-port-587"),
        encoding="utf-8",
    )
    report = service.reload()

    new = service.current
    assert new is not old
    assert new.matcher is not old.matcher
    assert report.entries == len(new.knowledge.entries)
    assert best_id(new.matcher, "pop3 mailbox locked by another client") == "pop3-in-use"
    assert best_id(new.matcher, "-ERR [IN-USE] Mailbox is locked") == "pop3-in-use"
    assert "imap-ports" not in {s.entry.id for s in new.matcher.match("imap port", limit=20).ranked}
    # A reader holding the old snapshot still gets the old answers, from the old index.
    assert best_id(old.matcher, "imap port") == "imap-ports"
    assert best_id(old.matcher, "pop3 mailbox locked by another client") != "pop3-in-use"


def test_two_knowledge_bases_give_two_independent_matchers(tmp_path: Path, fixture_kb: KnowledgeBase) -> None:
    other_root = tmp_path / "other"
    shutil.copytree(FIXTURE_KB, other_root)
    for path in (other_root / "entries").glob("*.md"):
        if path.stem not in {"imap-ports", "smtp-port-587", "provider-gmail", "cannot-connect"}:
            path.unlink()
    for table in ("ports.yaml", "providers.yaml"):
        text = (other_root / table).read_text(encoding="utf-8")
        for gone in ("outlook-0x800ccc0e", "m365-auth-disabled"):
            text = text.replace(f"entry: {gone}", "entry: cannot-connect")
        (other_root / table).write_text(text, encoding="utf-8")
    small = Matcher(load_knowledge(other_root))
    big = Matcher(fixture_kb)
    assert len(small.entries) == 4
    assert best_id(big, "0x800ccc0e") == "outlook-0x800ccc0e"
    assert best_id(small, "0x800ccc0e") != "outlook-0x800ccc0e"
    assert best_id(small, "imap port") == best_id(big, "imap port") == "imap-ports"


def test_an_empty_knowledge_base_matches_nothing() -> None:
    empty = Matcher(KnowledgeBase(entries={}))
    assert empty.match("imap port").ranked == ()
    assert empty.explain("imap")["top"] == []


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [
        ("connecting", "connect"),
        ("connection", "connect"),
        ("connected", "connect"),
        ("address", "address"),
        ("ios", "ios"),
        ("policies", "policy"),
        ("ports", "port"),
        ("993", "993"),
    ],
)
def test_stemming(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


# Windows prints its revocation error the same for git, curl and mail apps; chat apps notify late and photo apps
# bring deleted pictures back too. Only the mail form of each is answered unasked.
REVOCATION_ERROR = "schannel: next InitializeSecurityContext failed: CRYPT_E_NO_REVOCATION_CHECK (0x80092012)"


@pytest.mark.parametrize(
    ("any_app", "mail_app", "entry"),
    [
        (
            f"git clone over https fails: {REVOCATION_ERROR}",
            f"MailKit SmtpClient.Connect to smtp.office365.com:587 fails: {REVOCATION_ERROR}",
            "cert-revocation-check-failed",
        ),
        (
            "notifications for new messages show up an hour late on my samsung",
            "notifications for new emails show up an hour late on my samsung",
            "notifications-delayed",
        ),
        (
            "things i delete on my phone come back on my laptop",
            "emails i delete on my phone come back in outlook on my laptop",
            "deleted-mail-other-devices",
        ),
        (
            "my contacts don't sync to the new iphone",
            "contacts from my gmail account don't show up in thunderbird",
            "calendar-contacts-not-in-imap",
        ),
    ],
)
def test_an_error_or_symptom_any_program_shows_needs_a_sign_of_mail(
    shipped_matcher: Matcher, any_app: str, mail_app: str, entry: str
) -> None:
    bare = shipped_matcher.match(any_app)
    assert bare.best is not None
    assert bare.best.entry.id == entry
    assert not bare.confident
    assert bare.wants_mail_context
    about_mail = shipped_matcher.match(mail_app)
    assert about_mail.best is not None
    assert about_mail.best.entry.id == entry
    assert about_mail.confident


@pytest.mark.parametrize(
    "text",
    ["客户端登录提示授权码错误怎么办", "用foxmail发信一直提示需要授权码", "网易邮箱在outlook里登录失败要授权码吗"],
)
def test_a_chinese_post_meets_the_phrasings_its_words_are_in(shipped_kb: KnowledgeBase, text: str) -> None:
    """The lexical reading alone finds the entry whose phrasings hold "授权码" inside a longer run of characters
    (read as one token, the run met nothing)."""
    best = Matcher(shipped_kb, reranker=None).match(text).best
    assert best is not None
    assert best.entry.id == "chinese-mail-authorization-code"
