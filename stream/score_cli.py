"""`listening-center score`: JSON lines {"id","text", optional author fields} on stdin, one judgement per
line on stdout.

Streaming and constant memory: one line in, one line out. A bad line never stops the run: it is reported
on stderr as a JSON line with its line number; the exit code stays 0 unless `--strict` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from stream.scoring import Judgement, Scorer


class BadLine(ValueError):
    pass


def _optional_int(obj: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = obj.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise BadLine(f"field {name!r}: expected a non-negative integer")
        return value
    return None


def score_line(scorer: Scorer, raw: bytes) -> dict[str, Any]:
    """Decode one input line and judge it; raises BadLine with a reason a person can act on."""
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadLine(f"not valid JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise BadLine(f"expected a JSON object, got {type(obj).__name__}")
    mention_id, text = obj.get("id"), obj.get("text")
    if isinstance(mention_id, bool) or not isinstance(mention_id, str | int):
        raise BadLine("field 'id': expected a string")
    if not isinstance(text, str):
        raise BadLine("field 'text': expected a string")
    waited = obj.get("waited_seconds", 0.0)
    if isinstance(waited, bool) or not isinstance(waited, int | float) or waited < 0:
        raise BadLine("field 'waited_seconds': expected a non-negative number")
    tier = obj.get("tier")
    if tier is not None and not isinstance(tier, str):
        raise BadLine("field 'tier': expected a string")
    judgement = scorer.score(
        text,
        followers=_optional_int(obj, "followers", "author_followers"),
        linked=bool(obj.get("linked", False)),
        tier=tier,
        repeat_complaints=_optional_int(obj, "repeat_complaints") or 0,
        waited_seconds=float(waited),
    )
    return render(mention_id, judgement)


def render(mention_id: str | int, j: Judgement) -> dict[str, Any]:
    s = j.sentiment
    return {
        "id": mention_id,
        "sentiment": {"label": s.label, "compound": s.compound, "uncertain": s.uncertain},
        "categories": j.categories,
        "intent": j.intent,
        "priority": j.priority.score,
        "priority_reasons": j.priority.reasons,
        "lexicon_version": j.lexicon_version,
    }


def run(scorer: Scorer, lines: Iterable[bytes], out: IO[str], err: IO[str], *, strict: bool = False) -> int:
    bad = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            result = score_line(scorer, raw)
        except BadLine as exc:
            bad += 1
            err.write(json.dumps({"line": number, "error": str(exc)}) + "\n")
            continue
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 1 if bad and strict else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center score", description=__doc__)
    parser.add_argument("--strict", action="store_true", help="exit 1 when any line was bad")
    args = parser.parse_args(argv)
    return run(Scorer(), sys.stdin.buffer, sys.stdout, sys.stderr, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
