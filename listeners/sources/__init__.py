"""Listener sources: one module per platform, each turning platform payloads into `stream.schema.Mention`.

A source yields `RawItem`s (a post in the platform's own shape, already decoded, plus the cursor value
that becomes durable once the item is acknowledged by Kafka); `listeners.runner` matches, dedupes and sends.
"""
