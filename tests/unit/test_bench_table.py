"""The bench's summary table, memory table, /proc parsing and option parsing."""

from __future__ import annotations

import argparse

import pytest

from infra.bench.cli import parse_only
from infra.bench.machine import cpu_model, mem_total_kib
from infra.bench.memory import descendants, match_engines, parent_of, rss_kib
from infra.bench.stats import Comparison, Summary
from infra.bench.table import fmt_ms, fmt_rate, memory_table, render, summary_table, to_json


def test_numbers_are_formatted_for_people() -> None:
    assert fmt_rate(12345.6) == "12,346"
    assert fmt_rate(None) == "-"
    assert fmt_ms(0.000065) == "0.065"
    assert fmt_ms(0.0153) == "15.3"
    assert fmt_ms(1.7321) == "1,732"
    assert fmt_ms(None) == "-"


def test_summary_table_pairs_each_figure_with_its_reference() -> None:
    table = summary_table([
        Comparison("scoring", Summary("Scorer.score", 2000, 9000.0, 0.00007, 0.0001, 0.0002),
                   Summary("VADER", 2000, 10000.0, 0.00005, 0.0001, 0.0001)),
        Comparison("memory-free", Summary("alone", 5, None, note="no rate")),
    ])
    lines = table.splitlines()
    assert lines[0].startswith("| stage ")
    assert set(lines[1]) <= {"|", "-", ":"}
    assert "| scoring " in lines[2] and "9,000" in lines[2] and "90% of rate, p99 x2.0" in lines[2]
    assert "ref: VADER" in lines[3] and "10,000" in lines[3]
    assert "alone (no rate)" in lines[4] and " - " in lines[4]
    assert len({len(line) for line in lines}) == 1  # every row padded to the same width


def test_render_right_aligns_numbers() -> None:
    out = render(("name", "n"), [["a", "1"], ["bb", "100"]], right={"n"})
    assert out.splitlines() == ["| name |   n |", "|------|----:|", "| a    |   1 |", "| bb   | 100 |"]


def test_memory_table_totals_in_mib() -> None:
    out = memory_table({"worker": 100 * 1024, "kafka": 412 * 1024})
    assert "| worker " in out and "   100 |" in out
    assert out.splitlines()[-1].startswith("| total") and "512" in out.splitlines()[-1]


def test_json_carries_both_sides_and_the_ratios() -> None:
    [row] = to_json([Comparison("es", Summary("indexer", 10, 50.0), Summary("bulk", 10, 100.0))])
    assert row["product"]["rate"] == 50.0 and row["reference"]["name"] == "bulk"
    assert row["rate_ratio"] == 0.5 and row["p99_ratio"] is None


def test_proc_parsing() -> None:
    assert rss_kib("Name:\tpython\nVmRSS:\t  61616 kB\nVmSwap:\t0 kB\n") == 61616
    assert rss_kib("Name:\tzombie\nState:\tZ\n") == 0
    assert parent_of("123 (odd) name) S 45 123 123 0 -1") == 45
    assert descendants(1, {2: 1, 3: 2, 4: 9, 5: 3}) == {1, 2, 3, 5}
    engines = match_engines({10: "java -cp x kafka.Kafka server.properties",
                             11: "java -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",
                             12: "python worker"})
    assert engines == {"kafka": [10], "elasticsearch": [11]}
    assert cpu_model("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n") == "Intel(R) Xeon(R) Processor"
    assert cpu_model("") == "unknown"
    assert mem_total_kib("MemTotal:       24684000 kB\nMemFree: 1 kB\n") == 24684000


def test_only_accepts_stage_names_and_aliases_in_run_order() -> None:
    assert parse_only("es,scoring") == ["scoring", "elasticsearch"]
    assert parse_only("kafka, e2e") == ["stream", "e2e"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown stage"):
        parse_only("scoring,gpu")
