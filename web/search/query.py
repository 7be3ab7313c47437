"""Search request -> Elasticsearch request body, as data (never string-built DSL).

The query box speaks `simple_query_string` (phrases in quotes, `|` or `OR`, `-` to exclude, `*` for a
prefix), which never raises a parse error at people. It runs twice: over `text_stems` with every word
stemmed here by the same function the indexer used (so `delays` finds `delayed`), and over `text` for
exact words, which ranks exact matches first and drives the highlighter.
"""

from __future__ import annotations

import re
from typing import Any

from stream.documents import stems
from web.search.request import SearchRequest

# A quoted phrase (closing quote optional: people forget it), an operator, or a word with its suffix.
_TOKEN = re.compile(r'(?P<neg>[-+]?)(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"()|+]+))(?P<suffix>[*]|~\d+)?'
                    r"|(?P<op>[()|])")
_FUZZ = re.compile(r"~\d+$")
_WORDISH = re.compile(r"[^\W_]")
HIGHLIGHT_TAGS = ("<mark>", "</mark>")


def _tokens(q: str) -> list[tuple[str, str, str, str]]:
    """(kind, sign, body, suffix): kind is `word`, `phrase` or `op`."""
    out: list[tuple[str, str, str, str]] = []
    for m in _TOKEN.finditer(q):
        if m["op"]:
            out.append(("op", "", m["op"], ""))
        elif m["phrase"] is not None:
            out.append(("phrase", m["neg"], m["phrase"], m["suffix"] or ""))
        else:
            word, suffix = m["word"], m["suffix"] or ""
            if word.endswith("*"):
                word, suffix = word.rstrip("*"), "*"
            if word in {"OR", "AND", "NOT"} and not m["neg"]:
                out.append(("op", "", {"OR": "|", "AND": "+", "NOT": "-"}[word], ""))
            elif word:
                out.append(("word", m["neg"], word, suffix))
    return out


def rewrite(q: str, stem: bool) -> str:
    """The user's query in `simple_query_string` syntax, words stemmed when `stem` (for `text_stems`)."""
    parts: list[str] = []
    pending_not, terms = False, 0
    for kind, sign, body, suffix in _tokens(q):
        if kind == "op":
            if body == "-":
                pending_not = True
            else:
                parts.append(body)
            continue
        sign = "-" if pending_not else sign
        pending_not = False
        words = stems(body).split() if stem else [w for w in re.split(r"\s+", body) if _WORDISH.search(w)]
        if not words:
            continue
        if kind == "phrase" or len(words) > 1:
            parts.append(f'{sign}"{" ".join(words)}"{suffix if _FUZZ.match(suffix) else ""}')
        else:
            parts.append(f"{sign}{words[0]}{suffix}")
        terms += 1
    return " ".join(parts) if terms else ""


def text_query(q: str) -> dict[str, Any] | None:
    stemmed, exact = rewrite(q, stem=True), rewrite(q, stem=False)
    if not stemmed:
        return None
    return {"bool": {
        "must": [{"simple_query_string": {"query": stemmed, "fields": ["text_stems"], "default_operator": "and",
                                          "flags": "AND|OR|NOT|PHRASE|PREFIX|PRECEDENCE|WHITESPACE|SLOP"}}],
        "should": [{"simple_query_string": {"query": exact, "fields": ["text"], "default_operator": "and"}}],
    }}


def filters(req: SearchRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, values in (("brand", req.brands), ("platform", req.platforms), ("sentiment", req.sentiments),
                         ("categories", req.categories), ("intent", req.intents), ("lang", req.langs)):
        if values:
            out.append({"terms": {name: list(values)}})
    for name, flag in (("competitor", req.competitor), ("linked", req.linked)):
        if flag is not None:
            out.append({"term": {name: flag}})
    if req.priority_min is not None or req.priority_max is not None:
        bounds: dict[str, float] = {}
        if req.priority_min is not None:
            bounds["gte"] = req.priority_min
        if req.priority_max is not None:
            bounds["lte"] = req.priority_max
        out.append({"range": {"priority": bounds}})
    if req.since or req.until:
        when: dict[str, str] = {}
        if req.since:
            when["gte"] = req.since.isoformat()
        if req.until:
            when["lt"] = req.until.isoformat()
        out.append({"range": {"created_at": when}})
    if req.author:
        out.append({"term": {"author_handle": req.author}})  # the field's normalizer lowercases both sides
    return out


def sort_clause(sort: str) -> list[dict[str, Any]]:
    # `id` breaks ties so search_after pages never skip or repeat a mention.
    if sort == "priority":
        return [{"priority": {"order": "desc", "missing": "_last"}}, {"created_at": "desc"}, {"id": "asc"}]
    return [{"created_at": "desc"}, {"id": "asc"}]


def build_search(req: SearchRequest) -> dict[str, Any]:
    must = text_query(req.q) if req.q else None
    query: dict[str, Any] = {"bool": {"filter": filters(req)}}
    if must is not None:
        query["bool"]["must"] = [must]
    body: dict[str, Any] = {
        "query": query,
        "sort": sort_clause(req.sort),
        "size": req.size,
        "track_total_hits": True,
    }
    if req.after:
        body["search_after"] = list(req.after)
    if req.q and req.highlight:
        exact = rewrite(req.q, stem=False)
        if exact:
            body["highlight"] = {
                "encoder": "html",  # fragments come back HTML-escaped, with only our <mark> tags live
                "pre_tags": [HIGHLIGHT_TAGS[0]], "post_tags": [HIGHLIGHT_TAGS[1]],
                "fields": {"text": {"number_of_fragments": 0,
                                    "highlight_query": {"simple_query_string": {
                                        "query": exact, "fields": ["text"], "default_operator": "or"}}}},
            }
    return body
