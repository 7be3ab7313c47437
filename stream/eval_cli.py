"""Evaluate plain VADER against our scorer, in the same run, on human-rated text.

Datasets:
- the VADER ground truth (`id <TAB> mean rating -4..+4 <TAB> text`, no header): the mean rating is
  labelled negative below `--neg` (default -0.5), positive above `--pos` (default 0.5), neutral between;
- any JSON lines file with {"text", "label"} (label negative | neutral | positive), e.g. care posts.

Both systems label a compound >= 0.05 positive and <= -0.05 negative (VADER's own thresholds). Prints
accuracy and three-class macro-F1 per dataset, and the throughput of raw VADER `polarity_scores` next to
our full `Scorer.score` (sentiment, categories, intent, priority) on the same texts.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from stream.scoring import Scorer
from stream.scoring.sentiment import label_for

LABELS = ("negative", "neutral", "positive")
DEFAULT_GROUND_TRUTH = Path(__file__).resolve().parents[2] / "shared" / "data" / "vader-ground-truth"
GROUND_TRUTH_FILES = ("tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt")


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def label_rating(rating: float, neg: float, pos: float) -> str:
    if rating < neg:
        return "negative"
    if rating > pos:
        return "positive"
    return "neutral"


def read_ground_truth(path: Path, neg: float, pos: float) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 3:
                examples.append(Example("\t".join(row[2:]), label_rating(float(row[1]), neg, pos)))
    return examples


def read_jsonl(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                obj = json.loads(line)
                if obj["label"] not in LABELS:
                    raise ValueError(f"{path}: label {obj['label']!r} is not one of {LABELS}")
                examples.append(Example(obj["text"], obj["label"]))
    return examples


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold) if gold else 0.0


def f1_per_label(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    scores = {}
    for label in LABELS:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return scores


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    return sum(f1_per_label(gold, predicted).values()) / len(LABELS)


def _timed(fn: Callable[[str], str], texts: Sequence[str]) -> tuple[list[str], float]:
    # CPU time of this process: on a shared machine, wall time measures the neighbours too.
    start = time.process_time()
    labels = [fn(t) for t in texts]
    return labels, time.process_time() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m stream.eval_cli", description=__doc__)
    parser.add_argument("--ground-truth", type=Path, default=DEFAULT_GROUND_TRUTH, help="VADER ground-truth dir")
    parser.add_argument("--jsonl", type=Path, action="append", default=[], help="extra {text,label} JSON lines")
    parser.add_argument("--neg", type=float, default=-0.5, help="mean rating below this is negative")
    parser.add_argument("--pos", type=float, default=0.5, help="mean rating above this is positive")
    parser.add_argument("--errors", type=int, default=0, help="print this many of our mistakes per dataset")
    args = parser.parse_args(argv)

    datasets: list[tuple[str, list[Example]]] = []
    for name in GROUND_TRUTH_FILES:
        path = args.ground_truth / name
        if path.exists():
            datasets.append((name.removesuffix("_GroundTruth.txt"), read_ground_truth(path, args.neg, args.pos)))
    if len(datasets) > 1:
        datasets.append(("shared (both)", [e for _, d in datasets for e in d]))
    datasets += [(p.name, read_jsonl(p)) for p in args.jsonl]
    if not datasets:
        print("no data found", file=sys.stderr)
        return 2

    vader = SentimentIntensityAnalyzer()
    scorer = Scorer()
    print(f"lexicon {scorer.lexicon_version}; gold: rating < {args.neg} negative, > {args.pos} positive")
    print(
        "| dataset | n | VADER acc | ours acc | VADER macro-F1 | ours macro-F1 "
        "| VADER F1 neg/neu/pos | ours F1 neg/neu/pos |"
    )
    print("|---|---|---|---|---|---|---|---|")
    timings = [float("inf"), float("inf")]
    timed_texts = 0
    for name, examples in datasets:
        texts = [e.text for e in examples]
        gold = [e.label for e in examples]
        v_labels, _ = _timed(lambda t: label_for(vader.polarity_scores(t)["compound"]), texts)
        o_labels, _ = _timed(lambda t: scorer.score(t).sentiment.label, texts)
        if name != "shared (both)":  # count each text once in the throughput figure
            timed_texts += len(texts)
        vf, of = f1_per_label(gold, v_labels), f1_per_label(gold, o_labels)
        print(
            f"| {name} | {len(examples)} | {accuracy(gold, v_labels):.3f} | {accuracy(gold, o_labels):.3f} "
            f"| {macro_f1(gold, v_labels):.3f} | {macro_f1(gold, o_labels):.3f} "
            f"| {'/'.join(f'{vf[k]:.2f}' for k in LABELS)} | {'/'.join(f'{of[k]:.2f}' for k in LABELS)} |"
        )
        shown = 0
        for e, v, o in zip(examples, v_labels, o_labels, strict=True):
            if shown >= args.errors:
                break
            if o != e.label:
                shown += 1
                print(f"    gold={e.label} vader={v} ours={o}: {e.text[:140]}")
    # Throughput: best of three interleaved passes over every text, so a busy neighbour on a shared
    # machine inflates neither side alone.
    all_texts = [e.text for name, d in datasets if name != "shared (both)" for e in d]
    for _ in range(3):
        timings[0] = min(timings[0], _timed(lambda t: label_for(vader.polarity_scores(t)["compound"]), all_texts)[1])
        timings[1] = min(timings[1], _timed(lambda t: scorer.score(t).sentiment.label, all_texts)[1])
    v_rate, o_rate = timed_texts / timings[0], timed_texts / timings[1]
    print(
        f"throughput (CPU time, best of 3) on {timed_texts} texts: raw VADER {v_rate:,.0f}/s, "
        f"our Scorer {o_rate:,.0f}/s "
        f"({o_rate / v_rate:.0%} of VADER); Python {platform.python_version()}, {platform.machine()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
