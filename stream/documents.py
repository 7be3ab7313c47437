"""Pure mapping from a ScoredMention to its Elasticsearch document, and the index names it lives in.

Each mention goes to the monthly index of its `created_at`, so a replayed mention lands in the very index
that already holds it and `_id` = mention id makes the write idempotent.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import snowballstemmer

from stream.schema import ScoredMention, format_time, parse_time

MAPPING_FILE = Path(__file__).resolve().parent.parent / "infra" / "elasticsearch" / "mentions.v1.json"
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


@lru_cache(maxsize=1)
def mapping() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(MAPPING_FILE.read_text())
    return data


def mapping_version() -> int:
    return int(mapping()["version"])


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


def stems(text: str) -> str:
    """English stems, space separated: `delayed flights` -> `delay flight`.

    Computed here because the local Elasticsearch node has no stemming analyzers; the same function
    stems the query, so search and index agree.
    """
    words = [w.lower() for w in _WORD.findall(text)]
    return " ".join(_stemmer().stemWords(words))


def read_alias(prefix: str) -> str:
    return f"{prefix}-mentions"


def month_of(created_at: str) -> str:
    return parse_time(created_at).strftime("%Y.%m")


def monthly_index(prefix: str, month: str, version: int | None = None) -> str:
    return f"{prefix}-mentions-v{version or mapping_version()}-{month}"


def write_alias(prefix: str, month: str) -> str:
    """The alias the indexer writes a month through; a mapping roll-out moves it to the new index."""
    return f"{prefix}-mentions-write-{month}"


def to_document(scored: ScoredMention, indexed_at: datetime) -> dict[str, Any]:
    m = scored.mention
    return {
        "id": m.id,
        "platform": m.platform,
        "url": m.url,
        "author_handle": m.author_handle.lstrip("@"),
        "author_name": m.author_name,
        "author_followers": m.author_followers,
        "text": m.text,
        "text_stems": stems(m.text),
        "lang": m.lang or None,
        "brand": m.brand or None,
        "competitor": m.competitor,
        "matched_rules": m.matched_rules,
        "topics": m.topics,
        "source": m.source or None,
        "created_at": m.created_at,
        "ingested_at": m.ingested_at,
        "scored_at": scored.scored_at,
        "indexed_at": format_time(indexed_at),
        "sentiment": scored.sentiment.label,
        "compound": scored.sentiment.compound,
        "vader_compound": scored.sentiment.vader_compound,
        "uncertain": scored.sentiment.uncertain,
        "lexicon_version": scored.lexicon_version,
        "categories": scored.categories,
        "intent": scored.intent,
        "priority": scored.priority.score,
        "priority_reasons": scored.priority.reasons,
        "linked": scored.linked,
        "tier": scored.tier,
    }
