"""`listening-center members import FILE.csv [--id-pattern REGEX]`: load the loyalty directory.

Every row is checked first; a bad file is reported line by line and nothing is imported. Existing members
are updated (name, tier, email), so re-importing the loyalty system's export is safe.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from infra.db import make_engine, migrate, session_factory, transaction
from infra.settings import Settings
from web import audit
from web.directory import MemberImportError, MemberRow, parse_members
from web.models import Member


def upsert(rows: list[MemberRow], url: str, at: datetime) -> tuple[int, int]:
    created = updated = 0
    with transaction(session_factory(make_engine(url))) as session:
        for row in rows:
            member = session.get(Member, row.loyalty_id)
            if member is None:
                session.add(
                    Member(loyalty_id=row.loyalty_id, name=row.name, tier=row.tier, email=row.email, created_at=at)
                )
                created += 1
            else:
                member.name, member.tier, member.email = row.name, row.tier, row.email
                updated += 1
        audit.record(session, at, None, "member.import", "member", "*", None, {"created": created, "updated": updated})
    return created, updated


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center members", description="the loyalty directory")
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="import members from a CSV file (loyalty_id,name,tier[,email])")
    imp.add_argument("file", type=Path)
    settings = Settings.from_env()
    imp.add_argument("--id-pattern", default=settings.loyalty_id_pattern,
                     help="regular expression a loyalty ID must match (default: LC_LOYALTY_ID_PATTERN)")
    args = parser.parse_args(argv)
    try:
        text = args.file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"listening-center members: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        rows = parse_members(text, args.id_pattern)
    except MemberImportError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        print("nothing was imported", file=sys.stderr)
        return 1
    url = settings.db_url
    migrate(url)
    created, updated = upsert(rows, url, datetime.now(UTC))
    print(f"imported {len(rows)} members ({created} new, {updated} updated)")
    return 0
