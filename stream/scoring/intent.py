"""Intent: what the author wants from the care team: complaint, question, praise or other."""

from __future__ import annotations

from stream.scoring.sentiment import SentimentReading

INTENTS = ("complaint", "question", "praise", "other")
CLEAR_NEGATIVE = -0.25  # below this a negative mention is a complaint even without a care fact
CLEAR_POSITIVE = 0.3  # above this a positive mention is praise, not a passing pleasantry


def intent_of(reading: SentimentReading) -> str:
    """A negative question ("why is my flight delayed again?") is a complaint first: it needs an answer
    and an apology, so complaint wins over question."""
    s = reading.sentiment
    if s.label == "negative" and (reading.fact_weight > 0 or reading.sarcastic or s.compound <= CLEAR_NEGATIVE):
        return "complaint"
    if reading.question:
        return "question"
    if s.label == "negative":
        return "complaint"
    if s.label == "positive" and s.compound >= CLEAR_POSITIVE and not reading.sarcastic:
        return "praise"
    return "other"
