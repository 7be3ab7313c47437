"""JSON log lines carry the mention id as a correlation id; text lines show it too."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from infra.logs import JsonFormatter, TextFormatter, configure, correlation
from infra.settings import Settings


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("lc.worker", logging.INFO, __file__, 1, msg, (), None)
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_json_line_has_the_mention_id_from_extra_or_from_the_block() -> None:
    fmt = JsonFormatter("worker")
    line = json.loads(fmt.format(record("dead-lettered", mention_id="mastodon:1", reason="too_large")))
    assert line["mention_id"] == "mastodon:1" and line["component"] == "worker" and line["reason"] == "too_large"
    assert line["level"] == "info" and line["msg"] == "dead-lettered" and line["ts"].endswith("Z")
    with correlation("bluesky:9"):
        assert json.loads(fmt.format(record("scored")))["mention_id"] == "bluesky:9"
    assert "mention_id" not in json.loads(fmt.format(record("tick")))


def test_hostile_text_stays_one_json_line() -> None:
    line = JsonFormatter("listener").format(record("bad \n\u202e \x00 \"quoted\""))
    assert "\n" not in line and json.loads(line)["msg"] == "bad \n\u202e \x00 \"quoted\""


def test_text_format_appends_the_mention() -> None:
    with correlation("rss:abc"):
        assert TextFormatter("indexer").format(record("indexed")).endswith("indexed [mention rss:abc]")


def test_configure_picks_the_format_and_refuses_an_unknown_one() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    try:
        handler = configure(dataclasses.replace(Settings(), log_format="json"), "worker", "debug")
        assert isinstance(handler.formatter, JsonFormatter) and root.level == logging.DEBUG
        with pytest.raises(ValueError, match="LC_LOG_FORMAT"):
            configure(dataclasses.replace(Settings(), log_format="xml"), "worker")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
