"""Categories: a configurable taxonomy (data file) of complaint and praise categories, each a set of rules.

Rules are keyword terms (words, prefixes, phrases), matched in one pass over the mention's tokens through
a `KeywordIndex`: regular expressions per category would cost more than VADER itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from stream.scoring.keywords import KeywordIndex, tokenize

DEFAULT_TAXONOMY = "categories.yaml"
LABEL_CONDITIONS: dict[str, frozenset[str]] = {
    "negative": frozenset({"negative"}),
    "positive": frozenset({"positive"}),
    "not_positive": frozenset({"negative", "neutral"}),
    "not_negative": frozenset({"positive", "neutral"}),
}
# Group ids in the shared index: three rule groups per category.
ANY, ALSO, NOT = 0, 1, 2


class TaxonomyError(ValueError):
    """The taxonomy data file is malformed; the message names the category."""


@dataclass(frozen=True)
class Category:
    name: str
    kind: str  # complaint | praise
    has_also: bool = False
    chars: tuple[str, ...] = ()  # substrings that count as an `any` match
    labels: frozenset[str] | None = None  # sentiment labels the category applies to; None: all


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: tuple[Category, ...]
    index: KeywordIndex
    char_categories: tuple[int, ...] = ()  # indices of categories with `chars`

    def classify(
        self,
        text: str,
        label: str,
        words: Sequence[str] | None = None,
        word_set: AbstractSet[str] | None = None,
        hits: AbstractSet[int] | None = None,
    ) -> list[str]:
        """Names of every category whose rules match, in taxonomy order. `words` (and `word_set`) are the
        tokens of the lowercased text when the caller already has them; `hits`, what `index` finds in them
        when the caller matched it already (the scorer does, together with the lexicon's keywords)."""
        lower = text.lower()
        if hits is None:
            hits = self.index.match(tokenize(lower), None) if words is None else self.index.match(words, word_set)
        # Only categories with an `any` hit (or a `chars` hit) can match: most mentions have few.
        candidates = {h // 3 for h in hits if h % 3 == ANY}
        for i in self.char_categories:
            for ch in self.categories[i].chars:
                if ch in lower:
                    candidates.add(i)
                    break
        names = []
        for i in sorted(candidates):
            c = self.categories[i]
            if c.labels is not None and label not in c.labels:
                continue
            if c.has_also and 3 * i + ALSO not in hits:
                continue
            if 3 * i + NOT in hits:
                continue
            names.append(c.name)
        return names


def _terms(entry: dict[str, Any], key: str, name: str) -> list[str]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(t, str) and t.strip() for t in value):
        raise TaxonomyError(f"category {name!r}: `{key}` must be a non-empty list of words")
    return value


def parse_taxonomy(data: Any) -> Taxonomy:
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise TaxonomyError("the taxonomy needs a string `version`")
    categories: list[Category] = []
    groups: list[tuple[int, list[str]]] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("categories") or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise TaxonomyError(f"categories[{i}]: needs a `name`")
        name = entry["name"]
        if name in seen:
            raise TaxonomyError(f"category {name!r} is defined twice")
        seen.add(name)
        kind = entry.get("kind", "complaint")
        if kind not in {"complaint", "praise"}:
            raise TaxonomyError(f"category {name!r}: kind {kind!r} is not complaint or praise")
        when = entry.get("when")
        if when is not None and when not in LABEL_CONDITIONS:
            raise TaxonomyError(f"category {name!r}: `when` {when!r} is not one of {sorted(LABEL_CONDITIONS)}")
        any_, also, not_ = (_terms(entry, k, name) for k in ("any", "also", "not"))
        chars = tuple(str(c) for c in entry.get("chars") or [])
        if not any_ and not chars:
            raise TaxonomyError(f"category {name!r}: needs `any` terms")
        groups += [(3 * i + ANY, any_), (3 * i + ALSO, also), (3 * i + NOT, not_)]
        categories.append(
            Category(
                name=name,
                kind=kind,
                has_also=bool(also),
                chars=chars,
                labels=LABEL_CONDITIONS[when] if when is not None else None,
            )
        )
    try:
        index = KeywordIndex.build(groups)
    except ValueError as exc:
        raise TaxonomyError(str(exc)) from exc
    return Taxonomy(
        version=data["version"],
        categories=tuple(categories),
        index=index,
        char_categories=tuple(i for i, c in enumerate(categories) if c.chars),
    )


def load_taxonomy(name: str = DEFAULT_TAXONOMY) -> Taxonomy:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return parse_taxonomy(yaml.safe_load(text))
