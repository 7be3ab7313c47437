"""Logging for every entry point: text for a person at a terminal, JSON lines for a log shipper.

LC_LOG_FORMAT=json|text (default text), LC_LOG_LEVEL. A line about one mention carries its id as the
correlation id (`mention_id`), so one post can be followed from the listener through the worker to the
indexer with a single filter. The id comes from `extra={"mention_id": ...}` on the call, or from the
`correlation(mention_id)` block the line was logged in.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from infra.settings import Settings

_MENTION: ContextVar[str | None] = ContextVar("lc_mention_id", default=None)
FORMATS = ("text", "json")
# Extra fields worth keeping in a JSON line when a call passes them.
EXTRA_FIELDS = ("mention_id", "topic", "partition", "offset", "count", "source", "stage", "reason")
NOISY = ("kafka", "aiokafka", "elastic_transport", "urllib3", "httpx")  # a line per connection at INFO


@contextmanager
def correlation(mention_id: str | None) -> Iterator[None]:
    """Every log line inside this block is about this mention."""
    token = _MENTION.set(mention_id)
    try:
        yield
    finally:
        _MENTION.reset(token)


def mention_of(record: logging.LogRecord) -> str | None:
    found = getattr(record, "mention_id", None) or _MENTION.get()
    return str(found) if found else None


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        mention = mention_of(record)
        if mention:
            out["mention_id"] = mention
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {component} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        mention = mention_of(record)
        return f"{line} [mention {mention}]" if mention else line


def handler(settings: Settings, component: str) -> logging.Handler:
    if settings.log_format not in FORMATS:
        raise ValueError(f"LC_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {settings.log_format!r}")
    out = logging.StreamHandler(sys.stderr)
    out.setFormatter(JsonFormatter(component) if settings.log_format == "json" else TextFormatter(component))
    return out


def configure(settings: Settings, component: str, level: str | None = None) -> logging.Handler:
    """Replace the root logger's handlers with ours; returns the handler (faust is handed it too)."""
    root = logging.getLogger()
    new = handler(settings, component)
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(new)
    root.setLevel((level or settings.log_level).upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    return new


def dict_config(settings: Settings, component: str) -> dict[str, Any]:
    """The same set-up as `configure`, for frameworks that apply a dictConfig of their own (faust's worker)."""
    quiet = (*NOISY, "faust", "mode")  # faust's INFO is a table per rebalance
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"lc": {"()": lambda: handler(settings, component)}},
        "root": {"level": settings.log_level.upper(), "handlers": ["lc"]},
        "loggers": {name: {"level": "WARNING"} for name in quiet},
    }
