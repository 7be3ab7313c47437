"""VADER with the same results, less repeated work.

vaderSentiment 3.3.2 lowercases the whole sentence again in its negation and idiom checks, once per
sentiment word and look-back step: quadratic in the sentence length, and most of its run time. These
overrides read only the three or so neighbouring words they need. `tests/unit/test_scoring_fast_vader.py`
checks that compounds equal stock VADER's; the speed-up pays for the care lexicon's extra work per mention.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import BOOSTER_DICT, N_SCALAR, NEGATE, SPECIAL_CASES, SentimentIntensityAnalyzer

_NEGATE = frozenset(NEGATE)
_SO_THIS = ("so", "this")


def _negated(word: str) -> bool:
    return word in _NEGATE or "n't" in word


class FastVader(SentimentIntensityAnalyzer):
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
