"""Create the product's topics from infra/topics.yaml, idempotently, with their partitions and retention."""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.settings import Settings

SPEC_FILE = Path(__file__).parent / "topics.yaml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    cleanup: str
    retention_hours: int | None
    contract: str

    def configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": self.cleanup}
        if self.retention_hours is not None:
            configs["retention.ms"] = str(self.retention_hours * 3600 * 1000)
        if self.cleanup == "compact":
            # Small segments so compaction (and so unlink tombstones) takes effect within minutes.
            configs["segment.ms"] = str(10 * 60 * 1000)
            configs["min.cleanable.dirty.ratio"] = "0.1"
        return configs


def load_specs(path: Path = SPEC_FILE) -> list[TopicSpec]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return [
        TopicSpec(name, int(t["partitions"]), t["cleanup"], t.get("retention_hours"), t["contract"])
        for name, t in data["topics"].items()
    ]


def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None, *,
                  partitions: int | None = None) -> list[str]:
    """Create missing topics (with the settings' prefix); returns the names created. Safe to repeat."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    specs = load_specs() if specs is None else specs
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        existing = set(admin.list_topics())
        new = [
            NewTopic(settings.topic(s.name), partitions or s.partitions, settings.kafka_replication,
                     topic_configs=s.configs())
            for s in specs if settings.topic(s.name) not in existing
        ]
        created = []
        for topic in new:  # one at a time: a concurrent creator must not fail the whole batch
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


def delete_topics(settings: Settings, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient
    from kafka.errors import UnknownTopicOrPartitionError

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        present = set(admin.list_topics())
        doomed = [n for n in names if n in present]
        if doomed:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(doomed)
    finally:
        admin.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center topics", description=__doc__)
    parser.parse_args(argv)
    settings = Settings.from_env()
    created = ensure_topics(settings)
    print("created: " + (", ".join(created) or "none (all present)"), file=sys.stderr)
    return 0
