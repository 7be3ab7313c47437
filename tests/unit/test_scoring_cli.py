"""The `score` command: JSON lines in, JSON lines out; bad lines reported, never fatal."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from stream.score_cli import run
from stream.scoring import Scorer


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer()


Lines = list[dict[str, Any]]


def _parse(stream: io.StringIO) -> Lines:
    return [json.loads(x) for x in stream.getvalue().splitlines()]


def _run(scorer: Scorer, lines: list[bytes], strict: bool = False) -> tuple[Lines, Lines, int]:
    out, err = io.StringIO(), io.StringIO()
    code = run(scorer, lines, out, err, strict=strict)
    return _parse(out), _parse(err), code


def test_one_judgement_per_line(scorer: Scorer) -> None:
    lines = [
        json.dumps(
            {"id": "a", "text": "flight delayed 3 hours", "followers": 5000, "tier": "gold", "linked": True}
        ).encode(),
        json.dumps({"id": 7, "text": "thanks, great crew!"}).encode(),
    ]
    out, err, code = _run(scorer, lines)
    assert code == 0 and err == []
    assert [o["id"] for o in out] == ["a", 7]
    first = out[0]
    assert set(first) == {"id", "sentiment", "categories", "intent", "priority", "priority_reasons", "lexicon_version"}
    assert first["sentiment"]["label"] == "negative"
    assert set(first["sentiment"]) == {"label", "compound", "uncertain"}
    assert first["categories"] == ["delays"]
    assert first["intent"] == "complaint"
    assert 0 < first["priority"] <= 100


def test_bad_lines_go_to_stderr_with_their_number(scorer: Scorer) -> None:
    lines = [
        b"not json",
        b'{"id":"x"}',
        b"[1,2]",
        b"\xff\xfe",
        b"",
        b'{"id":"ok","text":"fine"}',
        b'{"id":"y","text":"a","followers":-1}',
    ]
    out, err, code = _run(scorer, lines)
    assert code == 0
    assert [o["id"] for o in out] == ["ok"]
    assert [e["line"] for e in err] == [1, 2, 3, 4, 7]
    assert all(e["error"] for e in err)
    assert _run(scorer, lines, strict=True)[2] == 1
