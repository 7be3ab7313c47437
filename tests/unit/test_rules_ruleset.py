"""Rule sets: brands, competitors, topics, exclusions, fixtures, the data round trip, and analysis."""

from __future__ import annotations

import json
from typing import Any

import pytest

from listeners.rules import Post, RuleError, RuleMatch, RuleSet, load_rules, parse_rule, ruleset_from_dict
from listeners.rules.analysis import analyse
from listeners.rules.fixtures import run_fixtures


def small_set(**brand: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "skyway",
        "rules": [{"id": "handle", "query": "@SkywayAir"}, {"id": "name", "query": '"Skyway Air"'}],
        "competitors": [{"name": "northwind", "rules": ["@NorthwindAir"], "exclude": ['"northwind traders"']}],
        "topics": {"baggage": "bag* OR luggage", "refunds": ["refund*", "voucher"]},
        "exclude": ['"skyway bridge"'],
    }
    base.update(brand)
    return {"version": 1, "brands": [base]}


def test_a_mention_can_match_several_rules_with_topics_and_terms() -> None:
    rules = ruleset_from_dict(small_set())
    found = rules.match(Post("@SkywayAir Skyway Air lost my bags, want a refund"))
    assert found == [
        RuleMatch("skyway", "handle", False, ("baggage", "refunds"), ("@skywayair",)),
        RuleMatch("skyway", "name", False, ("baggage", "refunds"), ('"skyway air"',)),
    ]


def test_competitors_are_tagged_and_share_the_brand_topics() -> None:
    rules = ruleset_from_dict(small_set())
    assert rules.match(Post("@NorthwindAir lost my luggage")) == [
        RuleMatch("northwind", "northwind/1", True, ("baggage",), ("@northwindair",))
    ]


def test_exclusions_veto_only_their_own_brand() -> None:
    rules = ruleset_from_dict(small_set())
    assert rules.match(Post("Skyway Air near the skyway bridge")) == []
    both = rules.match(Post("@NorthwindAir Northwind traders, @SkywayAir"))
    assert [m.brand for m in both] == ["skyway"]


def test_topics_alone_do_not_make_a_match() -> None:
    assert ruleset_from_dict(small_set()).match(Post("lost my bag")) == []


def test_round_trip_as_json() -> None:
    rules = load_rules()
    again = ruleset_from_dict(json.loads(json.dumps(rules.to_dict())))
    assert again.to_dict() == rules.to_dict()
    post = Post("@SkywayAir lost my bag again!!")
    assert again.match(post) == rules.match(post)


def test_demo_rules_pass_their_fixtures_and_analysis() -> None:
    rules = load_rules()
    ran, failures = run_fixtures(rules)
    assert ran >= 10
    assert failures == []
    assert [f for _, f in rules.findings() if f.severity == "error"] == []
    names = {b.name for b in rules.brands} | {c.name for b in rules.brands for c in b.competitors}
    assert names == {"skyway", "skyway-vacations", "northwind", "bluejet"}


def test_failing_fixtures_say_why() -> None:
    data = small_set(fixtures={
        "match": [{"text": "Skyway Airlines is great", "topics": ["baggage"]},
                  {"text": "@SkywayAir hi", "topics": ["baggage"]}],
        "no_match": [{"text": "@SkywayAir hello"}],
    })
    ran, failures = run_fixtures(ruleset_from_dict(data))
    assert ran == 3
    reasons = [f.reason for f in failures]
    assert reasons[0] == "must match 'skyway', but nothing matched"
    assert reasons[1] == "must have topics baggage; found none"
    assert reasons[2].startswith("must not match 'skyway', but matched skyway (rule handle, terms @skywayair)")
    assert str(failures[0]).startswith("brands[0].fixtures.match[0]: 'Skyway Airlines is great'")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (small_set(rules=[{"id": "x", "query": "(bag"}]), "skyway: rule x: expected ')' at column 5"),
        (small_set(rules=[{"id": "x", "query": "a"}, {"id": "x", "query": "b"}]), "rule id 'x' is used twice"),
        (small_set(rules=[]), "a brand needs at least one rule"),
        (small_set(rule=["a"]), "unknown key 'rule'"),
        (small_set(topics=["bag"]), "expected a mapping of topic name to rules"),
        (small_set(exclude=[""]), "expected a rule expression"),
        ({"version": 2, "brands": []}, "unsupported version 2"),
        ({"version": 1, "brands": []}, "at least one brand"),
        ([], "expected a mapping"),
        (small_set(fixtures={"match": [{"text": 3}]}), "must be strings"),
    ],
)
def test_bad_rule_sets_are_refused_with_a_location(data: Any, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        ruleset_from_dict(data)
    assert message in str(caught.value)


def test_rule_set_is_compiled_once_and_shares_identical_queries() -> None:
    data = small_set(rules=[{"id": "a", "query": "bag"}], topics={"baggage": "bag"})
    rules = ruleset_from_dict(data)
    assert isinstance(rules, RuleSet)
    assert rules.compiled("bag") is rules.compiled("bag")


def test_load_rules_reports_broken_yaml(tmp_path: Any) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("brands: [\n")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules(path)


@pytest.mark.parametrize(
    ("rule", "severity", "message"),
    [
        ("bag AND NOT bag", "error", "can never match"),
        ('"lost bag" -bag', "error", "can never match"),
        ("refunds -refund*", "error", "can never match"),
        ("#skyway -skyway", "error", "can never match"),
        ("(lost NEAR/2 bag) -lost", "error", "can never match"),
        ("lang:en lang:fr bag", "error", "can never match"),
        ("lang:en-us -lang:en bag", "error", "can never match"),
        ("author:a author:b bag", "error", "can never match"),
        ("NOT bag", "error", "matches every post"),
        ("-bag -luggage", "error", "matches every post"),
        ("bag OR NOT bag", "error", "matches every post"),
        ("lang:en OR skyway", "error", "matches every post of a language or source"),
        ("source:reddit", "error", "matches every post of a language or source"),
        ("author:skywayair", "warning", "matches every post of an author"),
        ("skyway or bag", "warning", "'or' at column 8 is searched as a word"),
    ],
)
def test_analysis_flags_rules_that_never_match_or_flood(rule: str, severity: str, message: str) -> None:
    findings = analyse(parse_rule(rule))
    assert any(f.severity == severity and message in f.message for f in findings), findings


@pytest.mark.parametrize("rule", [
    "@skywayair AND (bag OR luggage)", 'skyway -"skyway bridge"', "lang:en AND lang:en-us AND bag",
    "lost NEAR/3 bag", "refund* -refunds", "skyway -(bridge OR tunnel)",
    " OR ".join(f"w{i}" for i in range(60)), " AND ".join(f"(w{i} OR x{i})" for i in range(25)),
])
def test_analysis_leaves_sound_rules_alone(rule: str) -> None:
    assert analyse(parse_rule(rule)) == []
