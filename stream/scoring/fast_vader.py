"""VADER with the same results, less repeated work.

vaderSentiment 3.3.2 lowercases the whole sentence again in its negation and idiom checks, once per
sentiment word and look-back step: quadratic in the sentence length, and most of its run time. These
overrides read only the three or so neighbouring words they need. `tests/unit/test_scoring_fast_vader.py`
checks that compounds equal stock VADER's; the speed-up pays for the care lexicon's extra work per mention.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

_NEGATE = frozenset(NEGATE)
_SO_THIS = ("so", "this")
# The multi-word special cases and boosters ("kiss of death", "kind of") as lists of words. An idiom can
# change a valence only if its first word stands in the 4 words ending at the scored one and its second
# word in the 4 after those; most words have neither near them, and then the idiom check is skipped.
_IDIOMS = [k.split() for k in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in k]
_IDIOM_FIRST = frozenset(words[0] for words in _IDIOMS)
_IDIOM_SECOND = frozenset(words[1] for words in _IDIOMS)
_PUNCTUATION = string.punctuation


def vader_tokens(text: str) -> tuple[list[str], bool]:
    """VADER's `SentiText`: words with surrounding punctuation stripped (emoticons kept), and whether
    some but not all of them are ALL CAPS; the same lists, built without a method call per word."""
    words = [s if len(s := w.strip(_PUNCTUATION)) > 2 else w for w in text.split()]
    caps = sum(map(str.isupper, words))
    return words, 0 < caps < len(words)


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


def _boosted(valence: float, booster: float, capped: bool, damping: float) -> float:
    """VADER's `scalar_inc_dec` for a booster `damping` words away, added to `valence`."""
    scalar = -booster if valence < 0 else booster
    if capped:
        scalar = scalar + C_INCR if valence > 0 else scalar - C_INCR
    if damping != 1.0 and scalar != 0:
        scalar *= damping
    return valence + scalar


class FastVader(SentimentIntensityAnalyzer):
    def valence_at(
        self, lexicon: Mapping[str, float], words: list[str], lowered: list[str], cap_diff: bool, i: int
    ) -> float:
        """`sentiment_valence` for the word at `i` against `lexicon`, reading the lowercased words
        once computed instead of lowering each neighbour again (callers skip boosters and "kind of")."""
        low = lowered[i]
        valence = lexicon.get(low)
        if valence is None:
            return 0.0
        if low == "no" and i != len(words) - 1 and lowered[i + 1] in lexicon:
            valence = 0.0  # "no" negates the next word instead of counting itself
        if (i > 0 and lowered[i - 1] == "no") or (i > 1 and lowered[i - 2] == "no") \
                or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor")):
            valence = lexicon[low] * N_SCALAR
        if cap_diff and words[i].isupper():
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        # VADER's loop over the three words before, unrolled: its boosters, then `_negation_check` for that
        # distance, inlined; the words are lowercased already.
        if i > 0 and (w1 := lowered[i - 1]) not in lexicon:
            if (booster := BOOSTER_DICT.get(w1)) is not None:
                valence = _boosted(valence, booster, cap_diff and words[i - 1].isupper(), 1.0)
            if w1 in _NEGATE or "n't" in w1:
                valence *= N_SCALAR
        if i > 1 and (w2 := lowered[i - 2]) not in lexicon:
            if (booster := BOOSTER_DICT.get(w2)) is not None:
                valence = _boosted(valence, booster, cap_diff and words[i - 2].isupper(), 0.95)
            w1 = lowered[i - 1]
            if w2 == "never" and w1 in _SO_THIS:
                valence *= 1.25
            elif w2 == "without" and w1 == "doubt":
                pass
            elif w2 in _NEGATE or "n't" in w2:
                valence *= N_SCALAR
        if i > 2 and (w3 := lowered[i - 3]) not in lexicon:
            if (booster := BOOSTER_DICT.get(w3)) is not None:
                valence = _boosted(valence, booster, cap_diff and words[i - 3].isupper(), 0.9)
            w2, w1 = lowered[i - 2], lowered[i - 1]
            if (w3 == "never" and w2 in _SO_THIS) or w1 in _SO_THIS:
                valence *= 1.25
            elif w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
                pass
            elif w3 in _NEGATE or "n't" in w3:
                valence *= N_SCALAR
            near_idiom = not _IDIOM_FIRST.isdisjoint(lowered[i - 3 : i + 1])
            if near_idiom and not _IDIOM_SECOND.isdisjoint(lowered[i - 2 : i + 2]):
                valence = self._special_idioms_check(valence, lowered, i)
        if i > 1 and lowered[i - 1] == "least" and "least" not in lexicon:
            if lowered[i - 2] != "at" and lowered[i - 2] != "very":
                valence *= N_SCALAR
        elif i > 0 and lowered[i - 1] == "least" and "least" not in lexicon:
            valence *= N_SCALAR
        return float(valence)

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        if start_i == 0:
            if _negated(words[i - 1].lower()):
                valence *= N_SCALAR
        elif start_i == 1:
            w2, w1 = words[i - 2].lower(), words[i - 1].lower()
            if w2 == "never" and w1 in _SO_THIS:
                valence *= 1.25
            elif w2 == "without" and w1 == "doubt":
                pass
            elif _negated(w2):
                valence *= N_SCALAR
        elif start_i == 2:
            w3, w2, w1 = words[i - 3].lower(), words[i - 2].lower(), words[i - 1].lower()
            if (w3 == "never" and w2 in _SO_THIS) or w1 in _SO_THIS:
                valence *= 1.25
            elif w3 == "without" and (w2 == "doubt" or w1 == "doubt"):
                pass
            elif _negated(w3):
                valence *= N_SCALAR
        return valence

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
        w3, w2, w1, w0 = (w.lower() for w in words[i - 3 : i + 1])
        three_two_one, three_two, two_one = f"{w3} {w2} {w1}", f"{w3} {w2}", f"{w2} {w1}"
        for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", two_one, three_two_one, three_two):
            if seq in SPECIAL_CASES:
                valence = SPECIAL_CASES[seq]
                break
        n = len(words)
        if n - 1 > i:
            zero_one = f"{w0} {words[i + 1].lower()}"
            if zero_one in SPECIAL_CASES:
                valence = SPECIAL_CASES[zero_one]
        if n - 1 > i + 1:
            zero_one_two = f"{w0} {words[i + 1].lower()} {words[i + 2].lower()}"
            if zero_one_two in SPECIAL_CASES:
                valence = SPECIAL_CASES[zero_one_two]
        for n_gram in (three_two_one, three_two, two_one):
            if n_gram in BOOSTER_DICT:
                valence = valence + BOOSTER_DICT[n_gram]
        return valence
