"""The rule grammar: what parses to what, and errors that say what and where."""

from __future__ import annotations

import pytest

from listeners.rules import RuleError, parse_rule
from listeners.rules.nodes import render


@pytest.mark.parametrize(
    ("rule", "canonical"),
    [
        ("@southwestair AND (bag OR luggage)", "@southwestair AND (bag OR luggage)"),
        ("skyway lost bag", "skyway AND lost AND bag"),  # implicit AND
        ("a OR b c", "a OR b AND c"),  # AND binds tighter than OR
        ("a AND (b OR c) OR d", "a AND (b OR c) OR d"),
        ("skyway -bridge", "skyway AND NOT bridge"),
        ('skyway -"skyway bridge"', 'skyway AND NOT "skyway bridge"'),
        ("skyway NOT bridge", "skyway AND NOT bridge"),
        ("NOT a NEAR/2 b", "NOT (a NEAR/2 b)"),
        ("lost NEAR/3 (bag OR luggage)", "lost NEAR/3 (bag OR luggage)"),
        ('"Skyway  Air"', '"skyway air"'),
        ("SkyWay", "skyway"),
        ("#SkywayAir", "#skywayair"),
        ("@SkywayAir", "@skywayair"),
        ("refund*", "refund*"),
        ("author:@SkywayAir lang:EN_us source:Mastodon", "author:skywayair AND lang:en-us AND source:mastodon"),
        ("e-mail", '"e mail"'),  # punctuation inside a term splits it the way posts are split
        ("天空航空", '"天 空 航 空"'),  # CJK: one token per character
        ("\uff33\uff4b\uff59\uff57\uff41\uff59", "skyway"),  # NFKC
        ("((a))", "a"),
        ("https://skyway.com/refunds", '"https skyway com refunds"'),
    ],
)
def test_parses_to(rule: str, canonical: str) -> None:
    tree = parse_rule(rule)
    assert render(tree) == canonical
    assert parse_rule(canonical) == tree


@pytest.mark.parametrize(
    ("rule", "message", "column"),
    [
        ("@southwestair AND (bag OR luggage", "expected ')'", 34),
        ("(a OR b", "expected ')'", 8),
        ("(a OR b) c)", "unexpected ')'", 11),
        ('skyway "lost bag', "expected '\"'", 17),
        ("", "empty rule", 1),
        ("   ", "empty rule", 4),
        ("AND skyway", "expected a term, phrase or '('", 1),
        ("skyway AND", "expected a term, phrase or '('", 11),
        ("skyway OR OR bag", "expected a term, phrase or '('", 11),
        ("a NEAR/3", "expected a term, phrase or '(' after NEAR/3", 9),
        ("a NEAR b", "expected NEAR/n", 3),
        ("a NEAR/x b", "expected NEAR/n", 3),
        ("(a AND b) NEAR/2 c", "NEAR/2 measures terms, phrases and OR groups", 1),
        ("a NEAR/2 NOT b", "expected a term, phrase or '(' after NEAR/2", 10),
        ("a NEAR/2 lang:en", "NEAR/2 measures terms, phrases and OR groups", 10),
        ("re*fund", "'*' may only end a word", 3),
        ("x*", "a wildcard needs at least 2 characters", 1),
        ("*", "nothing to search for", 1),
        ('""', "empty phrase", 2),
        ("!!!", "nothing to search for", 1),
        ("autor:skyway", "unknown field 'autor'", 1),
        ("lang:", "expected a value after 'lang:'", 6),
        ("lang:english123", "is not a language code", 6),
        ("author:sky*", "wildcards are not supported", 11),
        ("a -", "nothing to search for", 3),
        ("()", "expected a term, phrase or '('", 2),
        ("(" * 60 + "a" + ")" * 60, "nested more than", 51),
    ],
)
def test_errors_say_what_and_where(rule: str, message: str, column: int) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(rule)
    assert message in caught.value.message
    assert caught.value.column == column
    assert f"at column {column}" in str(caught.value)


def test_the_documented_error_shape() -> None:
    with pytest.raises(RuleError, match=r"^expected '\)' at column 17 \(found end of rule"):
        parse_rule("skyway AND (bag ")


def test_overlong_rule_is_refused_not_parsed() -> None:
    with pytest.raises(RuleError, match="longer than"):
        parse_rule("a " * 3000)
