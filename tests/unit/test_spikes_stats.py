import math

import pytest

from stream.spikes.stats import log_tail, score, zero_run_score


def poisson_tail(k: int, mu: float) -> float:
    return 1 - sum(math.exp(i * math.log(mu) - mu - math.lgamma(i + 1)) for i in range(k))


def nb_tail(k: int, mu: float, d: float) -> float:
    r = 1 / d
    p = r / (r + mu)
    return 1 - sum(
        math.exp(math.lgamma(i + r) - math.lgamma(r) - math.lgamma(i + 1) + r * math.log(p) + i * math.log(1 - p))
        for i in range(k)
    )


@pytest.mark.parametrize(("k", "mu"), [(1, 0.3), (3, 2.5), (5, 1.0), (20, 10.0), (60, 40.0)])
def test_poisson_tail_matches_the_sum(k: int, mu: float) -> None:
    assert math.exp(log_tail(k, mu, 0.0)) == pytest.approx(poisson_tail(k, mu), rel=1e-9)


@pytest.mark.parametrize(("k", "mu", "d"), [(5, 1.0, 0.5), (30, 10.0, 0.1), (200, 100.0, 0.05), (150, 100.0, 0.01)])
def test_negative_binomial_tail_matches_the_sum(k: int, mu: float, d: float) -> None:
    assert math.exp(log_tail(k, mu, d)) == pytest.approx(nb_tail(k, mu, d), rel=1e-7)


def test_scores_are_finite_far_in_the_tail_and_zero_below_the_mean() -> None:
    assert 100 < score(2000, 100, 0.05) < 300
    assert score(5, 10, 0.1) == 0.0
    assert score(12, 10, 0.1) < 1


def test_more_noise_makes_the_same_count_less_unusual() -> None:
    assert score(40, 10, 0.0) > score(40, 10, 0.1) > score(40, 10, 0.5)


def test_silence_is_rarer_the_more_was_expected() -> None:
    assert zero_run_score(30, 0.0) == pytest.approx(30 / math.log(10))
    assert zero_run_score(30, 0.1) < zero_run_score(30, 0.0)
    assert zero_run_score(0, 0.1) == 0.0
