"""`listening-center engines provision|start|stop|status`: the local Kafka and Elasticsearch only."""

from __future__ import annotations

import argparse
import sys

from infra.engines.local import (
    EngineError,
    Paths,
    es_health,
    kafka_ready,
    provision_elasticsearch,
    provision_kafka,
    start,
    stop_all,
)
from infra.settings import Settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center engines")
    parser.add_argument("action", choices=["provision", "start", "stop", "status"])
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.action == "provision":
            paths = Paths.of(settings)
            provision_kafka(paths)
            provision_elasticsearch(paths)
        elif args.action == "start":
            start(settings)
        elif args.action == "stop":
            stopped = stop_all(settings)
            print("stopped: " + (", ".join(stopped) or "nothing was running"))
        else:
            k = kafka_ready(settings.kafka_bootstrap)
            e = es_health(settings.es_url)
            print(f"kafka {settings.kafka_bootstrap}: {'up' if k else 'down'}")
            print(f"elasticsearch {settings.es_url}: {e or 'down'}")
            return 0 if k and e in ("green", "yellow") else 1
    except EngineError as exc:
        print(f"listening-center: {exc}", file=sys.stderr)
        return 1
    return 0
