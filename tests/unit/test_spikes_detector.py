import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from stream.schema import SpikeAlert, parse_time
from stream.spikes import DetectorConfig, SpikeDetector
from stream.spikes.synthetic import poisson

T0 = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def feed(det: SpikeDetector, minutes: range, rate: Callable[[int], float], rng: random.Random,
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


def calm_history(det: SpikeDetector, minutes: int, rng: random.Random) -> None:
    assert feed(det, range(0, minutes), calm, rng) == []


def test_a_burst_is_raised_inside_its_bucket_once_and_the_close_settles_it() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(6)
    calm_history(det, 120, rng)
    start = T0 + 120 * MIN
    alerts: list[tuple[float, SpikeAlert]] = []
    for n in range(40):  # 40 negatives in the first 40 seconds of a minute that expects 3
        at = start + timedelta(seconds=n)
        alerts += [(n, a) for a in det.tick(at)]
        det.observe(("skyway", None), at, True, f"s{n}", "flight cancelled")
    alerts += [(60, a) for a in det.tick(start + MIN)]  # the bucket closes: no second page
    alerts += [(600, a) for a in det.tick(start + 10 * MIN)]
    opens = [(n, a) for n, a in alerts if a.status == "open"]
    assert len(opens) == 1 and opens[0][0] < 20  # raised well before the bucket's end
    opened = opens[0][1]
    assert parse_time(opened.detected_at) < start + MIN
    assert opened.observed < 40  # what was known when it opened
    assert {a.dedupe_key for _, a in alerts} == {opened.dedupe_key}
    inc = det.series[("skyway", None)].incident
    assert inc is not None and inc.early_bucket is None
    assert inc.observed - opened.observed == 40 - opens[0][0]  # the close adds what came after the page


def test_a_partial_count_fires_only_when_it_is_unusual_for_the_whole_bucket_or_late_in_it() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(7)
    calm_history(det, 120, rng)
    start = T0 + 120 * MIN
    # 6 posts in the first 5 seconds: unusual pro-rated, but too early in the bucket to tell, and not
    # unusual for the whole minute (3 expected) -> nothing.
    alerts = []
    for n in range(6):
        at = start + timedelta(seconds=n)
        alerts += det.tick(at)
        det.observe(("skyway", None), at, True, f"e{n}", "late again")
    alerts += det.tick(start + timedelta(seconds=6))
    assert alerts == []


def test_lateness_delays_the_close_but_not_an_early_page() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    rng = random.Random(8)
    calm_history(det, 120, rng)
    start = T0 + 120 * MIN
    for n in range(30):
        det.observe(("skyway", None), start + timedelta(seconds=n), True, f"l{n}", "stranded")
    opened = det.tick(start + timedelta(seconds=30), lateness=timedelta(seconds=20))
    assert [a.status for a in opened] == ["open"]
    assert det.series[("skyway", None)].next_bucket == det.bucket_of(start)  # the bucket itself is still open
    det.observe(("skyway", None), start + timedelta(seconds=59), True, "late", "stranded")
    assert det.tick(start + timedelta(seconds=81), lateness=timedelta(seconds=20)) == []
    assert det.series[("skyway", None)].incident.observed >= 31  # type: ignore[union-attr]


def test_state_of_version_1_loads_and_an_early_incident_survives_a_restart() -> None:
    det = SpikeDetector(DetectorConfig(), clock=lambda: T0)
    calm_history(det, 120, random.Random(9))
    start = T0 + 120 * MIN
    for n in range(30):
        det.observe(("skyway", None), start + timedelta(seconds=n), True, f"r{n}", "stranded")
    assert [a.status for a in det.tick(start + timedelta(seconds=30))] == ["open"]
    saved = json.loads(json.dumps(det.to_dict()))
    assert saved["v"] == 2
    again = SpikeDetector.from_dict(saved, clock=lambda: T0)
    assert again.tick(start + MIN) == det.tick(start + MIN) == []  # settled at the close, nobody re-paged
    old = json.loads(json.dumps(det.to_dict()))
    old["v"] = 1
    for series in old["series"]:
        if series["incident"]:
            for name in ("early_bucket", "early_observed", "early_items"):
                series["incident"].pop(name)
    assert SpikeDetector.from_dict(old).series[("skyway", None)].incident is not None
