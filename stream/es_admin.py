"""Index lifecycle against a real Elasticsearch: templates, monthly indices and their aliases."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

from stream import documents


def client(url: str, **kwargs: Any) -> Elasticsearch:
    # The integ-test node has no `GET /`, so the client must not sniff or ping it.
    options: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 3}
    return Elasticsearch(url, **(options | kwargs))


def ensure_template(es: Elasticsearch, prefix: str, spec: dict[str, Any] | None = None) -> None:
    spec = spec or documents.mapping()
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
    # The template first, every time a month is made: an index created before it (by a writer that
    # started earlier) would get dynamic mappings, and sorts and aggregations on it would be refused.
    ensure_template(es, prefix)
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


# --- Lifecycle: mapping roll-out and retention -------------------------------------------------------

_INDEX_NAME = re.compile(r"^(?P<prefix>.+)-mentions-v(?P<version>\d+)-(?P<month>\d{4}\.\d{2})$")


class RolloutError(RuntimeError):
    """Documents could not be copied; the read alias was left on the old index so nothing disappears."""


@dataclass(frozen=True)
class MonthlyIndex:
    name: str
    version: int
    month: str  # YYYY.MM


def parse_index(name: str, prefix: str) -> MonthlyIndex | None:
    found = _INDEX_NAME.match(name)
    if found is None or found["prefix"] != prefix:
        return None
    return MonthlyIndex(name, int(found["version"]), found["month"])


def _month_number(month: str) -> int:
    year, mon = month.split(".")
    return int(year) * 12 + int(mon) - 1


def expired(indices: Iterable[MonthlyIndex], now: datetime, keep_months: int) -> list[MonthlyIndex]:
    """Indices whose month is older than the `keep_months` most recent months (the current one included).

    Future months (a skewed clock on a source) are kept: only age is a reason to drop data.
    """
    if keep_months < 1:
        raise ValueError("keep_months must be at least 1: keeping no month would drop the live one")
    oldest_kept = now.year * 12 + now.month - 1 - (keep_months - 1)
    return sorted((i for i in indices if _month_number(i.month) < oldest_kept), key=lambda i: (i.month, i.name))


def list_indices(es: Elasticsearch, prefix: str) -> list[MonthlyIndex]:
    try:
        names = es.indices.get(index=f"{prefix}-mentions-v*", expand_wildcards="open,closed").keys()
    except NotFoundError:
        return []
    found = (parse_index(n, prefix) for n in names)
    return sorted((i for i in found if i is not None), key=lambda i: (i.month, i.version))


def drop_expired(es: Elasticsearch, prefix: str, now: datetime, keep_months: int,
                 dry_run: bool = False) -> list[str]:
    """Delete the monthly indices older than `keep_months`; their aliases go with them."""
    names = [i.name for i in expired(list_indices(es, prefix), now, keep_months)]
    if names and not dry_run:
        es.indices.delete(index=",".join(names), ignore_unavailable=True)
    return names


@dataclass
class CopyCount:
    created: int = 0
    existed: int = 0  # 409: a live write reached the new index first, and it is newer than our copy
    failed: list[str] = field(default_factory=list)

    def add(self, other: CopyCount) -> None:
        self.created += other.created
        self.existed += other.existed
        self.failed += other.failed


@dataclass
class MonthRollout:
    month: str
    target: str
    sources: list[str]
    copy: CopyCount
    deleted: bool


def copy_documents(es: Elasticsearch, source: str, target: str, query: dict[str, Any] | None = None,
                   chunk: int = 2000) -> CopyCount:
    """Copy with `create`: a document already in the target came from live ingestion after the write
    alias moved, so it is newer than the one being copied and must win."""
    count = CopyCount()
    hits = helpers.scan(es, index=source, query={"query": query or {"match_all": {}}}, size=chunk,
                        scroll="5m")
    actions = ({"_op_type": "create", "_index": target, "_id": h["_id"], "_source": h["_source"]} for h in hits)
    for ok, item in helpers.streaming_bulk(es, actions, chunk_size=chunk, raise_on_error=False,
                                           max_retries=5, initial_backoff=0.5):
        result = item["create"]
        if ok:
            count.created += 1
        elif result.get("status") == 409:
            count.existed += 1
        else:
            count.failed.append(f"{result.get('_id')}: {result.get('error')}")
    return count


def rollout(es: Elasticsearch, prefix: str, spec: dict[str, Any], now: Callable[[], datetime],
            *, keep_old: bool = False, catch_up_seconds: float = 300.0,
            report: Callable[[str], None] = lambda _msg: None) -> list[MonthRollout]:
    """Move every month to mapping version `spec['version']` while the indexer keeps writing.

    Per month: create the new index, move the write alias to it (atomic, so new writes land there from
    then on), copy the old index into it, copy again what was written around the move (a bulk request
    that resolved the alias just before it), then swap the read alias in one atomic step and drop the
    old index. Between the alias move and the swap, searches see the old index: new mentions of that
    month appear when the swap is done (seconds), which is the price of never showing a mention twice.
    Re-running after a failure resumes: months already on the new version are skipped.
    """
    version = int(spec["version"])
    ensure_template(es, prefix, spec)
    read = documents.read_alias(prefix)
    by_month: dict[str, list[MonthlyIndex]] = {}
    for index in list_indices(es, prefix):
        by_month.setdefault(index.month, []).append(index)
    done: list[MonthRollout] = []
    for month, indices in sorted(by_month.items()):
        sources = [i.name for i in indices if i.version != version]
        if not sources:
            continue
        target = documents.monthly_index(prefix, month, version)
        write = documents.write_alias(prefix, month)
        try:
            es.indices.create(index=target, settings=spec["settings"], mappings=spec["mappings"])
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        moved_at = now()
        es.indices.update_aliases(actions=[
            *({"remove": {"index": s, "alias": write, "must_exist": False}} for s in sources),
            {"add": {"index": target, "alias": write, "is_write_index": True}},
        ])
        report(f"{month}: writes now go to {target}; copying {', '.join(sources)}")
        count = CopyCount()
        for source in sources:
            es.indices.refresh(index=source)
            count.add(copy_documents(es, source, target))
        # A bulk request that resolved the write alias just before the move lands in the old index
        # after it: copy again what was indexed around the move.
        since = (moved_at - timedelta(seconds=catch_up_seconds)).isoformat()
        for source in sources:
            es.indices.refresh(index=source)
            late = copy_documents(es, source, target, {"range": {"indexed_at": {"gte": since}}})
            count.failed += late.failed
            count.created += late.created
        if count.failed:
            raise RolloutError(f"{month}: {len(count.failed)} documents could not be copied to {target}; "
                               f"the read alias still points at {', '.join(sources)}. First: {count.failed[0]}")
        es.indices.refresh(index=target)
        es.indices.update_aliases(actions=[
            {"add": {"index": target, "alias": read}},
            *({"remove": {"index": s, "alias": read, "must_exist": False}} for s in sources),
        ])
        if not keep_old:
            es.indices.delete(index=",".join(sources), ignore_unavailable=True)
        report(f"{month}: {count.created} copied, {count.existed} already written live; "
               f"reads now from {target}" + ("" if keep_old else f"; dropped {', '.join(sources)}"))
        done.append(MonthRollout(month, target, sources, count, not keep_old))
    return done
