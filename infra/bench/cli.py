"""The bench command: parse options, run the chosen stages, print the summary table (or JSON).

Stages: scoring, contracts and rules run in this process; stream, scaleout (one worker against two), feed
(the console's SSE stream), elasticsearch, e2e and incident (surge start to webhook delivery) start the
product's own processes against the real engines in sandboxes (fresh topic and index prefixes, dropped
afterwards); dashboard loads a million generated mentions into its own prefix and times the marketing page.
Memory is the peak RSS of every process involved, sampled from /proc throughout the run.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from infra.bench import machine
from infra.bench.memory import PeakSampler
from infra.bench.stats import Comparison
from infra.bench.table import memory_table, summary_table, to_json
from infra.settings import Settings

STAGES = ("scoring", "contracts", "rules", "stream", "scaleout", "feed", "elasticsearch", "e2e", "incident",
          "dashboard", "memory")
ALIASES = {"kafka": "stream", "es": "elasticsearch", "end-to-end": "e2e"}
log = logging.getLogger("lc.bench")


def parse_only(value: str) -> list[str]:
    """`--only scoring,kafka` -> the stages in run order; unknown names are an error a person can fix."""
    chosen = {ALIASES.get(v.strip(), v.strip()) for v in value.split(",") if v.strip()}
    unknown = chosen - set(STAGES)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown stage(s) {', '.join(sorted(unknown))}; "
                                         f"choose from {', '.join(STAGES)} (or kafka, es)")
    return [s for s in STAGES if s in chosen]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="listening-center bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small counts and a short fixed-rate pass (a smoke test)")
    p.add_argument("--only", type=parse_only, default=list(STAGES), metavar="STAGES",
                   help=f"comma-separated subset of {','.join(STAGES)} (kafka = stream, es = elasticsearch)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of the tables")
    p.add_argument("--count", type=int, default=None, help="mentions per saturated measurement (20000; quick 1000)")
    p.add_argument("--rate", type=float, default=None, help="mentions/s of the fixed-rate passes (1000; quick 200)")
    p.add_argument("--seconds", type=float, default=None, help="length of a fixed-rate pass (30; quick 5)")
    p.add_argument("--repeat", type=int, default=3, help="passes of the in-process stages; the best is kept")
    p.add_argument("--dashboard-docs", type=int, default=None,
                   help="mentions loaded for the dashboard stage (1000000; quick 20000)")
    p.add_argument("--rounds", type=int, default=25, help="times each dashboard view and care search is asked")
    return p


IN_PROCESS = {"scoring", "contracts", "rules"}


def _require_engines(settings: Settings) -> None:
    """A clear message instead of a client's stack trace when the engines are not up."""
    from infra.bench.stages import StageError
    from infra.engines.local import es_health, kafka_ready

    client_log = logging.getLogger("kafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL)  # its connection errors would bury the one line that matters
    try:
        kafka_up = kafka_ready(settings.kafka_bootstrap)
    finally:
        client_log.setLevel(level)
    down = [what for what, up in (("Kafka at " + settings.kafka_bootstrap, kafka_up),
                                  ("Elasticsearch at " + settings.es_url, es_health(settings.es_url) is not None))
            if not up]
    if down:
        raise StageError(f"{' and '.join(down)} not reachable: start them with `listening-center engines start` "
                         "(or `make run`), or run only the in-process stages: --only scoring,contracts,rules")


def run(args: argparse.Namespace, argv: list[str]) -> dict[str, Any]:
    from infra.bench import cpu, stages, workload

    count = args.count or (1000 if args.quick else 20_000)
    plan = stages.Plan(count=count, rate=args.rate or (200.0 if args.quick else 1000.0),
                       seconds=args.seconds or (5.0 if args.quick else 30.0), progress=None if not args.json else False)
    base = Settings.from_env()
    if set(args.only) - IN_PROCESS:
        _require_engines(base)
    sampler = PeakSampler()
    sampler.watch_engines()
    sampler.watch_self()
    sampler.start()
    started = datetime.now(UTC)
    at_start = machine.describe()  # the load average before this run added its own
    results: list[Comparison] = []
    extra: dict[str, Any] = {}
    try:
        mentions = workload.mentions(count) if {"scoring", "contracts"} & set(args.only) else []
        if "scoring" in args.only:
            texts, raw = [m.text for m in mentions], [m.to_json() for m in mentions]
            results.append(cpu.scoring(texts, args.repeat, plan.progress))
            results.append(cpu.worker_step(raw, texts, args.repeat, plan.progress))
        if "contracts" in args.only:
            raw = [m.to_json() for m in mentions]
            results += cpu.contracts(raw, cpu.scored_json(raw), args.repeat, plan.progress)
        if "rules" in args.only:
            results.append(cpu.rules(count, repeat=args.repeat, progress=plan.progress))
        if {"stream", "scaleout", "feed", "e2e"} & set(args.only):
            vader = results[0].reference if results and results[0].stage == "scoring" else None
            results += stages.stream_and_e2e(base, plan, sampler, stream="stream" in args.only,
                                             e2e="e2e" in args.only, feed="feed" in args.only,
                                             scaleout="scaleout" in args.only, vader=vader)
        if "elasticsearch" in args.only:
            results.append(stages.elasticsearch(base, plan, sampler))
        if "incident" in args.only:
            from infra.bench.incident import incident

            results += incident(base, plan, sampler)
        if "dashboard" in args.only:
            from infra.bench.dashboard import dashboard

            docs = args.dashboard_docs or (20_000 if args.quick else 1_000_000)
            found, extra["dashboard"] = dashboard(base, docs, args.rounds, plan.progress)
            results += found
    finally:
        peaks = sampler.stop()
    return {
        "command": "listening-center bench " + shlex.join(argv),
        "started_at": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
        "machine": at_start,
        "plan": {"count": plan.count, "rate": plan.rate, "seconds": plan.seconds, "repeat": args.repeat,
                 "stages": args.only},
        "results": results,
        "memory_kib": peaks,
        "loadavg_after": machine.describe()["loadavg"],
        "loadavg_1min_peak": sampler.load_peak,
        **extra,
    }


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops the processes this run started
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _terminate)
    from infra.bench.stages import StageError

    try:
        report = run(args, argv)
    except StageError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started was stopped", file=sys.stderr)
        return 130
    results: list[Comparison] = report.pop("results")
    if args.json:
        print(json.dumps(report | {"results": to_json(results)}, indent=2))
        return 0
    m = report["machine"]
    print(f"{report['command']}  ({report['started_at']}, {report['seconds']}s)")
    print(f"machine: {m['nproc']} cores, {m['memory_gib']} GiB, {m['cpu']}; load {' '.join(m['loadavg'])} "
          f"(at the end: {' '.join(report['loadavg_after'])}; 1-min peak during the run {report['loadavg_1min_peak']})")
    if "dashboard" in report:
        d = report["dashboard"]
        print(f"dashboard index: {d['documents']:,} mentions loaded in {d['load_seconds']} s "
              f"({d['load_per_second']:,}/s, parallel bulk); first dashboard {d['first_dashboard_ms']} ms")
    print()
    if results:
        print(summary_table(results))
        print()
    print(memory_table(report["memory_kib"]))
    return 0
