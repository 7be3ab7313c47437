"""Options every kafka-python consumer of the product needs.

kafka-python refuses network frames over `receive_message_max_bytes` (1 MB by default) while it asks
brokers for up to `fetch_max_bytes` (50 MB) per fetch: a consumer catching up on a busy topic then fails
with "Invalid frame length". The frame limit must exceed the fetch size.
"""

from __future__ import annotations

FETCH_MAX_BYTES = 50 * 1024 * 1024
CONSUMER_DEFAULTS: dict[str, int] = {
    "fetch_max_bytes": FETCH_MAX_BYTES,
    "receive_message_max_bytes": FETCH_MAX_BYTES + 1024 * 1024,
}
