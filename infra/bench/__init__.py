"""`listening-center bench`: throughput and latency of each stage, each next to a reference measured in the
same run. Results are recorded in docs/benchmarks.md."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    from infra.bench.cli import main as run

    return run(argv)
