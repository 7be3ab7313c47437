"""Rule sets in the database: checked before saving, versioned with who and when, published after commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from infra.db import make_engine, session_factory
from listeners.rules import DEFAULT_RULES_PATH, ruleset_from_dict
from listeners.rules_store import (
    RecordingRulesPublisher,
    RulesRejected,
    RuleStore,
    RuleVersion,
    check_name,
    check_rules,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SMALL = """\
version: 1
brands:
  - name: skyway
    rules:
      - id: skyway-handle
        query: '@SkywayAir OR "Skyway Air"'
    topics:
      baggage: 'bag OR luggage'
    fixtures:
      match:
        - text: "@SkywayAir lost my bag"
          topics: [baggage]
      no_match:
        - text: "the skyway downtown"
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(db_url: str) -> RuleStore:
    return RuleStore(session_factory(make_engine(db_url)), Clock())


# -- checking -------------------------------------------------------------------------------------------
def test_the_shipped_rules_pass_with_their_fixtures() -> None:
    check = check_rules(DEFAULT_RULES_PATH.read_text())
    assert check.ok and check.rules is not None
    assert check.fixtures_run >= 10
    assert all(p.severity == "warning" for p in check.problems)


def test_a_syntax_error_says_which_rule_which_column_and_line() -> None:
    check = check_rules(SMALL.replace("'bag OR luggage'", "'bag OR (luggage'"))
    assert not check.ok and check.rules is None
    [problem] = check.errors
    assert problem.column == 16 and "expected ')'" in problem.message
    assert problem.rule == "bag OR (luggage"
    assert problem.where.startswith("skyway: topic baggage")
    assert problem.line == SMALL.splitlines().index("      baggage: 'bag OR luggage'") + 1


@pytest.mark.parametrize(("query", "said"), [
    ("NOT skyway", "matches every post"),
    ("skyway AND NOT skyway", "can never match"),
    ("lang:en", "whatever the text"),
])
def test_never_and_always_matching_rules_are_errors(query: str, said: str) -> None:
    check = check_rules(SMALL.replace("'@SkywayAir OR \"Skyway Air\"'", repr(query)))
    assert not check.ok
    assert any(said in p.message and p.rule == query for p in check.errors), check.problems


def test_a_failing_fixture_is_an_error() -> None:
    check = check_rules(SMALL.replace("the skyway downtown", "Skyway Air downtown"))
    assert not check.ok
    [problem] = check.errors
    assert "must not match" in problem.message and problem.where.endswith("no_match[0]")


def test_broken_yaml_and_wrong_shapes_are_reported_not_raised() -> None:
    yaml_error = check_rules("brands: [\n  {name: x")
    assert not yaml_error.ok and yaml_error.errors[0].line == 2 and "YAML" in yaml_error.errors[0].message
    shape = check_rules("version: 1\nbrands:\n  - name: skyway\n    rulez: []\n")
    assert not shape.ok and "unknown key 'rulez'" in shape.errors[0].message
    assert not check_rules("").ok


def test_names_are_safe_keys() -> None:
    assert check_name("default") is None and check_name("skyway-2026.q1") is None
    for bad in ("", "Default", "a/b", "x" * 65, "-x", "a b"):
        assert check_name(bad)


# -- storing and publishing -----------------------------------------------------------------------------
def test_save_stores_a_version_then_publishes_the_whole_set_keyed_by_name(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    saved = store.save("skyway", SMALL, "ana", publisher, note="first")
    assert saved.created and saved.published
    assert (saved.version.version, saved.version.created_by, saved.version.note) == (1, "ana", "first")
    [(key, document)] = publisher.sent
    assert key == "skyway"
    rules = ruleset_from_dict(json.loads(document))  # what listeners decode (runner.watch_rules)
    assert rules.to_dict() == check_rules(SMALL).rules.to_dict()  # type: ignore[union-attr]
    current = store.current("skyway")
    assert current is not None and current.published_at is not None and current.source == SMALL


def test_versions_count_up_per_name_and_keep_who_and_when(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    store.save("skyway", SMALL, "ana", publisher)
    changed = SMALL.replace("bag OR luggage", "bag OR luggage OR suitcase")
    second = store.save("skyway", changed, "ben", publisher)
    store.save("northwind", SMALL.replace("skyway", "northwind"), "ana", publisher)
    assert second.version.version == 2
    history = store.history("skyway")
    assert [(v.version, v.created_by) for v in history] == [(2, "ben"), (1, "ana")]
    assert history[0].created_at > history[1].created_at
    assert [(v.name, v.version) for v in store.names()] == [("northwind", 1), ("skyway", 2)]


def test_saving_the_same_text_again_stores_nothing_new_but_republishes(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    store.save("skyway", SMALL, "ana", publisher)
    again = store.save("skyway", SMALL, "ben", publisher)
    assert not again.created and again.version.version == 1
    assert len(publisher.sent) == 2


def test_rejected_text_stores_and_publishes_nothing(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    with pytest.raises(RulesRejected) as caught:
        store.save("skyway", SMALL.replace("'bag OR luggage'", "'bag OR'"), "ana", publisher)
    assert caught.value.check.errors[0].column is not None
    with pytest.raises(RulesRejected):
        store.save("Bad Name", SMALL, "ana", publisher)
    assert store.current("skyway") is None and publisher.sent == []


def test_a_failed_publish_keeps_the_version_unpublished_until_published_again(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()
    publisher.fail = TimeoutError("broker did not answer")
    saved = store.save("skyway", SMALL, "ana", publisher)
    assert saved.created and not saved.published and "broker did not answer" in saved.publish_error
    current = store.current("skyway")
    assert current is not None and current.published_at is None

    publisher.fail = None
    row, error = store.publish_current("skyway", publisher)
    assert error == "" and row is not None and row.published_at is not None
    assert [k for k, _ in publisher.sent] == ["skyway"]
    assert store.publish_current("nothing", publisher)[1]


def test_after_save_runs_in_the_same_transaction(store: RuleStore) -> None:
    publisher = RecordingRulesPublisher()

    def boom(session: Session, new: RuleVersion, previous: RuleVersion | None) -> None:
        assert session.scalar(sa.select(sa.func.count()).select_from(RuleVersion)) == 1
        raise RuntimeError("audit failed")

    with pytest.raises(RuntimeError, match="audit failed"):
        store.save("skyway", SMALL, "ana", publisher, after_save=boom)
    assert store.current("skyway") is None and publisher.sent == []
