"""Privacy: erase one person's data on request, and retention of old mentions and closed cases.

`listening-center erase --platform P --handle H`, in this order (each step idempotent, so a run that
stopped half way is finished by running it again):
1. Elasticsearch: every mention by that author on that platform, found through the read alias and deleted
   by id (the local node has no `_delete_by_query`, so it is scan + bulk delete), then a refresh so
   nothing of theirs is searchable when the command returns.
2. Kafka: a tombstone (null value) for their key on the compacted identity.links, so every worker drops
   the link, and compaction removes the link record itself.
3. Database, in one transaction with the audit entry:
   - deleted: their handle link and verification codes, their mentions' queue states (which hold the post),
     replies sent to those mentions and corrections made on them;
   - anonymised, not deleted: cases about them (author key, mention id, notes and apology cleared). A case
     records compensation the airline paid; its amounts, category and times stay for the books and reports.
   - kept: the loyalty member (the loyalty system is the record of members; erasing a member is done there
     and arrives with the next directory import), and earlier audit entries (append-only by design).
   The audit entry names the person by a SHA-256 of the key, not the handle itself: it proves the
   erasure happened, and a repeated request can be matched to it, without keeping who it was.

Not covered (see docs/operations.md): copies in Kafka's mentions.* topics until their retention (7 days)
removes them; a replay of those topics before then re-indexes them, so erase again after a replay.

`listening-center retention`: drops monthly mention indices older than LC_MENTION_RETENTION_MONTHS and
anonymises resolved cases older than LC_CASE_RETENTION_DAYS (0 = keep, for each).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from infra.settings import Settings
from stream.schema import link_key

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from web.models import Case

ERASED = "erased"  # the author key of an anonymised case


@dataclass
class Erasure:
    key_sha256: str
    mentions_deleted: int = 0
    links: int = 0
    verification_codes: int = 0
    mention_states: int = 0
    replies: int = 0
    corrections: int = 0
    cases_anonymised: int = 0


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def author_query(platform: str, handle: str) -> dict[str, Any]:
    """Their mentions: `author_handle` is a lower-case-normalised keyword, stored without the @."""
    return {"bool": {"filter": [
        {"terms": {"platform": sorted({platform, platform.lower()})}},
        {"term": {"author_handle": handle.lstrip("@")}},
    ]}}


def erase_mentions(es: Elasticsearch, prefix: str, platform: str, handle: str) -> list[str]:
    """Delete their mentions from every monthly index behind the read alias; returns the mention ids."""
    from elasticsearch import helpers

    from stream.documents import read_alias

    alias = read_alias(prefix)
    hits = list(helpers.scan(es, index=alias, query={"query": author_query(platform, handle), "_source": False},
                             ignore_unavailable=True))
    actions = [{"_op_type": "delete", "_index": h["_index"], "_id": h["_id"]} for h in hits]
    if actions:
        helpers.bulk(es, actions, refresh=False)
    es.indices.refresh(index=alias, ignore_unavailable=True)
    return [h["_id"] for h in hits]


def anonymise_case(case: Case) -> None:
    case.author_key, case.mention_id, case.notes, case.apology = ERASED, None, "", ""


def erase_records(session: Session, key: str, mention_ids: Iterable[str], now: datetime) -> Erasure:
    """Database part of an erasure, with its audit entry; the caller commits."""
    from web import audit
    from web.models import Case, Correction, HandleLink, MentionState, Reply, VerificationCode

    result = Erasure(key_digest(key))
    states = list(session.scalars(sa.select(MentionState).where(MentionState.author_key == key)))
    ids = set(mention_ids) | {s.mention_id for s in states}

    def delete(model: Any, condition: Any) -> int:
        return int(session.execute(sa.delete(model).where(condition)).rowcount)  # type: ignore[attr-defined]

    result.replies = delete(Reply, Reply.mention_id.in_(ids)) if ids else 0
    result.corrections = delete(Correction, Correction.mention_id.in_(ids)) if ids else 0
    result.mention_states = delete(MentionState, sa.or_(MentionState.author_key == key,
                                                        MentionState.mention_id.in_(ids)))
    cases = session.scalars(sa.select(Case).where(sa.or_(Case.author_key == key, Case.mention_id.in_(ids))))
    for case in cases:
        anonymise_case(case)
        result.cases_anonymised += 1
    result.verification_codes = delete(VerificationCode, VerificationCode.key == key)
    result.links = delete(HandleLink, HandleLink.key == key)
    audit.record(session, now, None, "privacy.erase", "handle", f"sha256:{result.key_sha256}", None,
                 {k: v for k, v in asdict(result).items() if k != "key_sha256"})
    return result


def send_tombstone(settings: Settings, platform: str, handle: str) -> None:
    from web.identity import KafkaPublisher

    publisher = KafkaPublisher(settings.kafka_bootstrap, settings.topic("identity.links"))
    try:
        publisher.unlink(platform, handle)
    finally:
        publisher.close()


def erase(settings: Settings, platform: str, handle: str, now: datetime) -> Erasure:
    from infra.db import make_engine, migrate, session_factory, transaction
    from stream import es_admin

    ids = erase_mentions(es_admin.client(settings.es_url), settings.index_prefix, platform, handle)
    send_tombstone(settings, platform, handle)
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        with transaction(session_factory(engine)) as session:
            result = erase_records(session, link_key(platform, handle), ids, now)
    finally:
        engine.dispose()
    result.mentions_deleted = len(ids)
    return result


def expire_cases(session: Session, now: datetime, keep_days: int, dry_run: bool = False) -> int:
    """Anonymise resolved cases whose resolution is older than `keep_days`; returns how many."""
    from web import audit
    from web.models import Case

    cutoff = now - timedelta(days=keep_days)
    cases = list(session.scalars(sa.select(Case).where(Case.state == "resolved", Case.resolved_at < cutoff,
                                                       Case.author_key != ERASED)))
    if dry_run or not cases:
        return len(cases)
    for case in cases:
        anonymise_case(case)
    audit.record(session, now, None, "retention.cases", "case", f"{len(cases)} case(s)", None,
                 {"anonymised": [c.id for c in cases], "resolved_before": cutoff.isoformat()})
    return len(cases)


# ---------------------------------------------------------------------------------------------- CLI


def _now() -> datetime:
    return datetime.now(UTC)


def erase_main(argv: list[str], settings: Settings | None = None, clock: Callable[[], datetime] = _now) -> int:
    parser = argparse.ArgumentParser(prog="listening-center erase", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", required=True, help="as in mentions: mastodon, bluesky, reddit, ...")
    parser.add_argument("--handle", required=True, help="the author's handle (case and a leading @ ignored)")
    args = parser.parse_args(argv)
    if not args.platform.strip() or not args.handle.strip("@ "):
        parser.error("--platform and --handle must not be empty")
    result = erase(settings or Settings.from_env(), args.platform.strip(), args.handle.strip(), clock())
    print(json.dumps(asdict(result)))
    return 0


def retention_main(argv: list[str], settings: Settings | None = None, clock: Callable[[], datetime] = _now) -> int:
    settings = settings or Settings.from_env()
    parser = argparse.ArgumentParser(prog="listening-center retention", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mention-months", type=int, default=settings.mention_retention_months,
                        help="keep this many monthly mention indices, the current one included "
                             "(default: LC_MENTION_RETENTION_MONTHS; 0 = keep all)")
    parser.add_argument("--case-days", type=int, default=settings.case_retention_days,
                        help="anonymise cases resolved more than this many days ago "
                             "(default: LC_CASE_RETENTION_DAYS; 0 = keep all)")
    parser.add_argument("--dry-run", action="store_true", help="only say what would be done")
    args = parser.parse_args(argv)
    if args.mention_months < 0 or args.case_days < 0:
        parser.error("retention periods must not be negative")
    now = clock()
    out: dict[str, Any] = {"dry_run": args.dry_run}
    if args.mention_months:
        from stream import es_admin

        out["indices_dropped"] = es_admin.drop_expired(es_admin.client(settings.es_url), settings.index_prefix,
                                                       now, args.mention_months, dry_run=args.dry_run)
    if args.case_days:
        from infra.db import make_engine, migrate, session_factory, transaction

        migrate(settings.db_url)
        engine = make_engine(settings.db_url)
        try:
            with transaction(session_factory(engine)) as session:
                out["cases_anonymised"] = expire_cases(session, now, args.case_days, args.dry_run)
        finally:
            engine.dispose()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(erase_main(sys.argv[1:]))
