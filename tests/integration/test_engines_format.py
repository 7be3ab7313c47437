"""Kafka storage formatting with the ids that broke it: a random cluster id may start with "-"."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infra.engines.local import Paths, find_java, kafka_format_argv, write_kafka_config
from infra.settings import Settings


def test_cluster_id_starting_with_a_dash_formats(engines: Settings, tmp_path: Path) -> None:
    # The session's engines fixture has provisioned Kafka into the shared cache; only the data dir is ours.
    paths = Paths(tmp_path, engines.cache_dir)
    java = find_java(17)
    assert java is not None, "Kafka needs Java 17+: apt-get install openjdk-17-jre-headless"
    config = write_kafka_config(paths, 29092)
    argv = kafka_format_argv(str(java / "bin" / "java"), f"{paths.kafka_libs}/*", "-AbCdEfGhIjKlMnOpQrStUv", config)
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStUv" in (paths.kafka_data / "meta.properties").read_text()
