"""`listening-center index`: the operator's commands for the mentions indices.

    rollout [--mapping FILE] [--keep-old]   move every month to the mapping's version, ingestion running
    retention --keep-months N [--dry-run]   drop monthly indices older than N months (schedule it daily)
    examples [--dir DIR]                    index the mapping's example documents (checks they validate)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from infra.settings import Settings
from stream import documents, es_admin

EXAMPLES_DIR = documents.MAPPING_FILE.parent / "examples"


def load_examples(folder: Path = EXAMPLES_DIR) -> dict[str, dict[str, Any]]:
    """File stem -> document, in name order."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def index_examples(es: Elasticsearch, prefix: str, examples: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Index each example through its month's write alias; returns file stem -> error for refused ones."""
    es_admin.ensure_template(es, prefix)
    errors: dict[str, str] = {}
    for name, doc in examples.items():
        month = documents.month_of(doc["created_at"])
        alias = es_admin.ensure_month(es, prefix, month)
        try:
            es.index(index=alias, id=doc["id"], document=doc)
        except Exception as exc:  # the point is to report what the mapping refuses, whatever it is
            errors[name] = str(exc)
    es.indices.refresh(index=documents.read_alias(prefix))
    return errors


def _now() -> datetime:
    return datetime.now(UTC)


def main(argv: list[str], clock: Callable[[], datetime] = _now) -> int:
    parser = argparse.ArgumentParser(prog="listening-center index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    roll = sub.add_parser("rollout", help="roll out a mapping version without pausing ingestion")
    roll.add_argument("--mapping", type=Path, default=documents.MAPPING_FILE, help="mapping file (JSON)")
    roll.add_argument("--keep-old", action="store_true", help="keep the old indices after the swap")
    keep = sub.add_parser("retention", help="drop monthly indices older than N months")
    keep.add_argument("--keep-months", type=int, required=True, help="months to keep, the current one included")
    keep.add_argument("--dry-run", action="store_true", help="only list what would be dropped")
    ex = sub.add_parser("examples", help="index the mapping's example documents")
    ex.add_argument("--dir", type=Path, default=EXAMPLES_DIR)
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    es = es_admin.client(settings.es_url)
    prefix = settings.index_prefix
    if args.command == "rollout":
        spec = json.loads(args.mapping.read_text())
        try:
            done = es_admin.rollout(es, prefix, spec, clock, keep_old=args.keep_old, report=print)
        except es_admin.RolloutError as exc:
            print(f"rollout stopped: {exc}", file=sys.stderr)
            return 1
        print(f"{len(done)} month(s) moved to mapping version {spec['version']}")
        return 0
    if args.command == "retention":
        if args.keep_months < 1:
            parser.error("--keep-months must be at least 1")
        dropped = es_admin.drop_expired(es, prefix, clock(), args.keep_months, dry_run=args.dry_run)
        verb = "would drop" if args.dry_run else "dropped"
        print(f"{verb} {len(dropped)} index(es)" + "".join(f"\n  {n}" for n in dropped))
        return 0
    errors = index_examples(es, prefix, load_examples(args.dir))
    for name, error in errors.items():
        print(f"{name}: refused: {error}", file=sys.stderr)
    print(f"indexed {len(load_examples(args.dir)) - len(errors)} example(s) into {documents.read_alias(prefix)}")
    return 1 if errors else 0
