"""What a rule matches: word boundaries, punctuation, case, Unicode and emoji, operators, fields."""

from __future__ import annotations

import pytest

from listeners.rules import Post, TokenizedPost, compile_rule


def matches(rule: str, text: str, **fields: str) -> bool:
    return compile_rule(rule).test(TokenizedPost(Post(text, **fields)))


@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        # the must-show example
        ("@southwestair AND (bag OR luggage)", "@SouthwestAir lost my bag again", True),
        ("@southwestair AND (bag OR luggage) AND NOT lost", "@SouthwestAir lost my bag again", False),
        # word boundaries and punctuation
        ("@southwestair", "@SouthwestAir's flight was late", True),
        ("bag", "where is my bag!!", True),
        ("bag", "(bag)", True),
        ("#southwestair", "love #SouthwestAir", True),
        ("southwestair", "love #SouthwestAir", True),  # a plain term also finds hashtags and handles
        ("southwestair", "thanks @SouthwestAir", True),
        ("#southwestair", "love southwestair", False),  # a hashtag term needs the hashtag
        ("@southwestair", "love southwestair", False),
        ("@southwestair", "mail me@southwestair.com", False),  # an e-mail address is not a handle
        ("southwest", "northsouthwestern plains", False),
        ("southwest", "southwest of Denver", True),
        ("southwest", "southwestern", False),
        ("southwest*", "southwestern", True),
        ("southwest*", "northsouthwestern", False),
        ("refund*", "REFUNDS please", True),
        ("refund*", "a refund", True),
        ("refund*", "no money back", False),
        ("@skywayair", "cc @skywayair@mastodon.social", True),  # fediverse handle: the local part counts
        ("@skywayair@mastodon.social", "cc @skywayair@mastodon.social", True),
        ("@skyway.bsky.social", "cc @skyway.bsky.social.", True),  # the sentence's full stop is not the handle's
        # case, Unicode, emoji
        ("skyway", "SKYWAY", True),
        ("straße", "STRASSE closed", True),  # casefold
        ("café", "cafe\u0301 at the gate", True),  # NFKC composes the accent
        ("\uff33\uff4b\uff59\uff57\uff41\uff59", "skyway", True),
        ("😡", "worst flight 😡😡", True),
        ("👍", "great crew 👍🏽", True),  # skin tone does not hide the emoji
        ("✈️", "off we go ✈", True),  # with or without the emoji presentation selector
        ("हिन्दी", "मैं हिन्दी बोलता हूँ", True),  # combining marks stay inside the word
        ("航空", "天空航空の荷物", True),  # CJK without spaces
        ("天空航空", "天空航空の荷物", True),
        ("空港", "天空航空の荷物", False),
        # phrases
        ('"skyway air"', "Flying Skyway Air today", True),
        ('"skyway air"', "Skyway, air and sea", True),  # punctuation between words does not break a phrase
        ('"skyway air"', "air skyway", False),
        ('"skyway air"', "skyway blue air", False),
        ('"lost my bag"', "they lost my bag", True),
        ('"refund* please"', "refunds please", True),
        # NOT and leading minus
        ("skyway -bridge", "skyway bridge traffic", False),
        ("skyway -bridge", "skyway flight", True),
        ('skyway -"skyway bridge"', "skyway bridge traffic", False),
        ('skyway -"skyway bridge"', "skyway to the bridge", True),
        ("skyway NOT (bridge OR tunnel)", "skyway tunnel", False),
        ("-bag", "hello", True),
        # NEAR/n: words between, either order
        ("lost NEAR/0 bag", "lost bag", True),
        ("lost NEAR/0 bag", "bag lost", True),
        ("lost NEAR/0 bag", "lost my bag", False),
        ("lost NEAR/1 bag", "lost my bag", True),
        ("lost NEAR/1 bag", "bag was lost", True),
        ("lost NEAR/1 bag", "lost, then found my bag", False),
        ('"skyway air" NEAR/2 refund*', "Skyway Air gave me a refund", False),
        ('"skyway air" NEAR/3 refund*', "Skyway Air gave me a refund", True),
        ("(bag OR luggage) NEAR/2 lost", "my luggage is lost", True),
        ("bag NEAR/3 bag", "one bag only", False),  # two occurrences are needed
        ("bag NEAR/3 bag", "bag after bag", True),
        ("a1 NEAR/1 b1 NEAR/1 c1", "a1 b1 c1", True),
        ("a1 NEAR/1 b1 NEAR/1 c1", "a1 b1 x y c1", False),
        # fields
        ("author:skywayair", "hello", True),
        ("author:@SkywayAir AND hello", "hello", True),
        ("lang:en AND hello", "hello", True),
        ("lang:fr AND hello", "hello", False),
        ("source:mastodon", "hello", True),
        ("source:reddit", "hello", False),
    ],
)
def test_rule_matches(rule: str, text: str, expected: bool) -> None:
    assert matches(rule, text, author="@SkywayAir", lang="en-US", source="Mastodon") is expected


def test_lang_region() -> None:
    assert matches("lang:en AND x", "x", lang="en_GB")
    assert not matches("lang:en-us AND x", "x", lang="en-GB")
    assert not matches("lang:en AND x", "x", lang="")


@pytest.mark.parametrize(
    ("rule", "text", "terms"),
    [
        ("@southwestair AND (bag OR luggage)", "@SouthwestAir lost my bag and luggage",
         ("@southwestair", "bag", "luggage")),
        ("(a AND b) OR c", "a c", ("c",)),  # `a` alone did not make the match
        ("skyway -bridge", "skyway flight", ("skyway",)),
        ('lost NEAR/2 (bag OR luggage)', "lost the bag", ("lost", "bag")),
        ("refund* OR voucher*", "refunds", ("refund*",)),
        ("bag", "no", ()),
    ],
)
def test_terms_say_what_matched(rule: str, text: str, terms: tuple[str, ...]) -> None:
    assert compile_rule(rule).terms(TokenizedPost(Post(text))) == terms
