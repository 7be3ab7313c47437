"""What a spike is about: the terms of its mentions that stand out against the series' usual mentions.

Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn, "Fightin' Words", 2008):
a term's log-odds in the spike minus in the baseline, divided by its standard error, so a word seen twice
does not beat a word seen forty times. Plain tokens: lower case, URLs and handles dropped, stop words out.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping

_TOKEN = re.compile(r"#?[^\W_][\w'\u2019-]*[^\W_]|#?[^\W_]", re.UNICODE)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
PRIOR_MASS = 200.0  # pseudo-counts spread over the vocabulary in proportion to overall frequency

_STOP_TEXT = """a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
    each few for from further get got had hadn't has hasn't have haven't having he her here hers herself him
    himself his how i i'm i've i'd i'll if in into is isn't it it's its itself just let's me more most my myself
    no nor not now of off on once only or other our ours ourselves out over own same she should shouldn't so
    some such than that that's the their theirs them themselves then there there's these they they're this
    those through to too under until up very was wasn't we we're were weren't what when where which while who
    whom why will with won't would wouldn't you you're your yours yourself yourselves im dont cant ive u ur
    rt via amp"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def tokens(text: str) -> list[str]:
    """Words worth counting: no stop words, numbers or one-letter tokens; hashtags kept with their #."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.lower()))
    out = []
    for tok in _TOKEN.findall(text):
        tok = tok.replace("\u2019", "'")
        if len(tok) < 2 or tok in STOP_WORDS or tok.strip("#").isdigit():
            continue
        out.append(tok)
    return out


def count_terms(texts: Iterable[str]) -> Counter[str]:
    """Document frequency: a word repeated inside one post counts once."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(tokens(text)))
    return counts


def top_terms_from_counts(spike: Mapping[str, float], baseline: Mapping[str, float], n: int,
                          min_count: float = 2) -> list[str]:
    """The n terms most over-represented in `spike` against `baseline` (z-scored weighted log-odds)."""
    spike_total = sum(spike.values())
    base_total = sum(baseline.values())
    if spike_total <= 0:
        return []
    both_total = spike_total + base_total
    scored: list[tuple[float, str]] = []
    for term, y in spike.items():
        if y < min_count:
            continue
        b = baseline.get(term, 0.0)
        a = PRIOR_MASS * (y + b) / both_total
        a0 = PRIOR_MASS
        # The "rest of the vocabulary" is floored: with a one-word vocabulary it would be zero.
        odds_spike = math.log((y + a) / max(spike_total + a0 - y - a, 0.5))
        odds_base = math.log((b + a) / max(base_total + a0 - b - a, 0.5))
        z = (odds_spike - odds_base) / math.sqrt(1 / (y + a) + 1 / (b + a))
        if z > 0:
            scored.append((z, term))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [term for _, term in scored[:n]]


def top_terms(spike_texts: Iterable[str], baseline_texts: Iterable[str], n: int = 8) -> list[str]:
    """The n terms that best tell the spike's posts from the usual ones."""
    return top_terms_from_counts(count_terms(spike_texts), count_terms(baseline_texts), n)


def add_capped(counts: dict[str, float], new: Mapping[str, float], cap: int) -> None:
    """Add to a running baseline vocabulary; past `cap` terms, halve everything and drop what falls
    under one, so memory stays bounded and old habits fade."""
    for term, n in new.items():
        counts[term] = counts.get(term, 0.0) + n
    if len(counts) > cap:
        for term in list(counts):
            counts[term] /= 2
            if counts[term] < 1:
                del counts[term]
