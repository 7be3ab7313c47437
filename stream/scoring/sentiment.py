"""Sentiment: VADER's compound, corrected by the customer-care lexicon.

VADER's per-word machinery (negation, intensifiers, ALL CAPS, "but") runs once per mention. Care words
are looked up through a second lexicon only at the positions where they occur, so the plain VADER reading
comes for free next to ours: it is kept as `vader_compound`, and a disagreement between the two is one of
the signals that marks a mention `uncertain`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    N_SCALAR,
    SentimentIntensityAnalyzer,
    normalize,
)

from stream.schema import Sentiment
from stream.scoring.fast_vader import FastVader, vader_tokens
from stream.scoring.keywords import KeywordIndex, split, tokenize
from stream.scoring.lexicon import CareLexicon

POSITIVE_AT = 0.05  # VADER's own thresholds, so labels stay comparable with plain VADER
NEGATIVE_AT = -0.05
# Politeness around a complaint is discounted only once the complaint facts weigh this much (one clear
# fact such as "delayed" or "on hold"), so a lone "refund" does not turn "thanks!" neutral.
FACT_WEIGHT_FOR_POLITENESS = 1.0
SARCASM_FLIP = -0.5  # praise next to a complaint fact and a sarcasm cue counts as half-strength blame

_NEGATED_BEFORE = re.compile(r"(?:\b(?:not|never|no|without|hardly|barely)|n't|\bnt)\s+(?:\S+\s+)?$")
_BUT = re.compile(r"\bbut\b")
_HANDLE = re.compile(r"@(\w+)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_QUESTION_START = re.compile(
    r"^(?:[@#]\S+\s+)*(?:who|what|when|where|why|how|which|can|could|would|will|do|does|did|is|are|was|"
    r"were|should|may|any|anyone|has|have)\b"
)


class SentimentReading(NamedTuple):
    """A named tuple: immutable like a frozen dataclass, and about a microsecond cheaper to build."""

    sentiment: Sentiment
    fact_weight: float  # summed weight of complaint facts found ("delayed", "on hold", ...)
    sarcastic: bool
    question: bool
    lower: str  # the text lowercased, and its word tokens: computed once, reused by categories and priority
    words: tuple[str, ...]
    word_set: frozenset[str]
    also_hits: tuple[set[int], ...] = ()  # what each of the `also` indexes found in `words`, in their order


def label_for(compound: float) -> str:
    if compound >= POSITIVE_AT:
        return "positive"
    if compound <= NEGATIVE_AT:
        return "negative"
    return "neutral"


class CareSentiment:
    """Reads one text; holds only immutable, precompiled state, so one instance serves every mention."""

    def __init__(self, lexicon: CareLexicon, also: Sequence[KeywordIndex] = ()) -> None:
        """`also`: keyword indexes of other parts (urgency, categories) to match in the same pass over the
        words as the lexicon's phrase and sarcasm triggers; their hits come back in `also_hits`."""
        self.lexicon = lexicon
        self._parts = 2 + len(also)
        self._index = KeywordIndex.combine([lexicon.phrase_triggers, lexicon.sarcasm_triggers, *also])
        self._vader = FastVader()
        self._care_lexicon = {**self._vader.lexicon, **{w: c.valence for w, c in lexicon.words.items()}}
        # Words either lexicon can score; boosters score nothing themselves, they scale their neighbours.
        self._opinion_words = frozenset(self._care_lexicon).difference(BOOSTER_DICT)
        # VADER swaps emoji for their descriptions char by char in Python. Every emoji is non-ASCII and no
        # description holds an emoji, so replacing just the distinct non-ASCII characters a text has gives
        # the same string; str.translate would look up every character, ASCII text included.
        self._emojis = {e: f" {d} " for e, d in self._vader.emojis.items() if len(e) == 1}
        if any(e.isascii() for e in self._emojis) or any(c in self._emojis for d in self._emojis.values() for c in d):
            raise ValueError("VADER's emoji table no longer fits the replacement shortcut")

    def read(self, text: str) -> SentimentReading:
        lex = self.lexicon
        # VADER strips the text too; splitting at white space and counting "!" and "?" need no strip.
        t = text if text.isascii() else self._with_emoji_described(text)
        tokens, cap_diff = vader_tokens(t)
        # Tokens hold no white space and str.lower never makes any, so this is each token lowered, in C.
        lowered = " ".join(tokens).lower().split()
        vader, care_words, care_lexicon = self._vader, lex.words, self._care_lexicon
        handles: frozenset[str] | None = None  # found only when a scored word could be one
        n = len(tokens)
        base = [0.0] * n  # what VADER gives a word it does not know, and a booster: most words
        fact = 0.0
        changed = False
        opinion = self._opinion_words
        # "kind of" is a hedge, not kindness.
        hits = [i for i, low in enumerate(lowered)
                if low in opinion and not (low == "kind" and lowered[i + 1 : i + 2] == ["of"])]
        vader_lexicon = vader.lexicon
        for i in hits:
            if lowered[i] in vader_lexicon:  # else 0.0: a care word VADER does not know
                base[i] = vader.valence_at(vader_lexicon, tokens, lowered, cap_diff, i)
        care = list(base)
        for i in hits:
            low = lowered[i]
            word = care_words.get(low)
            if word is not None:
                valence = care[i] = vader.valence_at(care_lexicon, tokens, lowered, cap_diff, i)
                changed = True
                if word.fact and valence < 0:
                    fact -= valence
            elif base[i] != 0.0 and "@" in text:
                # VADER strips the "@" and reads "@united" as "united" (+1.8): a handle is not an opinion.
                if handles is None:
                    handles = frozenset(h.lower() for h in _HANDLE.findall(text))
                if low in handles:
                    care[i] = 0.0
                    changed = True
        if "but" in lowered:
            base = SentimentIntensityAnalyzer._but_check(tokens, base)
            care = SentimentIntensityAnalyzer._but_check(tokens, care) if changed else list(base)

        # Phrases and cues read the author's own text, not emoji descriptions (a 🔥 is not a fire).
        lower = text.lower()
        words = tokenize(lower)
        word_set = frozenset(words)
        triggered, sarcasm_triggered, *also_hits = split(self._index.match(words, word_set), self._parts)
        but = _BUT.search(lower) if triggered and "but" in lower else None
        for index in triggered:
            phrase = lex.phrases[index]
            if phrase.loose.search(lower) is None:  # most triggered phrases are not there; see `loosen`
                continue
            for m in phrase.pattern.finditer(lower):
                valence = phrase.valence
                if _NEGATED_BEFORE.search(lower, max(0, m.start() - 30), m.start()):
                    valence *= N_SCALAR
                if but is not None:
                    valence *= 0.5 if m.start() < but.start() else 1.5
                care.append(valence)
                if phrase.fact and valence < 0:
                    fact -= valence

        sarcastic = bool(sarcasm_triggered) and any(lex.sarcasm[i].search(lower) is not None for i in sarcasm_triggered)
        if fact >= FACT_WEIGHT_FOR_POLITENESS and (
            lex.gratitude_loose.search(lower) is None or lex.gratitude.search(lower) is None
        ):
            for i, low in enumerate(lowered):
                if low in lex.polite and care[i] > 0:
                    care[i] = 0.0
        if sarcastic and fact > 0:
            care = [v * SARCASM_FLIP if v > 0 else v for v in care]

        # VADER's emphasis counts "!" and "?": 0.0 without either, as it would compute.
        punctuation = vader._punctuation_emphasis(t) if "!" in t or "?" in t else 0.0
        vader_compound = _compound(base, punctuation)
        compound = vader_compound if care == base else _compound(care, punctuation)  # most texts: no care word
        label, vader_label = label_for(compound), label_for(vader_compound)
        flipped = label != vader_label and "neutral" not in (label, vader_label)  # positive against negative
        mixed = abs(compound) < 0.5 and max(care, default=0.0) >= 1.5 and min(care, default=0.0) <= -1.5
        question = "?" in text or _QUESTION_START.match(lower) is not None
        sentiment = Sentiment(
            label=label,
            compound=compound,
            vader_compound=vader_compound,
            uncertain=sarcastic or flipped or mixed,
        )
        return SentimentReading(
            sentiment, round(fact, 3), sarcastic, question, lower, tuple(words), word_set, tuple(also_hits)
        )

    def _with_emoji_described(self, text: str) -> str:
        emojis = self._emojis
        for ch in set(_NON_ASCII.findall(text)):
            description = emojis.get(ch)
            if description is not None:
                text = text.replace(ch, description)
        return text


def _compound(sentiments: list[float], punctuation: float) -> float:
    """VADER's sum, punctuation emphasis and normalisation, without its pos/neu/neg split we do not use."""
    total = float(sum(sentiments))
    if total == 0:
        return total  # what normalize and round give for zero: most texts have no sentiment word
    if total > 0:
        total += punctuation
    elif total < 0:
        total -= punctuation
    return round(float(normalize(total)), 4)
