"""Keyword matching on tokens: the fast path that keeps scoring near raw VADER's speed.

Python's `re` tries every alternative at every position, so a category written as one big alternation
costs tens of microseconds per mention, as much as VADER itself. Here each rule group is a set of words,
word prefixes ("cancel*") and multi-word phrases, all merged into dictionaries; one pass over the tokens
finds every group that matches.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

TOKEN = re.compile(r"\w+(?:['\u2019]\w+)*")


def tokenize(lower_text: str) -> list[str]:
    return TOKEN.findall(lower_text)


@dataclass(frozen=True)
class KeywordIndex:
    words: dict[str, frozenset[int]]
    prefixes: tuple[str, ...]
    prefix_groups: dict[str, frozenset[int]]
    # first token -> (following tokens, group) for multi-word phrases
    phrases: dict[str, tuple[tuple[tuple[str, ...], int], ...]]
    keys: frozenset[str]  # every word and phrase-first word

    @classmethod
    def build(cls, groups: Iterable[tuple[int, Iterable[str]]]) -> KeywordIndex:
        """`groups`: (group id, terms); a term is a word, a prefix ending in "*", or several words."""
        words: dict[str, set[int]] = defaultdict(set)
        prefixes: dict[str, set[int]] = defaultdict(set)
        phrases: dict[str, list[tuple[tuple[str, ...], int]]] = defaultdict(list)
        for group, terms in groups:
            for term in terms:
                parts = tokenize(term.lower())
                if not parts:
                    raise ValueError(f"empty keyword {term!r}")
                if len(parts) > 1:
                    phrases[parts[0]].append((tuple(parts[1:]), group))
                elif term.endswith("*"):
                    prefixes[parts[0]].add(group)
                else:
                    words[parts[0]].add(group)
        return cls(
            words={w: frozenset(g) for w, g in words.items()},
            prefixes=tuple(prefixes),
            prefix_groups={p: frozenset(g) for p, g in prefixes.items()},
            phrases={w: tuple(p) for w, p in phrases.items()},
            keys=frozenset(words) | frozenset(phrases),
        )

    def match(self, tokens: Sequence[str], token_set: AbstractSet[str] | None = None) -> set[int]:
        """Groups with a term in `tokens`; pass `token_set` (the same tokens as a set) when it is at hand."""
        present = frozenset(tokens) if token_set is None else token_set
        found: set[int] = set()
        for tok in self.keys.intersection(present):  # C-speed: most tokens are in no rule
            groups = self.words.get(tok)
            if groups is not None:
                found |= groups
            candidates = self.phrases.get(tok)
            if candidates is not None:
                for i, t in enumerate(tokens):
                    if t == tok:
                        for rest, group in candidates:
                            if tuple(tokens[i + 1 : i + 1 + len(rest)]) == rest:
                                found.add(group)
        prefixes = self.prefixes
        if prefixes:
            for tok in present:
                if tok.startswith(prefixes):
                    for prefix in prefixes:
                        if tok.startswith(prefix):
                            found |= self.prefix_groups[prefix]
        return found
