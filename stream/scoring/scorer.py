"""The `Scorer` facade: one call turns a mention's text (and what we know of its author) into a judgement."""

from __future__ import annotations

from dataclasses import dataclass

from stream.schema import Priority, Sentiment
from stream.scoring.categories import DEFAULT_TAXONOMY, Taxonomy, load_taxonomy
from stream.scoring.guard import scorable
from stream.scoring.intent import intent_of
from stream.scoring.lexicon import DEFAULT_LEXICON, CareLexicon, load_lexicon
from stream.scoring.priority import PriorityInputs, prioritise
from stream.scoring.sentiment import CareSentiment


@dataclass(frozen=True, slots=True)
class Judgement:
    sentiment: Sentiment
    categories: list[str]
    intent: str
    priority: Priority
    lexicon_version: str


class Scorer:
    """Loads the data files once; `score` is then pure and safe to call from any number of agents."""

    def __init__(
        self,
        lexicon: CareLexicon | None = None,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self.lexicon = lexicon if lexicon is not None else load_lexicon(DEFAULT_LEXICON)
        self.taxonomy = taxonomy if taxonomy is not None else load_taxonomy(DEFAULT_TAXONOMY)
        # The urgency terms and the categories are matched in the sentiment's one pass over the words.
        self._sentiment = CareSentiment(self.lexicon, also=(self.lexicon.urgency_terms, self.taxonomy.index))
        # Both files' versions, so a judgement can be traced to the exact rules that made it.
        self.lexicon_version = f"{self.lexicon.version}+{self.taxonomy.version}"

    def score(
        self,
        text: str,
        *,
        followers: int | None = None,
        linked: bool = False,
        tier: str | None = None,
        repeat_complaints: int = 0,
        waited_seconds: float = 0.0,
    ) -> Judgement:
        text = scorable(text)  # hostile input (huge, invisible controls) is bounded before any work
        reading = self._sentiment.read(text)
        intent = intent_of(reading)
        urgency_hits, category_hits = reading.also_hits
        priority = prioritise(
            PriorityInputs(
                compound=reading.sentiment.compound,
                intent=intent,
                words=reading.words,
                word_set=reading.word_set,
                followers=followers,
                linked=linked,
                tier=tier,
                repeat_complaints=repeat_complaints,
                waited_seconds=waited_seconds,
                urgency_hits=urgency_hits,
            ),
            self.lexicon,
        )
        categories = self.taxonomy.classify(
            text, reading.sentiment.label, reading.words, reading.word_set, category_hits
        )
        return Judgement(
            sentiment=reading.sentiment,
            categories=categories,
            intent=intent,
            priority=priority,
            lexicon_version=self.lexicon_version,
        )
