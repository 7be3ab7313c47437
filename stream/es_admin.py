"""Index lifecycle against a real Elasticsearch: templates, monthly indices and their aliases."""

from __future__ import annotations

import contextlib
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from stream import documents


def client(url: str, **kwargs: Any) -> Elasticsearch:
    # The integ-test node has no `GET /`, so the client must not sniff or ping it.
    return Elasticsearch(url, request_timeout=30, retry_on_timeout=True, max_retries=3, **kwargs)


def ensure_template(es: Elasticsearch, prefix: str) -> None:
    spec = documents.mapping()
    es.indices.put_index_template(
        name=f"{prefix}-mentions-v{spec['version']}",
        index_patterns=[f"{prefix}-mentions-v{spec['version']}-*"],
        template={"settings": spec["settings"], "mappings": spec["mappings"]},
        priority=100 + int(spec["version"]),
        meta={"mapping_version": spec["version"]},
    )


def ensure_month(es: Elasticsearch, prefix: str, month: str) -> str:
    """Create the month's index (from the template) with its write and read aliases if missing."""
    alias = documents.write_alias(prefix, month)
    if es.indices.exists_alias(name=alias):
        return alias
    index = documents.monthly_index(prefix, month)
    try:
        es.indices.create(index=index, aliases={
            alias: {"is_write_index": True},
            documents.read_alias(prefix): {},
        })
    except Exception as exc:  # a concurrent indexer created it first: that is fine
        if "resource_already_exists_exception" not in str(exc):
            raise
        es.indices.put_alias(index=index, name=alias)
        es.indices.put_alias(index=index, name=documents.read_alias(prefix))
    return alias


def delete_prefix(es: Elasticsearch, prefix: str) -> None:
    """Tests: drop every index and template of a prefix."""
    try:
        names = list(es.indices.get(index=f"{prefix}-mentions-*", expand_wildcards="all").keys())
    except NotFoundError:
        names = []
    if names:
        es.indices.delete(index=",".join(names), ignore_unavailable=True)
    with contextlib.suppress(NotFoundError):
        es.indices.delete_index_template(name=f"{prefix}-mentions-v*")
