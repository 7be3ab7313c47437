"""Build dead-letter messages: the reason, the stage, and the original bytes (intact up to 512 kB)."""

from __future__ import annotations

import base64
from datetime import datetime

from stream.schema import DeadLetter, format_time

# The dead-letter topic has Kafka's 1 MB message limit, and base64 adds a third: a bigger original is cut
# (and the reason says so), or producing its dead letter would fail and stop the consumer that found it.
MAX_ORIGINAL_BYTES = 512 * 1024


def dead_letter(reason: str, stage: str, original: bytes, now: datetime, topic: str | None = None,
                partition: int | None = None, offset: int | None = None) -> DeadLetter:
    if len(original) > MAX_ORIGINAL_BYTES:
        reason = f"{reason} (original truncated to its first {MAX_ORIGINAL_BYTES} of {len(original)} bytes)"
        original = original[:MAX_ORIGINAL_BYTES]
    try:
        text, encoding = original.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Binary input is kept exactly (base64), so an operator can replay it after a fix.
        text, encoding = base64.b64encode(original).decode("ascii"), "base64"
    return DeadLetter(reason=reason, stage=stage, original=text, failed_at=format_time(now),
                      original_encoding=encoding, source_topic=topic, source_partition=partition,
                      source_offset=offset)
