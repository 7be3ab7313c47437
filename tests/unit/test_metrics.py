"""Metric label values stay bounded, and each component gets its own port."""

from __future__ import annotations

import dataclasses

import pytest

from infra.metrics import port_for, reason_kind
from infra.settings import Settings
from stream.schema import Mention, SchemaError


def schema_reason(raw: bytes) -> str:
    with pytest.raises(SchemaError) as info:
        Mention.from_json(raw)
    return str(info.value)


@pytest.mark.parametrize(("raw", "kind"), [
    (b"{not json", "invalid_json"),
    (b"[1, 2]", "not_an_object"),
    (b'{"id": "x"}', "missing_field"),
    (b'{"id": "x", "platform": "p", "text": " ", "created_at": "2026-01-01T00:00:00Z", "author_handle": "a"}',
     "field_text"),
    (b'{"id": "x", "platform": "p", "text": "t", "created_at": "yesterday", "author_handle": "a"}', "other"),
    (b'{"id": 5, "platform": "p", "text": "t", "created_at": "2026-01-01T00:00:00Z", "author_handle": "a"}',
     "field_id"),
])
def test_schema_reasons_become_a_few_kinds(raw: bytes, kind: str) -> None:
    assert reason_kind(schema_reason(raw)) == kind


def test_stage_reasons_and_free_text_are_bounded() -> None:
    assert reason_kind("message of 70000 bytes, more than 65536") == "too_large"
    assert reason_kind("empty message (null value)") == "empty"
    assert reason_kind("Elasticsearch refused the document (400 mapper_parsing_exception): ...") == "es_refused"
    assert reason_kind("field 'x" + "y" * 100) == "other"  # a hostile field name is not a label
    assert reason_kind("anything at all \u202e") == "other"


def test_ports_per_component_and_instance() -> None:
    base = Settings()
    assert port_for(base, "worker") is None  # off by default
    on = dataclasses.replace(base, metrics_port=9400)
    assert [port_for(on, c) for c in ("worker", "indexer", "alerter", "listener")] == [9400, 9410, 9420, 9430]
    assert port_for(dataclasses.replace(on, metrics_instance=2), "worker") == 9402


def test_a_taken_port_leaves_the_process_running_without_metrics() -> None:
    import socket

    from infra.metrics import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve(dataclasses.replace(Settings(), metrics_port=port), "worker") is None
