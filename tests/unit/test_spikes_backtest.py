import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listeners.sources.demo import write_jsonl
from stream.backtest_cli import infer_bucket, main, parse_timestamp, read_counts
from stream.spikes.synthetic import PROFILES, evaluate, generate, run_detector

START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_demo_incident_is_found_once_within_two_minutes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's incident at its live volume (5 posts a second, LC_DEMO_RATE): one incident, raised within
    two minutes of the surge's start (docs/spike-detection.md shows the command)."""
    path = tmp_path / "incident.jsonl"
    write_jsonl(path, "incident", 11, START, per_minute=300, duration=timedelta(minutes=33))
    assert main([str(path), "--json"]) == 0
    found = lines(capsys)
    assert len(found) == 1, found
    onset = START + timedelta(minutes=30)  # the demo's surge starts 30 minutes in
    assert found[0]["brand"] == "skyway"
    assert abs(parse_timestamp(str(found[0]["start"])) - onset) <= timedelta(minutes=2)
    assert timedelta(0) < parse_timestamp(str(found[0]["detected_at"])) - onset <= timedelta(minutes=2)
    assert {"start", "end", "brand", "category", "observed", "expected", "score", "kind", "dedupe_key"} <= set(found[0])


def test_a_calm_stretch_raises_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "normal.jsonl"
    write_jsonl(path, "normal", 7, START, duration=timedelta(hours=3))
    assert main([str(path), "--json"]) == 0
    assert lines(capsys) == []


def test_counts_csv_with_header_and_unaligned_iso_times(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    series = generate(PROFILES[1], 11)
    path = tmp_path / "Twitter_volume_X.csv"
    rows = ["timestamp,value"]
    for i, count in enumerate(series.counts[: 6 * 288]):
        at = series.start + timedelta(seconds=i * 300 + 173)  # like real exports: :02:53, :07:53, ...
        rows.append(f"{at:%Y-%m-%d %H:%M:%S},{count}")
    path.write_text("\n".join(rows) + "\n")
    assert main([str(path), "--json"]) == 0
    found = lines(capsys)
    assert all(line["brand"] == "Twitter_volume_X" and line["kind"] == "spike" for line in found)
    onsets = [b.onset for b in series.bursts if b.end < 6 * 288]
    hits = [i for i in onsets if any(
        abs(parse_timestamp(str(f["start"])) - (series.start + timedelta(seconds=i * 300 + 173))) < timedelta(hours=1)
        for f in found)]
    assert hits  # at least the labelled bursts of the first days are seen


def test_epoch_csv_without_header_and_every_alert_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t0 = int(START.timestamp())
    counts = [3, 2, 4, 3] * 30 + [40, 60, 50] + [3, 2, 4, 3] * 20
    path = tmp_path / "counts.csv"
    path.write_text("".join(f"{t0 + 300 * i},{c}\n" for i, c in enumerate(counts)))
    assert main([str(path), "--alerts", "--json"]) == 0
    messages = lines(capsys)
    assert messages[0]["status"] == "open"
    assert len({m["dedupe_key"] for m in messages}) == 1


def test_bucket_is_inferred_from_the_data_and_timestamps_are_utc() -> None:
    rows = read_counts(["2015-02-26 21:42:53,10", "2015-02-26 21:47:53,12", "2015-02-26 21:52:53,9"])
    assert infer_bucket([at for at, _ in rows]) == 300
    assert rows[0][0] == datetime(2015, 2, 26, 21, 42, 53, tzinfo=UTC)
    assert parse_timestamp("1424986973") == datetime(2015, 2, 26, 21, 42, 53, tzinfo=UTC)


def test_bad_input_is_an_error_not_a_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\nyesterday,3\n")
    assert main([str(path)]) == 2
    assert "timestamp" in capsys.readouterr().err


def test_synthetic_series_quality_floor() -> None:
    """A floor, not the measurement (docs/spike-detection.md has that): catches a detector that broke."""
    found = bursts = false_alarms = 0
    for profile in (PROFILES[0], PROFILES[2]):
        series = generate(profile.__class__(**{**profile.__dict__, "days": 10, "bursts": 5}), 1)
        score = evaluate(series, run_detector(series))
        found, bursts, false_alarms = found + score.found, bursts + score.bursts, false_alarms + score.false_alarms
        assert score.duplicates == 0
    assert found >= 0.6 * bursts
    assert false_alarms <= 2
