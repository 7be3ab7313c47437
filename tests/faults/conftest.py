"""The fault tests own an engine pair (Kafka 19092, Elasticsearch 19200), so killing it disturbs nobody."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.scenario import EnginePair, engine_pair


@pytest.fixture(scope="session")
def fault_engines() -> Iterator[EnginePair]:
    with engine_pair() as pair:
        yield pair
