"""`listening-center rules`: preview a rule on mentions, check a rule file, match or benchmark a set.

    rules test "EXPR"      JSON lines {"id","text","author","lang","source"} on stdin ->
                           {"id","matched","terms"} per line; a broken rule exits 2 with its column
    rules check [FILE]     parse, analyse and run the fixtures of a rule file (default: the demo rules)
    rules match [FILE]     JSON lines on stdin -> {"id","matches":[...]} with brand, rule, topics, terms
    rules bench            time N expressions against seeded synthetic posts
    rules publish FILE     check a rule file, store it as a new version in the database and publish it to
                           listen.rules, as the console's "save & publish" does (--name, default: file stem)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, TextIO

from listeners.rules import Post, RuleError, analyse, compile_rule, load_rules, ruleset_from_dict, run_fixtures
from listeners.rules.bench import bench_posts, bench_rules
from listeners.rules.post import TokenizedPost


def _mentions(stream: TextIO) -> Iterator[tuple[int, Any, Post | str]]:
    """(line number, id, Post) per input line, or an error text instead of the Post."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, None, f"not JSON: {exc.msg}"
            continue
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            yield n, data.get("id") if isinstance(data, dict) else None, "expected an object with a string 'text'"
            continue
        fields = {k: data.get(k) or "" for k in ("author", "lang", "source")}
        if not all(isinstance(v, str) for v in fields.values()):
            yield n, data.get("id"), "author, lang and source must be strings"
            continue
        yield n, data.get("id"), Post(data["text"], **fields)


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


def _show_error(rule: str, exc: RuleError) -> None:
    print(f"rules: {exc}", file=sys.stderr)
    if exc.column is not None and "\n" not in rule:
        print(f"  {rule}\n  {' ' * (exc.column - 1)}^", file=sys.stderr)


def _test(expr: str) -> int:
    try:
        rule = compile_rule(expr)
    except RuleError as exc:
        _show_error(expr, exc)
        return 2
    for finding in analyse(rule.node):
        print(f"rules: {finding.severity}: {finding.message}", file=sys.stderr)
    bad = 0
    for n, mention_id, post in _mentions(sys.stdin):
        if isinstance(post, str):
            bad += 1
            _emit({"id": mention_id, "line": n, "error": post})
            continue
        tokens = TokenizedPost(post)
        matched = rule.test(tokens)
        _emit({"id": mention_id, "matched": matched, "terms": list(rule.terms(tokens)) if matched else []})
    return 1 if bad else 0


def _check(path: str | None) -> int:
    where = path or "demo rules"
    try:
        rules = load_rules(path)
    except OSError as exc:
        print(f"rules: cannot read {where}: {exc.strerror}", file=sys.stderr)
        return 2
    except RuleError as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    errors = 0
    for ref, finding in rules.findings():
        errors += finding.severity == "error"
        print(f"{where}: {ref.where}: {finding.severity}: {finding.message}")
    ran, failures = run_fixtures(rules)
    for failure in failures:
        print(f"{where}: FAIL {failure}")
    count = sum(1 for _ in rules.refs())
    print(f"{where}: {count} expressions, {ran - len(failures)}/{ran} fixtures passed, {errors} errors")
    return 1 if failures or errors else 0


def _match(path: str | None) -> int:
    try:
        rules = load_rules(path)
    except (OSError, RuleError) as exc:
        print(f"rules: {exc}", file=sys.stderr)
        return 2
    bad = 0
    for n, mention_id, post in _mentions(sys.stdin):
        if isinstance(post, str):
            bad += 1
            _emit({"id": mention_id, "line": n, "error": post})
        else:
            _emit({"id": mention_id, "matches": [asdict(m) for m in rules.match(post)]})
    return 1 if bad else 0


def _best_seconds(run: Callable[[], object], repeat: int) -> float:
    """Best of `repeat` runs: other processes on the machine only ever make a run slower."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _each(func: Callable[[Post], object], posts: list[Post]) -> None:
    for post in posts:  # results are dropped: keeping 20k of them alive would time the garbage collector
        func(post)


def _bench(total: int, count: int, seed: int, repeat: int) -> int:
    posts = bench_posts(count, seed=seed)
    for anchored in (True, False):
        spec = bench_rules(total, anchored=anchored)
        expressions = spec.pop("_expressions")
        rules = ruleset_from_dict(spec)
        matched = sum(1 for p in posts if rules.match(p))
        elapsed = _best_seconds(lambda rules=rules: _each(rules.match, posts), repeat)  # type: ignore[misc]
        label = "typical (word index skips most rules)" if anchored else "worst case (every rule evaluated)"
        print(f"{label}: {expressions} expressions, {count} posts, {matched} matched, "
              f"{count / elapsed:,.0f} mentions/s, {elapsed / count * 1e6:.1f} us/mention")
    elapsed = _best_seconds(lambda: _each(TokenizedPost, posts), repeat)
    print(f"tokenising alone: {count / elapsed:,.0f} mentions/s, {elapsed / count * 1e6:.1f} us/mention")
    return 0


def _publish(path: str, name: str | None, author: str, note: str) -> int:
    """Rules as code: a rule file from version control goes live exactly as a console save does."""
    import getpass
    from pathlib import Path

    from infra.db import make_engine, migrate, session_factory
    from infra.settings import Settings
    from listeners.rules_store import KafkaRulesPublisher, RulesConflict, RulesRejected, RuleStore

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        print(f"rules: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    engine = make_engine(settings.db_url)  # before migrating: it creates a SQLite file's folder
    migrate(settings.db_url)
    store = RuleStore(session_factory(engine), lambda: datetime.now(UTC))
    publisher = KafkaRulesPublisher(settings.kafka_bootstrap, settings.topic("listen.rules"))
    set_name = name or file.stem.lower()
    try:
        saved = store.save(set_name, text, author or f"cli:{getpass.getuser()}", publisher, note)
    except RulesRejected as exc:
        for problem in exc.check.problems:
            line = f" (line {problem.line})" if problem.line else ""
            print(f"{path}{line}: {problem}", file=sys.stderr)
            if problem.rule and problem.column is not None and "\n" not in problem.rule:
                print(f"  {problem.rule}\n  {' ' * (problem.column - 1)}^", file=sys.stderr)
        print(f"{path}: not published: {len(exc.check.errors)} error(s)", file=sys.stderr)
        return 1
    except RulesConflict as exc:
        print(f"rules: {exc}", file=sys.stderr)
        return 1
    finally:
        publisher.close()
    _emit({"name": set_name, "version": saved.version.version, "created": saved.created,
           "published": saved.published, "fixtures": saved.check.fixtures_run,
           "warnings": len(saved.check.warnings), **({"error": saved.publish_error} if not saved.published else {})})
    return 0 if saved.published else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="listening-center rules", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("test", help="preview one expression on JSON-lines mentions").add_argument("expr")
    sub.add_parser("check", help="validate a rule file and run its fixtures").add_argument("file", nargs="?")
    sub.add_parser("match", help="match JSON-lines mentions against a rule file").add_argument("file", nargs="?")
    bench = sub.add_parser("bench", help="measure matching throughput")
    bench.add_argument("--rules", type=int, default=100, help="expressions in the set (default 100)")
    bench.add_argument("--posts", type=int, default=20_000)
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    publish = sub.add_parser("publish", help="check, store and publish a rule file to every listener")
    publish.add_argument("file")
    publish.add_argument("--name", help="rule set name (the listen.rules key); default: the file's stem")
    publish.add_argument("--author", default="", help="who to record as the author (default: cli:$USER)")
    publish.add_argument("--note", default="", help="what changed and why")
    args = parser.parse_args(argv)
    if args.cmd == "publish":
        return _publish(args.file, args.name, args.author, args.note)
    if args.cmd == "test":
        return _test(args.expr)
    if args.cmd == "check":
        return _check(args.file)
    if args.cmd == "match":
        return _match(args.file)
    return _bench(args.rules, args.posts, args.seed, args.repeat)
