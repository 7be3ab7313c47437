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


def test_the_care_reading_keeps_stock_vader_compounds() -> None:
    """`CareSentiment` scores VADER's words through `valence_at`; the plain reading it keeps must still be
    stock VADER's, on the hard cases above and on the shared labelled set's style of text."""
    from stream.scoring.lexicon import load_lexicon
    from stream.scoring.sentiment import CareSentiment

    stock, care = SentimentIntensityAnalyzer(), CareSentiment(load_lexicon())
    extra = ["kind of kind of nice but kind of KIND", "no good no GOOD at least at LEAST not the least bit",
             "NOT bad, not BAD at all!!! ?? :D <3", "The flight was GREAT but the crew was rude", ""]
    for text in TEXTS + extra:
        assert care.read(text).sentiment.vader_compound == stock.polarity_scores(text)["compound"], text


def test_the_care_reading_keeps_stock_vader_compounds_on_word_salad() -> None:
    """Seeded random runs of the words VADER's rules look at (boosters, negations, idioms, "but", "least",
    ALL CAPS) next to sentiment words: every branch of the unrolled look-back in `valence_at`."""
    import random

    from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES

    from stream.scoring.lexicon import load_lexicon
    from stream.scoring.sentiment import CareSentiment

    stock, care = SentimentIntensityAnalyzer(), CareSentiment(load_lexicon())
    rnd = random.Random(7)
    pool = (rnd.sample(sorted(stock.lexicon), 200) + sorted(BOOSTER_DICT)[:60] + list(NEGATE)
            + [w for idiom in SPECIAL_CASES for w in idiom.split()]
            + ["never", "so", "this", "without", "doubt", "no", "or", "nor", "least", "at", "very", "but", "kind",
               "of", "delayed", "please", "!"])
    for _ in range(3000):
        words = [rnd.choice(pool) for _ in range(rnd.randint(1, 12))]
        text = " ".join(w.upper() if rnd.random() < 0.2 else w for w in words)
        assert care.read(text).sentiment.vader_compound == stock.polarity_scores(text)["compound"], text
