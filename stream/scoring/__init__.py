"""Scoring: sentiment with a customer-care lexicon, categories, intent and priority. Pure; no I/O beyond
loading the package's own data files once."""

from stream.scoring.scorer import Judgement, Scorer

__all__ = ["Judgement", "Scorer"]
