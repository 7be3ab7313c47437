"""In-process stages: scoring next to raw VADER, and rule matching next to tokenising alone.

Rates are the best of `repeat` passes (other processes on the machine only ever make a pass slower), with
the product and its reference interleaved so both see the same noise. Per-call percentiles come from one
further timed pass each.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from infra.bench.progress import bar
from infra.bench.stats import Comparison, Summary

T = TypeVar("T")


def best_seconds(func: Callable[[T], object], items: Sequence[T], repeat: int,
                 timer: Callable[[], float] = time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = timer()
        for item in items:
            func(item)  # results dropped: keeping them alive would time the garbage collector
        best = min(best, timer() - start)
    return best


def per_call(func: Callable[[T], object], items: Sequence[T],
             timer: Callable[[], int] = time.perf_counter_ns) -> list[float]:
    """Seconds per call, one timed call at a time."""
    out = []
    for item in items:
        start = timer()
        func(item)
        out.append((timer() - start) / 1e9)
    return out


def compare(stage: str, product: tuple[str, Callable[[T], object]], reference: tuple[str, Callable[[T], object]],
            items: Sequence[T], repeat: int, progress: bool | None = None) -> Comparison:
    (pname, pfunc), (rname, rfunc) = product, reference
    for func in (pfunc, rfunc):  # warm caches and lazy loads out of the timing
        for item in items[:200]:
            func(item)
    best = {pname: float("inf"), rname: float("inf")}
    gc.collect()
    gc.disable()  # collections triggered by one side would be charged to whichever runs next
    try:
        with bar(repeat * 2 * len(items) + 2 * len(items), stage, enabled=progress) as b:
            for _ in range(repeat):
                for name, func in ((pname, pfunc), (rname, rfunc)):
                    best[name] = min(best[name], best_seconds(func, items, 1))
                    b.update(len(items))
            lat_p = per_call(pfunc, items)
            b.update(len(items))
            lat_r = per_call(rfunc, items)
            b.update(len(items))
    finally:
        gc.enable()
    return Comparison(stage, Summary.of(pname, len(items), best[pname], lat_p),
                      Summary.of(rname, len(items), best[rname], lat_r))


def scoring(texts: Sequence[str], repeat: int = 3, progress: bool | None = None) -> Comparison:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from stream.scoring import Scorer

    scorer, vader = Scorer(), SentimentIntensityAnalyzer()
    return compare("scoring", ("Scorer.score", scorer.score), ("vaderSentiment polarity_scores", vader.polarity_scores),
                   texts, repeat, progress)


def rules(count: int, total_rules: int = 100, seed: int = 7, repeat: int = 3,
          progress: bool | None = None) -> Comparison:
    from listeners.rules import TokenizedPost, ruleset_from_dict
    from listeners.rules.bench import bench_posts, bench_rules

    spec: dict[str, Any] = bench_rules(total_rules)
    expressions = spec.pop("_expressions")
    ruleset = ruleset_from_dict(spec)
    posts = bench_posts(count, seed=seed)
    return compare("rules", (f"RuleSet.match, {expressions} rules", ruleset.match),
                   ("tokenising alone (TokenizedPost)", TokenizedPost), posts, repeat, progress)


def worker_step(raw: Sequence[bytes], texts: Sequence[str], repeat: int = 3,
                progress: bool | None = None) -> Comparison:
    """The worker's whole per-mention step (decode, validate, score, enrich, build the scored contract),
    in-process: the ceiling of one worker process before Kafka, next to raw VADER on the same texts."""
    from datetime import UTC, datetime

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from stream.identity import IdentityTable
    from stream.pipeline import RepeatCounter, Step
    from stream.scoring import Scorer

    step = Step(scorer=Scorer(), identities=IdentityTable(), clock=lambda: datetime.now(UTC), repeats=RepeatCounter())
    vader = SentimentIntensityAnalyzer()

    def product(item: tuple[bytes, str]) -> object:
        return step(item[0], "mentions.raw", 0, 0).to_json()

    def reference(item: tuple[bytes, str]) -> object:
        return vader.polarity_scores(item[1])

    return compare("worker step", ("Step + to_json, in-process", product),
                   ("vaderSentiment polarity_scores", reference), list(zip(raw, texts, strict=True)), repeat, progress)


def contracts(raw: Sequence[bytes], scored: Sequence[bytes], repeat: int = 3,
              progress: bool | None = None) -> list[Comparison]:
    """Decoding the topic contracts (validation included) next to plain `json.loads` of the same bytes:
    every message is decoded this way by the worker, the spike agent and the indexer."""
    import json

    from stream.schema import Mention, ScoredMention

    return [
        compare("contracts", ("Mention.from_json", Mention.from_json), ("json.loads", json.loads), raw, repeat,
                progress),
        compare("contracts", ("ScoredMention.from_json", ScoredMention.from_json), ("json.loads", json.loads),
                scored, repeat, progress),
    ]


def scored_json(raw: Sequence[bytes]) -> list[bytes]:
    """What the worker would produce for these raw mentions."""
    from datetime import UTC, datetime

    from stream.identity import IdentityTable
    from stream.pipeline import RepeatCounter, Step
    from stream.scoring import Scorer

    step = Step(scorer=Scorer(), identities=IdentityTable(), clock=lambda: datetime.now(UTC), repeats=RepeatCounter())
    return [step(r, "mentions.raw", 0, i).to_json() for i, r in enumerate(raw)]
