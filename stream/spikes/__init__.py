"""Spike detection: pure, clock injected, state serialisable. See docs/spike-detection.md."""

from stream.spikes.alerts import dedupe_key, to_alert
from stream.spikes.config import DetectorConfig
from stream.spikes.detector import SeriesKey, SpikeDetector
from stream.spikes.incident import Incident
from stream.spikes.terms import top_terms

__all__ = ["DetectorConfig", "Incident", "SeriesKey", "SpikeDetector", "dedupe_key", "to_alert", "top_terms"]
