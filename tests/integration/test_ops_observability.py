"""Real processes with LC_LOG_FORMAT=json and metrics on: one mention is followed by its id through the
listener's, the worker's and the indexer's log lines, and the worker and indexer count it on /metrics."""

from __future__ import annotations

import dataclasses
import json
import random
import socket
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from stream import documents, es_admin
from tests.conftest import Processes, settings_env, wait_for

pytestmark = pytest.mark.integration


def free_base(offsets: tuple[int, ...] = (0, 10)) -> int:
    """A base port whose ports at these offsets (worker +0, indexer +10 by default) are all free.

    Below the kernel's ephemeral range: a port free now but in that range can be taken by any outgoing
    connection (Kafka clients open many) before the component binds it, as happened once."""
    try:
        ephemeral = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32_768
    for _ in range(50):
        base = random.randrange(20_000, ephemeral - max(offsets) - 1)
        try:
            for port in (base + o for o in offsets):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def json_lines(text: str) -> list[dict[str, object]]:
    out = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue  # faust prints a banner to stdout before logging starts
        if isinstance(value, dict) and "level" in value:
            out.append(value)
    return out


def about(lines: list[dict[str, object]], mention_id: str) -> list[str]:
    return [str(line["msg"]) for line in lines if line.get("mention_id") == mention_id]


def scrape(port: int) -> str:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return ""


def test_a_mention_is_followed_by_its_id_and_counted(lc: Settings, tmp_path: Path, processes: Processes) -> None:
    base = free_base()
    settings = dataclasses.replace(lc, metrics_port=base, log_format="json", log_level="DEBUG")
    env = settings_env(settings)
    processes.start("worker", "worker", env=env)
    processes.start("indexer", "indexer", env=env)
    rows = [
        {"id": "o1", "platform": "mastodon", "brand": "SkywayAir", "text": "lost my bag again",
         "created_at": "2026-03-02T12:00:00Z", "author_handle": "amy"},
        {"id": "o2", "platform": "mastodon", "brand": "SkywayAir", "text": "crew was lovely",
         "created_at": "2026-03-02T12:00:10Z", "author_handle": "bob"},
    ]
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(r) + "\n" for r in rows))
    listener = processes.start("listener", "listen", "replay", "--file", str(replay), "--speed", "0",
                               "--no-rules", env=env)
    assert listener.wait(60) == 0, processes.log("listener")
    # A producer other than our listeners sends a broken mention: the worker dead-letters it, by its key.
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=lc.kafka_bootstrap)
    producer.send(lc.topic("mentions.raw"), key=b"mastodon:o3", value=b'{"id": "mastodon:o3", "text": "   "}')
    producer.close()

    es = es_admin.client(lc.es_url)
    alias = documents.read_alias(lc.index_prefix)

    def indexed() -> bool:
        if not es.indices.exists_alias(name=alias):
            return False
        es.indices.refresh(index=alias)
        return int(es.count(index=alias)["count"]) == 2

    wait_for(indexed, timeout=120, what="two mentions indexed")
    worker_metrics = wait_for(lambda: (m := scrape(base)) and 'lc_mentions_in_total{stage="worker"} 3.0' in m and m,
                              timeout=30, what="worker metrics")
    assert 'lc_dead_letters_total{reason="missing_field",stage="worker"} 1.0' in worker_metrics
    assert 'lc_stage_seconds_count{stage="worker"} 3.0' in worker_metrics
    indexer_metrics = scrape(base + 10)
    assert 'lc_mentions_out_total{outcome="indexed",stage="indexer"} 2.0' in indexer_metrics
    assert "lc_indexer_bulk_documents_count" in indexer_metrics
    assert 'lc_consumer_lag{group="indexer"} 0.0' in indexer_metrics

    listener_lines = json_lines(processes.log("listener"))
    worker_lines = wait_for(lambda: about(json_lines(processes.log("worker")), "mastodon:o3")
                            and json_lines(processes.log("worker")), timeout=30, what="worker log lines")
    indexer_lines = json_lines(processes.log("indexer"))
    assert about(listener_lines, "mastodon:o1") == [f"sent to {lc.topic('mentions.raw')}"]
    assert about(worker_lines, "mastodon:o1") == ["scored negative"]
    assert about(indexer_lines, "mastodon:o1") == ["indexed"]
    assert about(worker_lines, "mastodon:o3") == ["dead-lettered: Mention: missing required field 'platform'"]
    assert {line["component"] for line in worker_lines} == {"worker"}
