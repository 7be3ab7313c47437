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
    phrases: dict[str, tuple[tuple[list[str], int], ...]]
    keys: frozenset[str]  # every word and phrase-first word
    # first token -> (" first following ", group): the phrases as they stand in the tokens joined by spaces
    needles: dict[str, tuple[tuple[str, int], ...]]
    prefix_start: re.Pattern[str]  # " " and a prefix: where a token starts with it, in the tokens joined by spaces

    @classmethod
    def build(cls, groups: Iterable[tuple[int, Iterable[str]]]) -> KeywordIndex:
        """`groups`: (group id, terms); a term is a word, a prefix ending in "*", or several words."""
        words: dict[str, set[int]] = defaultdict(set)
        prefixes: dict[str, set[int]] = defaultdict(set)
        phrases: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
        for group, terms in groups:
            for term in terms:
                parts = tokenize(term.lower())
                if not parts:
                    raise ValueError(f"empty keyword {term!r}")
                if len(parts) > 1:
                    phrases[parts[0]].append((parts[1:], group))
                elif term.endswith("*"):
                    prefixes[parts[0]].add(group)
                else:
                    words[parts[0]].add(group)
        return cls._of(words, prefixes, phrases)

    @classmethod
    def _of(
        cls,
        words: dict[str, set[int]],
        prefixes: dict[str, set[int]],
        phrases: dict[str, list[tuple[list[str], int]]],
    ) -> KeywordIndex:
        return cls(
            words={w: frozenset(g) for w, g in words.items()},
            prefixes=tuple(prefixes),
            prefix_groups={p: frozenset(g) for p, g in prefixes.items()},
            phrases={w: tuple(p) for w, p in phrases.items()},
            keys=frozenset(words) | frozenset(phrases),
            needles={w: tuple((f" {w} {' '.join(rest)} ", g) for rest, g in p) for w, p in phrases.items()},
            prefix_start=re.compile(f" (?:{'|'.join(map(re.escape, prefixes))})" if prefixes else "(?!)"),
        )

    @classmethod
    def combine(cls, indexes: Sequence[KeywordIndex]) -> KeywordIndex:
        """One index standing for several, so a mention's tokens are walked once instead of once per index:
        group g of `indexes[k]` becomes g * len(indexes) + k, and `split` hands each index its own groups."""
        n = len(indexes)
        words: dict[str, set[int]] = defaultdict(set)
        prefixes: dict[str, set[int]] = defaultdict(set)
        phrases: dict[str, list[tuple[list[str], int]]] = defaultdict(list)
        for k, index in enumerate(indexes):
            for word, groups in index.words.items():
                words[word].update(g * n + k for g in groups)
            for prefix, groups in index.prefix_groups.items():
                prefixes[prefix].update(g * n + k for g in groups)
            for first, candidates in index.phrases.items():
                phrases[first] += [(rest, g * n + k) for rest, g in candidates]
        return cls._of(words, prefixes, phrases)

    def match(self, tokens: Sequence[str], token_set: AbstractSet[str] | None = None) -> set[int]:
        """Groups with a term in `tokens`; pass `token_set` (the same tokens as a set) when it is at hand."""
        present = frozenset(tokens) if token_set is None else token_set
        found: set[int] = set()
        keys = self.keys.intersection(present)  # C-speed: most tokens are in no rule
        if not keys and not self.prefixes:
            return found
        # Phrases and prefixes are looked for with C string searches in the tokens joined by spaces. That
        # finds exactly what comparing token by token finds as long as no token holds a space (tokenize's
        # never do); the count of spaces tells, and otherwise the tokens are compared one by one.
        joined = f" {' '.join(tokens)} "
        spaced = joined.count(" ") == len(tokens) + 1
        for tok in keys:
            groups = self.words.get(tok)
            if groups is not None:
                found |= groups
            if tok in self.needles:
                if spaced:
                    for needle, group in self.needles[tok]:
                        if needle in joined:
                            found.add(group)
                else:
                    self._match_phrase(tok, list(tokens), found)
        if self.prefixes and self.prefix_start.search(joined) is not None:
            for tok in present:
                if tok.startswith(self.prefixes):
                    for prefix in self.prefixes:
                        if tok.startswith(prefix):
                            found |= self.prefix_groups[prefix]
        return found

    def _match_phrase(self, first: str, tokens: list[str], found: set[int]) -> None:
        i = -1
        for _ in range(tokens.count(first)):  # list.count and list.index find the first word in C
            i = tokens.index(first, i + 1)
            for rest, group in self.phrases[first]:
                if tokens[i + 1 : i + 1 + len(rest)] == rest:
                    found.add(group)


def split(hits: AbstractSet[int], parts: int) -> list[set[int]]:
    """The groups a `KeywordIndex.combine` of `parts` indexes found, back under each index's own ids."""
    out: list[set[int]] = [set() for _ in range(parts)]
    for hit in hits:
        group, k = divmod(hit, parts)
        out[k].add(group)
    return out
