"""Rules as code: the fixture posts a rule file carries, run against the set it belongs to."""

from __future__ import annotations

from dataclasses import dataclass

from listeners.rules.ruleset import Fixture, RuleMatch, RuleSet


@dataclass(frozen=True)
class FixtureFailure:
    fixture: Fixture
    reason: str

    def __str__(self) -> str:
        text = self.fixture.post.text
        shown = text if len(text) <= 80 else text[:77] + "..."
        return f"{self.fixture.where}: {shown!r}: {self.reason}"


def _describe(matches: list[RuleMatch]) -> str:
    if not matches:
        return "nothing matched"
    return "matched " + ", ".join(f"{m.brand} (rule {m.rule_id}, terms {', '.join(m.terms) or '-'})"
                                  for m in matches)


def check_fixture(rules: RuleSet, fixture: Fixture) -> FixtureFailure | None:
    matches = rules.match(fixture.post)
    mine = [m for m in matches if fixture.brand is None or m.brand == fixture.brand]
    if not fixture.expect_match:
        if mine:
            who = "any brand" if fixture.brand is None else repr(fixture.brand)
            return FixtureFailure(fixture, f"must not match {who}, but {_describe(mine)}")
        return None
    if not mine:
        return FixtureFailure(fixture, f"must match {fixture.brand!r}, but {_describe(matches)}")
    found = {t for m in mine for t in m.topics}
    missing = [t for t in fixture.topics if t not in found]
    if missing:
        return FixtureFailure(fixture, f"must have topics {', '.join(missing)}; "
                                       f"found {', '.join(sorted(found)) or 'none'}")
    return None


def all_fixtures(rules: RuleSet) -> list[Fixture]:
    return [f for b in rules.brands for f in b.fixtures] + list(rules.fixtures)


def run_fixtures(rules: RuleSet) -> tuple[int, list[FixtureFailure]]:
    """How many fixtures ran, and the ones that failed (an empty list means the set does what it says)."""
    fixtures = all_fixtures(rules)
    failures = [f for f in (check_fixture(rules, x) for x in fixtures) if f is not None]
    return len(fixtures), failures
