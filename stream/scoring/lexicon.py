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


@dataclass(frozen=True)
class UrgencyRule:
    reason: str
    points: int
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class CareLexicon:
    version: str
    words: dict[str, CareWord]
    phrases: tuple[Phrase, ...]
    # All phrases in one alternation, one named group per phrase: one scan of the text finds them all.
    phrase_scan: re.Pattern[str]
    polite: frozenset[str]
    gratitude: re.Pattern[str]
    sarcasm: re.Pattern[str]
    urgency: tuple[UrgencyRule, ...]


def bounded(pattern: str) -> str:
    """Match only whole words: "late" must not fire inside "chocolate"."""
    return rf"(?<!\w)(?:{pattern})(?!\w)"


def compile_any(patterns: list[str], where: str) -> re.Pattern[str]:
    try:
        return re.compile("|".join(bounded(p) for p in patterns) or r"(?!x)x")
    except re.error as exc:
        raise LexiconError(f"{where}: bad pattern: {exc}") from exc


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
    for i, entry in enumerate(data.get("phrases") or []):
        try:
            pattern, valence = str(entry["pattern"]), float(entry["valence"])
        except (TypeError, KeyError, ValueError) as exc:
            raise LexiconError(f"phrases[{i}]: needs `pattern` and a numeric `valence`") from exc
        phrases.append(Phrase(_compile(pattern, f"phrases[{i}]"), valence, bool(entry.get("fact", False))))
    scan = "|".join(f"(?P<p{i}>{p.pattern.pattern})" for i, p in enumerate(phrases)) or r"(?!x)x"
    urgency = tuple(
        UrgencyRule(str(u["reason"]), int(u["points"]), _compile(str(u["pattern"]), f"urgency[{i}]"))
        for i, u in enumerate(data.get("urgency") or [])
    )
    return CareLexicon(
        version=data["version"],
        words=words,
        phrases=tuple(phrases),
        phrase_scan=re.compile(scan),
        polite=frozenset(str(w).lower() for w in data.get("polite") or []),
        gratitude=compile_any([str(p) for p in data.get("gratitude") or []], "gratitude"),
        sarcasm=compile_any([str(p) for p in data.get("sarcasm") or []], "sarcasm"),
        urgency=urgency,
    )


def load_lexicon(name: str = DEFAULT_LEXICON) -> CareLexicon:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return parse_lexicon(yaml.safe_load(text))
