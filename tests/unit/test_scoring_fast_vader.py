"""FastVader must give exactly stock VADER's scores: it only removes repeated work."""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from stream.scoring.fast_vader import FastVader

TEXTS = [
    "The food was not so good, but the service was absolutely great!!",
    "I never so loved a kind of quiet day",
    "Without a doubt the best, the shit, the bomb",
    "This is NOT bad at all :) but yeah right",
    "hardly the worst thing that happened, kind of okay, sort of fun",
    "no no no, never again, this isn't funny",
    "She is not the least bit happy",
    "cut the mustard? back handed compliment, the kiss of death",
]


def test_same_scores_as_stock_vader() -> None:
    stock, fast = SentimentIntensityAnalyzer(), FastVader()
    for text in TEXTS:
        assert fast.polarity_scores(text) == stock.polarity_scores(text), text
