"""Tail probabilities for counts: Poisson, and negative binomial for counts noisier than Poisson.

Scores are -log10 of the upper-tail probability, so 6 means "one in a million under the baseline".
Worked in log space because the interesting probabilities underflow a float long before they stop
mattering (a busy series at 3x its level gives p far below 1e-300).
"""

from __future__ import annotations

import math

LN10 = math.log(10.0)
MAX_SCORE = 300.0
_EPS = 1e-15
_TINY = 1e-300


def _log_gamma_p(a: float, x: float) -> float:
    """log of the regularised lower incomplete gamma P(a, x), for x < a + 1 (series) or otherwise."""
    if x <= 0:
        return -math.inf
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = 1.0 / a
        total = term
        ap = a
        for _ in range(10_000):
            ap += 1
            term *= x / ap
            total += term
            if term < total * _EPS:
                break
        return log_front + math.log(total)
    # Continued fraction for Q = 1 - P; P is then not small, so the subtraction is safe.
    q = math.exp(log_front + math.log(_gamma_q_cf(a, x)))
    return math.log(max(1.0 - q, _TINY))


def _gamma_q_cf(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def _beta_cf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (_TINY if abs(d) < _TINY else d)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (_TINY if abs(d) < _TINY else d)
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def _log_beta_i(a: float, b: float, x: float) -> float:
    """log of the regularised incomplete beta I_x(a, b)."""
    if x <= 0:
        return -math.inf
    if x >= 1:
        return 0.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return log_front + math.log(_beta_cf(a, b, x)) - math.log(a)
    rest = math.exp(log_front + math.log(_beta_cf(b, a, 1 - x)) - math.log(b))
    return math.log(max(1.0 - rest, _TINY))


def log_tail(observed: float, expected: float, dispersion: float) -> float:
    """Natural log of P(X >= observed) for X with mean `expected` and variance mu + dispersion * mu^2.

    dispersion 0 is Poisson; above, a negative binomial (a Poisson whose rate itself varies), which is
    what real post counts look like once they are busy.
    """
    k = math.ceil(observed - 1e-9)
    if k <= 0:
        return 0.0
    mu = max(expected, 1e-9)
    if dispersion <= 1e-9:
        return _log_gamma_p(k, mu)  # P(X >= k) for Poisson(mu) is P(k, mu)
    r = 1 / dispersion
    # P(X >= k) = I_{q}(k, r) with q = mu / (r + mu), the success probability of the NB.
    return _log_beta_i(k, r, mu / (r + mu))


def score(observed: float, expected: float, dispersion: float) -> float:
    """-log10 P(X >= observed): how unusual a count is; 0 when it is not above the expected level."""
    if observed <= expected:
        return 0.0
    return min(MAX_SCORE, -log_tail(observed, expected, dispersion) / LN10)


def zero_run_score(expected: float, dispersion: float) -> float:
    """-log10 P(no post at all) over a span whose expected total is `expected`."""
    if expected <= 0:
        return 0.0
    if dispersion <= 1e-9:
        return min(MAX_SCORE, expected / LN10)
    return min(MAX_SCORE, math.log1p(dispersion * expected) / dispersion / LN10)
