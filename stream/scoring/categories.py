"""Categories: a configurable taxonomy (data file) of complaint and praise categories, each a set of rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from stream.scoring.lexicon import compile_any

DEFAULT_TAXONOMY = "categories.yaml"
LABEL_CONDITIONS: dict[str, frozenset[str]] = {
    "negative": frozenset({"negative"}),
    "positive": frozenset({"positive"}),
    "not_positive": frozenset({"negative", "neutral"}),
    "not_negative": frozenset({"positive", "neutral"}),
}


class TaxonomyError(ValueError):
    """The taxonomy data file is malformed; the message names the category."""


@dataclass(frozen=True)
class Category:
    name: str
    kind: str  # complaint | praise
    any: re.Pattern[str]
    also: re.Pattern[str] | None = None
    exclude: re.Pattern[str] | None = None
    labels: frozenset[str] | None = None  # sentiment labels the category applies to; None: all

    def matches(self, lower_text: str, label: str) -> bool:
        if self.labels is not None and label not in self.labels:
            return False
        if self.any.search(lower_text) is None:
            return False
        if self.also is not None and self.also.search(lower_text) is None:
            return False
        return self.exclude is None or self.exclude.search(lower_text) is None


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: tuple[Category, ...]

    def classify(self, text: str, label: str) -> list[str]:
        """Names of every category whose rules match, in taxonomy order."""
        lower = text.lower()
        return [c.name for c in self.categories if c.matches(lower, label)]


def _patterns(entry: dict[str, Any], key: str, name: str) -> re.Pattern[str] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise TaxonomyError(f"category {name!r}: `{key}` must be a non-empty list of patterns")
    return compile_any([str(p) for p in value], f"category {name!r}.{key}")


def parse_taxonomy(data: Any) -> Taxonomy:
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise TaxonomyError("the taxonomy needs a string `version`")
    categories: list[Category] = []
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
        any_ = _patterns(entry, "any", name)
        if any_ is None:
            raise TaxonomyError(f"category {name!r}: needs `any` patterns")
        categories.append(
            Category(
                name=name,
                kind=kind,
                any=any_,
                also=_patterns(entry, "also", name),
                exclude=_patterns(entry, "not", name),
                labels=LABEL_CONDITIONS[when] if when is not None else None,
            )
        )
    return Taxonomy(version=data["version"], categories=tuple(categories))


def load_taxonomy(name: str = DEFAULT_TAXONOMY) -> Taxonomy:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return parse_taxonomy(yaml.safe_load(text))
