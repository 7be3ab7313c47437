"""An incident as the `alerts.spikes` message on-call receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stream.schema import SpikeAlert, format_time
from stream.spikes.config import DetectorConfig
from stream.spikes.incident import Incident


def bucket_start(config: DetectorConfig, bucket: int) -> datetime:
    return datetime.fromtimestamp(config.origin_epoch, UTC) + timedelta(seconds=bucket * config.bucket_seconds)


def dedupe_key(incident: Incident, config: DetectorConfig) -> str:
    """Stable for the life of an incident (its start never moves), readable in a pager."""
    start = bucket_start(config, incident.start).strftime("%Y%m%dT%H%M%SZ")
    return f"{incident.kind}:{incident.brand}:{incident.category or '*'}:{start}"


def severity(incident: Incident, config: DetectorConfig) -> str:
    if incident.kind == "silence":
        return "critical"  # nothing is being heard: every other alert is blind too
    if incident.score >= 2 * config.threshold and incident.observed >= 3 * max(incident.expected, 1.0):
        return "critical"
    return "warning"


def to_alert(incident: Incident, status: str, config: DetectorConfig, detected_at: datetime,
             top_terms: list[str]) -> SpikeAlert:
    return SpikeAlert(
        dedupe_key=dedupe_key(incident, config),
        kind=incident.kind,
        brand=incident.brand,
        category=incident.category,
        window_start=format_time(bucket_start(config, incident.start)),
        window_end=format_time(bucket_start(config, incident.end + 1)),
        observed=float(incident.observed),
        expected=round(incident.expected, 3),
        score=round(incident.score, 2),
        detected_at=format_time(detected_at),
        severity=severity(incident, config),
        status=status,
        top_terms=top_terms,
        sample_ids=list(incident.sample_ids),
    )
