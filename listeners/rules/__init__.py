"""The keyword rule language: Brandwatch-style queries compiled once, matched cheaply against every post.

Reference for admins: docs/rules.md.
"""

from listeners.rules.analysis import Finding, analyse
from listeners.rules.errors import RuleError
from listeners.rules.fixtures import FixtureFailure, run_fixtures
from listeners.rules.matcher import CompiledRule
from listeners.rules.parser import parse_rule
from listeners.rules.post import Post, TokenizedPost
from listeners.rules.ruleset import (
    DEFAULT_RULES_PATH,
    Brand,
    Competitor,
    Fixture,
    Rule,
    RuleMatch,
    RuleSet,
    Topic,
    load_rules,
    ruleset_from_dict,
)


def compile_rule(query: str) -> CompiledRule:
    """Parse and compile one expression (raises RuleError)."""
    return CompiledRule(query, parse_rule(query))


__all__ = [
    "DEFAULT_RULES_PATH",
    "Brand",
    "Competitor",
    "CompiledRule",
    "Finding",
    "Fixture",
    "FixtureFailure",
    "Post",
    "Rule",
    "RuleError",
    "RuleMatch",
    "RuleSet",
    "TokenizedPost",
    "Topic",
    "analyse",
    "compile_rule",
    "load_rules",
    "parse_rule",
    "ruleset_from_dict",
    "run_fixtures",
]
