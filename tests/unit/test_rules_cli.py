"""`listening-center rules`: test, check, match (the admin's preview before a rule goes live)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from listeners.rules import DEFAULT_RULES_PATH
from listeners.rules_cli import main

MENTION = '{"id":"1","text":"@SouthwestAir lost my bag again"}\n'


def run(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, object]], str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_must_show_through_the_real_command() -> None:
    def cli(rule: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "infra.cli", "rules", "test", rule], input=MENTION,
                              capture_output=True, text=True, check=False, timeout=60)

    hit = cli("@southwestair AND (bag OR luggage)")
    assert (hit.returncode, json.loads(hit.stdout)) == (0, {"id": "1", "matched": True,
                                                            "terms": ["@southwestair", "bag"]})
    miss = cli("@southwestair AND (bag OR luggage) AND NOT lost")
    assert json.loads(miss.stdout) == {"id": "1", "matched": False, "terms": []}
    broken = cli("@southwestair AND (bag OR luggage")
    assert broken.returncode == 2
    assert "expected ')' at column 34" in broken.stderr
    assert broken.stdout == ""


def test_one_line_per_mention_with_fields(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    lines = "\n".join(json.dumps(m) for m in [
        {"id": "a", "text": "refund please", "lang": "en", "author": "bob", "source": "mastodon"},
        {"id": "b", "text": "refund please", "lang": "fr"},
        {"id": "c", "text": "nothing here"},
    ])
    code, out, _ = run(["test", "refund* lang:en"], lines, monkeypatch, capsys)
    assert code == 0
    assert out == [{"id": "a", "matched": True, "terms": ["refund*", "lang:en"]},
                   {"id": "b", "matched": False, "terms": []},
                   {"id": "c", "matched": False, "terms": []}]


def test_bad_input_lines_are_reported_not_dropped(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["test", "bag"], 'not json\n{"id":"2","text":"bag"}\n{"id":"3"}\n', monkeypatch, capsys)
    assert code == 1
    assert out[0]["line"] == 1 and str(out[0]["error"]).startswith("not JSON")
    assert out[1] == {"id": "2", "matched": True, "terms": ["bag"]}
    assert out[2] == {"id": "3", "line": 3, "error": "expected an object with a string 'text'"}


def test_analysis_warns_on_stderr(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["test", "NOT bag"], MENTION, monkeypatch, capsys)
    assert code == 0 and out[0]["matched"] is False
    assert "error: matches every post" in err


def test_check_passes_the_demo_rules(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DEFAULT_RULES_PATH)]) == 0
    assert "fixtures passed, 0 errors" in capsys.readouterr().out


def test_check_fails_on_a_missed_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text())
    data["brands"][0]["exclude"] = []  # without the exclusion the bridge fixture now matches
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL brands[0].fixtures.no_match[0]: 'Walking the skyway bridge" in out


def test_check_reports_a_broken_rule_with_its_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nbrands:\n  - name: x\n    rules: ['skyway AND (bag']\n")
    assert main(["check", str(path)]) == 2
    assert "x: rule x/1: expected ')' at column 16" in capsys.readouterr().err
    assert main(["check", str(tmp_path / "missing.yaml")]) == 2


def test_match_prints_brands_topics_and_terms(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["match"], '{"id":"9","text":"@SkywayAir lost my bag"}\n', monkeypatch, capsys)
    assert code == 0
    assert out == [{"id": "9", "matches": [{"brand": "skyway", "rule_id": "skyway-handle", "competitor": False,
                                            "topics": ["baggage"], "terms": ["@skywayair"]}]}]


def test_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rules", "20", "--posts", "50", "--repeat", "1"]) == 0
    assert "mentions/s" in capsys.readouterr().out
