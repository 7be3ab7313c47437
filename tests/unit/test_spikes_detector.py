import json
import random
from datetime import UTC, datetime, timedelta

from stream.schema import SpikeAlert
from stream.spikes import DetectorConfig, SpikeDetector
from stream.spikes.synthetic import poisson

T0 = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def feed(det: SpikeDetector, minutes: range, rate: "callable", rng: random.Random,  # type: ignore[valid-type]
         key: tuple[str, str | None] = ("skyway", None), text: str = "still waiting, awful") -> list[SpikeAlert]:
    alerts: list[SpikeAlert] = []
    for m in minutes:
        at = T0 + m * MIN
        alerts += det.tick(at)
        for n in range(poisson(rng, rate(m))):
            det.observe(key, at + timedelta(seconds=n), True, f"m{m}-{n}", text)
            det.observe(key, at + timedelta(seconds=n), False, f"p{m}-{n}", "thanks")  # volume, not negative
    alerts += det.tick(T0 + minutes.stop * MIN)
    return alerts


def calm(_m: int) -> float:
    return 3.0


def test_a_calm_series_raises_nothing() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    assert feed(det, range(0, 8 * 60), calm, random.Random(1)) == []


def test_a_burst_raises_one_open_then_updates_and_a_resolution_under_one_key() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(2)
    alerts = feed(det, range(0, 120), calm, rng)
    alerts += feed(det, range(120, 150), lambda m: 3.0 + 2.0 * (m - 119), rng, text="flight cancelled stranded")
    alerts += feed(det, range(150, 300), calm, rng)
    opens = [a for a in alerts if a.status == "open"]
    assert len(opens) == 1
    assert {a.dedupe_key for a in alerts} == {opens[0].dedupe_key}
    assert alerts[-1].status == "resolved"
    start = datetime.fromisoformat(opens[0].window_start.replace("Z", "+00:00"))
    assert T0 + 118 * MIN <= start <= T0 + 122 * MIN
    assert opens[0].observed > opens[0].expected
    assert "cancelled" in opens[0].top_terms and opens[0].sample_ids
    SpikeAlert.from_dict(json.loads(opens[0].to_json()))  # honours the topic contract


def test_brand_and_category_rising_together_page_once() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(3)
    alerts: list[SpikeAlert] = []
    for m in range(240):
        at = T0 + m * MIN
        alerts += det.tick(at)
        extra = 12 if 150 <= m < 170 else 0
        for n in range(poisson(rng, 3.0) + extra):
            det.observe(("skyway", None), at, True, f"{m}-{n}", "cancelled")
            det.observe(("skyway", "cancellations"), at, True, f"{m}-{n}", "cancelled")
    assert len([a for a in alerts if a.status == "open"]) == 1


def test_silence_of_a_busy_brand_is_its_own_kind_of_alert() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(4)
    alerts = feed(det, range(0, 120), lambda m: 5.0, rng)
    alerts += feed(det, range(120, 160), lambda m: 0.0, rng)
    alerts += feed(det, range(160, 200), lambda m: 5.0, rng)
    silence = [a for a in alerts if a.kind == "silence"]
    assert [a.status for a in silence] == ["open", "resolved"]
    assert [a for a in alerts if a.kind == "spike"] == []  # coming back is not a spike


def test_state_survives_a_restart_and_gives_the_same_alerts() -> None:
    def run(restart: bool) -> list[dict[str, object]]:
        det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
        rng = random.Random(5)
        out = feed(det, range(0, 130), calm, rng)
        if restart:
            det = SpikeDetector.from_dict(json.loads(json.dumps(det.to_dict())), clock=lambda: T0)
        out += feed(det, range(130, 160), lambda m: 25.0, rng)
        out += feed(det, range(160, 220), calm, rng)
        return [a.to_dict() for a in out]

    uninterrupted = run(False)
    assert uninterrupted and run(True) == uninterrupted


def test_late_mentions_count_in_the_next_open_bucket() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    det.observe(("b", None), T0, True, "1", "x")
    det.tick(T0 + 5 * MIN)
    det.observe(("b", None), T0 + MIN, True, "2", "late")
    assert det.late == 1
    assert det.series[("b", None)].pending[det.bucket_of(T0 + 5 * MIN)].negative == 1


def test_tick_zero_fills_buckets_nobody_posted_in() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    det.observe(("b", None), T0, True, "1", "x")
    det.tick(T0 + 90 * MIN)
    assert det.series[("b", None)].spike.closed == 90
