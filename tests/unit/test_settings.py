from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import Settings, SettingsError


def test_defaults_run_on_one_machine() -> None:
    s = Settings.from_env({})
    assert s.local_kafka and s.local_es
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.topic("mentions.raw") == "mentions.raw"


def test_external_cluster_means_nothing_local() -> None:
    s = Settings.from_env({"LC_KAFKA_BOOTSTRAP": "kafka-1:9092,kafka-2:9092", "LC_ES_URL": "http://es:9200"})
    assert not s.local_kafka and not s.local_es


def test_values_are_coerced_and_prefixes_apply() -> None:
    s = Settings.from_env({"LC_WEB_PORT": "9000", "LC_SECURE_COOKIES": "yes", "LC_TOPIC_PREFIX": "t1.",
                           "LC_RUNTIME_DIR": "/srv/lc"})
    assert s.web_port == 9000 and s.secure_cookies is True
    assert s.topic("alerts.spikes") == "t1.alerts.spikes"
    assert s.runtime_dir == Path("/srv/lc")
    assert s.db_url == "sqlite:////srv/lc/listening-center.db"


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LC_WEB_PORT"):
        Settings.from_env({"LC_WEB_PORT": "eighty"})
    with pytest.raises(SettingsError, match="LC_SECURE_COOKIES"):
        Settings.from_env({"LC_SECURE_COOKIES": "maybe"})


def test_a_loopback_address_on_another_port_is_still_provisioned_locally() -> None:
    s = Settings.from_env({"LC_KAFKA_BOOTSTRAP": "127.0.0.1:19092", "LC_ES_URL": "http://localhost:19200"})
    assert s.local_kafka and s.local_es
    assert (s.kafka_port, s.es_port) == (19092, 19200)
