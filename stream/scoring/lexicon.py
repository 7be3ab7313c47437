"""The customer-care lexicon data file, loaded and compiled once.

Patterns are compiled when the file is loaded (never per mention) and bounded by word edges here, so the
data file can stay readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from stream.scoring.keywords import KeywordIndex

DEFAULT_LEXICON = "care_lexicon.yaml"


class LexiconError(ValueError):
    """The lexicon data file is malformed; the message names the entry."""


@dataclass(frozen=True)
class CareWord:
    valence: float
    fact: bool


@dataclass(frozen=True)
class Phrase:
    pattern: re.Pattern[str]
    valence: float
    fact: bool
    loose: re.Pattern[str]  # the pattern without its word edges: see `loosen`


@dataclass(frozen=True)
class UrgencyRule:
    reason: str
    points: int


@dataclass(frozen=True)
class CareLexicon:
    version: str
    words: dict[str, CareWord]
    phrases: tuple[Phrase, ...]
    phrase_triggers: KeywordIndex  # group = index into `phrases`: only triggered phrases are matched
    polite: frozenset[str]
    gratitude: re.Pattern[str]
    gratitude_loose: re.Pattern[str]
    sarcasm: tuple[re.Pattern[str], ...]
    sarcasm_triggers: KeywordIndex  # group = index into `sarcasm`
    urgency: tuple[UrgencyRule, ...]
    urgency_terms: KeywordIndex  # group = index into `urgency`


def bounded(pattern: str) -> str:
    """Match only whole words: "late" must not fire inside "chocolate"."""
    return rf"(?<!\w)(?:{pattern})(?!\w)"


def compile_any(patterns: list[str], where: str) -> re.Pattern[str]:
    try:
        return re.compile("|".join(bounded(p) for p in patterns) or r"(?!x)x")
    except re.error as exc:
        raise LexiconError(f"{where}: bad pattern: {exc}") from exc


def loosen(patterns: list[str]) -> re.Pattern[str]:
    """The patterns without the word edges `bounded` puts around them: wherever a bounded pattern matches,
    this one matches too, so a text it finds nothing in needs no bounded search. It is the faster search:
    a pattern that starts with a lookbehind is tried at every position, one that starts with a literal
    only where that literal's first character stands."""
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!x)x")


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(bounded(pattern))
    except re.error as exc:
        raise LexiconError(f"{where}: bad pattern {pattern!r}: {exc}") from exc


def parse_lexicon(data: Any) -> CareLexicon:
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise LexiconError("the lexicon needs a string `version`")
    words: dict[str, CareWord] = {}
    for word, entry in (data.get("words") or {}).items():
        try:
            words[str(word).lower()] = CareWord(float(entry["valence"]), bool(entry.get("fact", False)))
        except (TypeError, KeyError, ValueError) as exc:
            raise LexiconError(f"words.{word}: needs a numeric `valence`") from exc
    phrases: list[Phrase] = []
    triggers: list[tuple[int, list[str]]] = []
    for i, entry in enumerate(data.get("phrases") or []):
        try:
            pattern, valence = str(entry["pattern"]), float(entry["valence"])
        except (TypeError, KeyError, ValueError) as exc:
            raise LexiconError(f"phrases[{i}]: needs `pattern` and a numeric `valence`") from exc
        compiled = _compile(pattern, f"phrases[{i}]")
        phrases.append(Phrase(compiled, valence, bool(entry.get("fact", False)), loosen([pattern])))
        triggers.append((i, _terms(entry, "triggers", f"phrases[{i}]")))
    sarcasm: list[re.Pattern[str]] = []
    sarcasm_triggers: list[tuple[int, list[str]]] = []
    for i, entry in enumerate(data.get("sarcasm") or []):
        if not isinstance(entry, dict) or "pattern" not in entry:
            raise LexiconError(f"sarcasm[{i}]: needs `pattern` and `triggers`")
        sarcasm.append(_compile(str(entry["pattern"]), f"sarcasm[{i}]"))
        sarcasm_triggers.append((i, _terms(entry, "triggers", f"sarcasm[{i}]")))
    urgency: list[UrgencyRule] = []
    urgency_terms: list[tuple[int, list[str]]] = []
    for i, entry in enumerate(data.get("urgency") or []):
        try:
            urgency.append(UrgencyRule(str(entry["reason"]), int(entry["points"])))
        except (TypeError, KeyError, ValueError) as exc:
            raise LexiconError(f"urgency[{i}]: needs `reason` and integer `points`") from exc
        urgency_terms.append((i, _terms(entry, "terms", f"urgency[{i}]")))
    gratitude = [str(p) for p in data.get("gratitude") or []]
    return CareLexicon(
        version=data["version"],
        words=words,
        phrases=tuple(phrases),
        phrase_triggers=KeywordIndex.build(triggers),
        polite=frozenset(str(w).lower() for w in data.get("polite") or []),
        gratitude=compile_any(gratitude, "gratitude"),
        gratitude_loose=loosen(gratitude),
        sarcasm=tuple(sarcasm),
        sarcasm_triggers=KeywordIndex.build(sarcasm_triggers),
        urgency=tuple(urgency),
        urgency_terms=KeywordIndex.build(urgency_terms),
    )


def _terms(entry: Any, key: str, where: str) -> list[str]:
    terms = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
        raise LexiconError(f"{where}: `{key}` must be a non-empty list of words")
    return terms


def load_lexicon(name: str = DEFAULT_LEXICON) -> CareLexicon:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return parse_lexicon(yaml.safe_load(text))
