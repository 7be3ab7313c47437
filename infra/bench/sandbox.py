"""A fresh topic and index prefix for one bench phase, created up front and deleted afterwards.

Prefixes keep a bench run from reading (or leaving behind) anyone else's data on a shared cluster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from infra.settings import Settings

log = logging.getLogger("lc.bench")


def new_tag(kind: str = "") -> str:
    return f"bench{kind}{uuid.uuid4().hex[:8]}"


def settings_for(base: Settings, tag: str, runtime: Path) -> Settings:
    return dataclasses.replace(base, topic_prefix=f"{tag}.", index_prefix=tag, runtime_dir=runtime / tag)


@contextlib.contextmanager
def sandbox(base: Settings, kind: str = "") -> Iterator[Settings]:
    """Settings with their own topics (created now) and indices; both dropped when the block ends."""
    from infra.topics import ensure_topics

    tag = new_tag(kind)
    runtime = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    settings = settings_for(base, tag, runtime)
    ensure_topics(settings)
    try:
        yield settings
    finally:
        try:
            drop(settings, tag)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)


def drop(settings: Settings, tag: str) -> None:
    """Delete every topic whose name starts with the tag (the product's and faust's own) and the indices."""
    from kafka import KafkaAdminClient

    from infra.topics import delete_topics
    from stream import es_admin

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith(tag))
    finally:
        admin.close()
    delete_topics(settings, names)
    es_admin.delete_prefix(es_admin.client(settings.es_url), settings.index_prefix)
    log.info("dropped %d topics and the indices of %s", len(names), tag)
