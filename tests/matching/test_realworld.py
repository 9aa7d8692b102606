"""The matcher on real public posts (tests/data/realworld/), at normal confidence, on the shipped knowledge.

The tuning part may be read and tuned on; the check part is only measured here. Both are printed so that the
README can quote them:
    .venv/bin/pytest tests/matching/test_realworld.py -q -rA
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import yaml

from bot.knowledge.loader import dedup_key
from bot.matching.matcher import FLOOR
from tests.matching.realworld import (
    CORPUS,
    KINDS,
    Post,
    assign_split,
    load_posts,
    load_split,
    measure,
    part,
    titles,
)

if TYPE_CHECKING:
    import pytest

    from bot.knowledge.model import KnowledgeBase
    from bot.matching.matcher import Matcher

POSTS = load_posts()
SPLIT = load_split()

# The targets of issue "Answer what real people write" for the check part are top-1 ≥ 92 %, confident and right
# ≥ 88 %, confident but wrong ≤ 2 %, off-domain left alone ≥ 97 %. The matcher does not reach the first two yet
# (README, "Matching quality"); these guards keep what it reaches from slipping back while it is worked on. Each
# round of new threads is harder than the last (end users' vague reports, devices, add-ons, less common languages).
# On all 1,395 covered check posts this release reads 71.8 % / 32.1 % / 1.8 % (previous release, same posts and
# labels: 70.5 % / 31.3 % / 1.9 %); rounds 38-42's 216 read 66.2 % / 25.5 % / 1.9 % (previous release 64.8 % /
# 25.5 % / 1.4 %), the 1,179 older ones 72.8 % / 33.3 % / 1.8 % (previous 71.5 % / 32.3 % / 2.0 %). The guards sit
# a little under the first figures, so that a refit's usual wobble of a few posts does not fail them while a real
# slip does.
TOP1_GUARD = 0.71
CONFIDENT_RIGHT_GUARD = 0.315
CONFIDENT_WRONG_GUARD = 0.02  # this target is met and asserted as the issue states it
OFFDOMAIN_SILENCE_FLOOR = 0.97  # this target is met and asserted as the issue states it
# A title alone, or a bare error line, is how many members ask; off-domain titles left alone were 90.7 % before
# such errors needed a sign of mail, and are 97.2 % now (one title is 0.17 points).
TITLES_OFFDOMAIN_SILENCE_GUARD = 0.96


def test_the_corpus_is_large_real_and_well_formed(shipped_kb: KnowledgeBase) -> None:
    kinds = Counter(p.kind for p in POSTS)
    assert kinds["mail"] >= 400
    assert kinds["offdomain"] >= 150
    assert set(kinds) <= KINDS
    ids = [p.id for p in POSTS]
    assert len(ids) == len(set(ids)), "duplicate ids"
    texts = [dedup_key(p.text) for p in POSTS]
    assert len(texts) == len(set(texts)), "the same post twice"
    for post in POSTS:
        assert post.source.startswith("https://"), post.id
        assert post.thread.startswith("https://"), post.id
        assert post.text.strip(), post.id
        assert post.must_state.strip(), post.id
        assert (post.kind == "mail") == bool(post.expect), post.id
        for entry in post.expect:
            assert entry in shipped_kb.entries, f"{post.id}: no entry {entry!r}"
    # At most a few posts per thread, so that one thread cannot weigh like many.
    assert max(Counter(p.thread for p in POSTS).values()) <= 4


def test_every_thread_is_in_the_frozen_split_and_threads_do_not_straddle_it() -> None:
    threads = {p.thread for p in POSTS}
    missing = sorted(threads - set(SPLIT))
    assert not missing, f"threads without a part in split.yaml (append them with assign_split): {missing[:5]}"
    assert set(SPLIT.values()) <= {"tune", "check"}
    share = sum(1 for p in POSTS if SPLIT[p.thread] == "check") / len(POSTS)
    assert 0.3 <= share <= 0.45, share
    # split.yaml is a mapping, so a thread has exactly one part; its file must not list a thread twice either.
    lines = [line for line in (CORPUS / "split.yaml").read_text(encoding="utf-8").splitlines() if line[:1] == '"']
    assert len(lines) == len(yaml.safe_load("\n".join(lines)))


def test_new_threads_keep_their_topics_share_of_check_threads() -> None:
    def post(n: int, entry: str) -> Post:
        url = f"https://example.org/{entry}/{n}"
        return Post(f"X-{entry}-{n}", url, url, "mail", (entry,), "-", "-", "x.yaml")

    fresh = [post(n, "a") for n in range(8)]
    drawn = assign_split(fresh)
    assert sorted(drawn.values()).count("check") == 3  # 3 of 8, as when the split was first drawn
    # A topic placed 5 tune / 0 check gains check threads one at a time, where judging the batch alone gave none.
    known = {p.thread: "tune" for p in fresh[:5]}
    added = assign_split([*fresh[:5], post(8, "a")], known)
    assert added[post(8, "a").thread] == "check"
    assert {t: added[t] for t in known} == known
    # Another topic's threads do not count toward this one's share.
    other = assign_split([*fresh[:5], post(0, "b")], known)
    assert other[post(0, "b").thread] == "tune"


def test_each_new_topic_has_three_real_posts_in_the_check_part() -> None:
    """Issue "Knowledge that is current…": every entry added for it is measured on real posts it was not
    tuned on — except where the corpora held no such post (listed in the README)."""
    check = part(POSTS, "check", SPLIT)
    counts = Counter(e for p in check for e in p.expect)
    new_topics = [line.split(":")[0] for line in NEW_TOPICS.split()]
    short = {t: counts[t] for t in new_topics if counts[t] < 3}
    # The lists name exactly the topics still short, so a topic leaves them once it has its posts.
    assert set(short) == WITHOUT_REAL_POSTS | TOO_FEW_REAL_POSTS, short


NEW_TOPICS = """
dmarc-spf-dkim-rejected bulk-sender-rules-2024 mail-lands-in-spam message-size-limit recipient-address-rejected
sender-address-rejected ip-blocklisted sending-limit-exceeded mailbox-full-quota emails-stuck-in-outbox
can-receive-cannot-send smtp-code-connect-failed cloud-hosts-block-smtp oauth-token-expired
outlook-password-prompt-loop exchange-online-basic-auth-ended exchange-smtp-auth-retirement
google-less-secure-apps-ended gmail-imap-always-on gmail-gmailify-pop-fetch-ended
yahoo-aol-app-password-unavailable fastmail-oauth-and-plans ios-password-incorrect macos-mail-account-offline
sent-not-saved special-folders-mapping deleted-mail-other-devices notifications-delayed thunderbird-android-k9
new-outlook-vs-classic thunderbird-exchange-ews network-blocks-mail-ports outlook-0x8004210a outlook-0x800ccc13
duplicate-emails-downloaded gmail-labels-imap calendar-contacts-not-in-imap ehlo-hostname-rejected
amazon-ses-smtp chinese-mail-authorization-code relay-service-smtp-login php-smtp-certificate-verify
smtp-auth-mechanism-unsupported imap-authenticated-but-not-connected ipv6-network-unreachable
netease-imap-unsafe-login oauth-sign-in-fails xoauth2-token-scope apple-exchange-activesync-ews
"""
# No real post about these was found in the public corpora searched (see the README's corpus section).
WITHOUT_REAL_POSTS = {"outlook-0x8004210a", "outlook-0x800ccc13"}
# Fewer than three check-part posts left once the labels were reviewed. Empty since round 30: new threads now keep
# their topic's share of check threads (realworld.assign_split), which gave outlook-password-prompt-loop three new
# check posts; macos-mail-account-offline reached three by one check post (RB-0019) judged again after its entry
# was extended for posts like it (README, corpus section).
TOO_FEW_REAL_POSTS: set[str] = set()


def test_a_list_opens_with_the_entry_the_decision_chose(shipped_matcher: Matcher) -> None:
    """When asked, the bot lists the decision's choice first, also where the lexical reading scored it under the
    floor and listed others: opening with an entry the decision ranked lower was right far less often."""
    lifted = 0
    for post in titles(POSTS)[::9]:  # every ninth title: a few hundred short posts, a few seconds
        result = shipped_matcher.match(post.text)
        chosen = shipped_matcher.read(post.text).scored[0].entry.id
        if result.ranked:
            assert result.ranked[0].entry.id == chosen, post.text
            lexical = dict(shipped_matcher.inputs(post.text)[0].lexical)
            lifted += lexical.get(chosen, 0.0) < FLOOR
    assert lifted >= 10  # the posts this is about are among them


def test_the_check_part_holds_its_guards(shipped_matcher: Matcher, capsys: pytest.CaptureFixture[str]) -> None:
    tune, check = part(POSTS, "tune", SPLIT), part(POSTS, "check", SPLIT)
    found = {
        "tune": measure(shipped_matcher, tune)[0],
        "check": measure(shipped_matcher, check)[0],
        "tune titles": measure(shipped_matcher, titles(tune))[0],
        "check titles": measure(shipped_matcher, titles(check))[0],
    }
    with capsys.disabled():
        print()
        for name, figure in found.items():
            print(figure.line(f"real-world {name} (normal)"))
    rates = found["check"].rates
    assert rates["top1"] >= TOP1_GUARD, rates
    assert rates["confident_right"] >= CONFIDENT_RIGHT_GUARD, rates
    assert rates["confident_wrong"] <= CONFIDENT_WRONG_GUARD, rates
    assert rates["offdomain_silent"] >= OFFDOMAIN_SILENCE_FLOOR, rates
    assert found["check titles"].rates["offdomain_silent"] >= TITLES_OFFDOMAIN_SILENCE_GUARD, found["check titles"]
