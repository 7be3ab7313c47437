"""A backlog read partition after partition reaches the detector out of time order; it must not look like a spike."""

import random
from datetime import UTC, datetime, timedelta

from stream.schema import SpikeAlert
from stream.spikes import DetectorConfig, SpikeDetector
from stream.spikes.synthetic import poisson
from stream.spikes.watermark import LIVE_LATENESS, LowWatermark

T0 = datetime(2024, 5, 6, 6, 0, tzinfo=UTC)
KEY = ("skyway", None)
Post = tuple[datetime, str, bool]


def calm(hours: int, rate: float, seed: int) -> list[Post]:
    """`rate` mentions a minute, a third of them negative, in time order."""
    rng = random.Random(seed)
    posts = []
    for minute in range(hours * 60):
        for n in range(poisson(rng, rate)):
            posts.append((T0 + timedelta(minutes=minute, seconds=rng.uniform(0, 60)), f"m{minute}-{n}",
                          rng.random() < 1 / 3))
    return sorted(posts)


def as_consumed(posts: list[Post], partitions: int = 4, batch: int = 150) -> list[Post]:
    """The order a worker catching up reads them in: spread over partitions by id, a batch from each in turn."""
    queues: list[list[Post]] = [[] for _ in range(partitions)]
    for post in posts:
        queues[sum(post[1].encode()) % partitions].append(post)
    out: list[Post] = []
    while any(queues):
        for q in queues:
            out += q[:batch]
            del q[:batch]
    return out


def replay(order: list[Post], closing_on: str, per_second: float) -> list[SpikeAlert]:
    """What the worker's spike agent does, `per_second` mentions a second, closing buckets on the newest post
    time (what it did before) or on the low watermark."""
    det = SpikeDetector(DetectorConfig(), clock=lambda: order[-1][0])
    watermark = LowWatermark()
    alerts: list[SpikeAlert] = []
    newest = order[0][0]
    for n, (at, mention_id, negative) in enumerate(order):
        det.observe(KEY, at, negative, mention_id, "still waiting" if negative else "thanks")
        newest = max(newest, at)
        low = watermark.add(n / per_second, at)
        alerts += det.tick(newest if closing_on == "newest" else low, LIVE_LATENESS)
    alerts += det.tick(newest + timedelta(minutes=5), LIVE_LATENESS)
    return [a for a in alerts if a.kind == "spike"]


def test_the_low_watermark_is_the_oldest_post_of_the_span() -> None:
    wm = LowWatermark(span=3.0)
    assert wm.add(0.0, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert wm.add(1.0, T0) == T0  # an older post, read later: the watermark goes back to it
    assert wm.add(2.0, T0 + timedelta(minutes=9)) == T0
    assert wm.add(4.5, T0 + timedelta(minutes=10)) == T0 + timedelta(minutes=9)  # T0 left the span
    assert wm.add(9.0, T0 + timedelta(minutes=11)) == T0 + timedelta(minutes=11)


def test_live_traffic_in_order_keeps_the_watermark_seconds_behind() -> None:
    wm = LowWatermark(span=3.0)
    for second in range(600):  # one mention a second, read a second after it was posted
        low = wm.add(float(second), T0 + timedelta(seconds=second - 1))
    assert low == T0 + timedelta(seconds=599 - 1 - 3)


def test_a_calm_backlog_read_out_of_order_raises_nothing() -> None:
    posts = calm(hours=8, rate=12.0, seed=3)
    order = as_consumed(posts)
    assert order != posts  # out of time order by up to an hour of posts, as a real catch-up is
    # Closing buckets on the newest post, each batch of older posts lands in the open bucket like a burst ...
    assert replay(order, "newest", per_second=2_000), "the disorder was too mild to matter"
    # ... closing them on the low watermark, each post counts in its own bucket: nothing to page about,
    # whether the worker catches up fast or slowly.
    assert replay(order, "low", per_second=2_000) == []
    assert replay(order, "low", per_second=200) == []
    # Live, in time order, the same traffic is just as calm.
    assert replay(posts, "low", per_second=0.2) == []
