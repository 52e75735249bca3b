"""The ranked-rate stopping rule (evsynth.prioritise.rate_rule): its closed forms, its fit,
its replay, and what it promises in random order (the issue's shuffled test case)."""

import math

import numpy as np
import pytest

from evsynth.core.errors import EvsynthError
from evsynth.core.settings import load_settings
from evsynth.prioritise import rate_rule
from evsynth.prioritise.rate_rule import (
    MIN_RANKED_INCLUDES, first_rate_stop, fit_rate, misses_allowed_below, rate_p_value,
    rate_status,
)
from evsynth.prioritise.stopping import first_stop


@pytest.mark.parametrize("b", [-40.0, -3.0, -1e-12, 0.0, 1e-10, 0.7, 12.0, 59.0])
@pytest.mark.parametrize("m", [1, 7, 400])
def test_closed_forms_equal_the_sums(b, m):
    j = np.arange(1, m + 1)
    assert rate_rule._log_s(b, m) == pytest.approx(math.log(np.exp(-b * j / m).sum()), rel=1e-9)
    k, left = 9, 250
    rest = np.arange(m + 1, m + left + 1)
    with np.errstate(over="ignore"):
        direct = k * np.exp(-b * rest / m).sum() / np.exp(-b * j / m).sum()
    if np.isfinite(direct):
        assert rate_rule._expected_left(b, k, m, left) == pytest.approx(direct, rel=1e-9)
    else:                                        # beyond a double: capped at e^700
        assert rate_rule._expected_left(b, k, m, left) > 1e300


def _loglik_direct(b, c, x, m):
    grid = np.arange(1, m + 1) / m
    return float(np.sum(c - b * x) - np.exp(c) * np.exp(-b * grid).sum())


def test_fit_is_the_maximum_likelihood_and_the_interval_its_profile_limit():
    y = np.zeros(300, dtype=int)
    y[[3, 5, 9, 14, 22, 35, 51, 80, 130]] = 1
    fit = fit_rate(y, total=1000, confidence=0.95)
    start = 4                                   # after the first include (position 3)
    m = 300 - start
    x = (np.flatnonzero(y)[1:] - start + 1) / m
    # brute force over (b, c): the fitted b is the grid's best, within the grid's step
    bs = np.linspace(-5, 20, 2501)
    best = max(bs, key=lambda b: _loglik_direct(b, math.log(len(x) / np.exp(-b * np.arange(1, m + 1) / m).sum()), x, m))
    assert fit.b_hat == pytest.approx(best, abs=0.01)
    assert fit.ranked == m and fit.ranked_includes == 8
    # b_low: the likelihood-ratio statistic there is the chi-square quantile (95 %: 3.841)
    def profile(b):
        c = math.log(len(x) / np.exp(-b * np.arange(1, m + 1) / m).sum())
        return _loglik_direct(b, c, x, m)
    assert 2 * (profile(fit.b_hat) - profile(fit.b_low)) == pytest.approx(3.8415, abs=1e-3)
    assert fit.b_low < fit.b_hat and fit.expected_left_upper > fit.expected_left > 0


def test_misses_allowed_below():
    assert misses_allowed_below(20, 0.95) == 2      # 20/21 = 0.952 ≥ 0.95, 20/22 < 0.95
    assert misses_allowed_below(19, 0.95) == 2      # 19/20 = 0.95 exactly holds the target
    assert misses_allowed_below(10, 1.0) == 1


def test_replay_equals_checking_after_every_decision():
    rng = np.random.default_rng(7)
    for _ in range(5):
        j = np.arange(400)
        y = (rng.random(400) < 0.6 * np.exp(-j / 40)).astype(int)
        stop = first_rate_stop(y)
        met = [rate_p_value(y[:t], 400) < 0.05 - 1e-12 for t in range(1, 401)]
        expected = next((t for t, ok in enumerate(met, 1) if ok and t < 400), None)
        assert stop == expected


def test_not_before_enough_includes_after_the_random_start():
    y = np.zeros(2000, dtype=int)
    y[[0, 1, 2, 3]] = 1                          # 3 after the first: fewer than the minimum
    assert MIN_RANKED_INCLUDES == 5
    assert rate_p_value(y[:1500], 2000) == 1.0
    assert first_rate_stop(y) is None


def test_status_line_and_how_many_more():
    y = np.zeros(300, dtype=int)
    y[[3, 5, 9, 14, 22, 35, 51, 80, 130]] = 1
    status = rate_status(y, 1000)
    assert status.rule == "rate" and not status.met and status.more_needed > 0
    assert "Stopping rule (ranked rate) not met for recall ≥ 95 % with 95 % confidence" in status.describe()
    later = np.concatenate((y, np.zeros(status.more_needed, dtype=int)))
    assert rate_status(later, 1000).met
    with pytest.raises(EvsynthError):
        rate_status(y, 10)


def test_a_thinning_ranking_stops_earlier_than_the_hypergeometric_test_and_keeps_its_target():
    """Orders whose include rate falls along the list (what a working ranking gives)."""
    rng = np.random.default_rng(11)
    saved_rate, saved_hyper, reached = [], [], 0
    for _ in range(40):
        j = np.arange(1500)
        y = (rng.random(1500) < 0.5 * np.exp(-j / 60)).astype(int)
        stop = first_rate_stop(y) or 1500
        other = first_stop(y) or 1500
        saved_rate.append(1 - stop / 1500)
        saved_hyper.append(1 - other / 1500)
        reached += y[:stop].sum() / y.sum() >= 0.95
    assert np.mean(saved_rate) > np.mean(saved_hyper) + 0.2
    assert reached >= 38                          # ≥ 95 % of the runs


def test_random_order_keeps_the_promise_on_the_issues_test_case():
    """100 shuffled runs of 500 records with 10 includes: at most 5 stop below 95 % recall."""
    rng = np.random.default_rng(2026)
    below = 0
    for _ in range(100):
        y = np.zeros(500, dtype=int)
        y[:10] = 1
        rng.shuffle(y)
        stop = first_rate_stop(y) or 500
        below += y[:stop].sum() / 10 < 0.95
    assert below <= 5


def test_review_toml_names_the_rule(tmp_path):
    assert load_settings(tmp_path).screening.stopping_rule == "hypergeometric"
    (tmp_path / "review.toml").write_text('[screening]\nstopping_rule = "rate"\n')
    assert load_settings(tmp_path).screening.stopping_rule == "rate"
    (tmp_path / "review.toml").write_text('[screening]\nstopping_rule = "knee"\n')
    with pytest.raises(EvsynthError, match='stopping_rule must be "rate" or "hypergeometric"'):
        load_settings(tmp_path)


def test_the_gate_only_ever_delays_the_stop():
    """With the hypergeometric gate the rule stops no earlier, and the gate at a tiny
    confidence changes nothing where the hypergeometric test is already met."""
    from evsynth.prioritise.stopping import h0_p_value
    rng = np.random.default_rng(5)
    for _ in range(10):
        j = np.arange(800)
        y = (rng.random(800) < 0.5 * np.exp(-j / 50)).astype(int)
        plain, gated = first_rate_stop(y), first_rate_stop(y, gate=0.5)
        if plain is None:
            assert gated is None
            continue
        assert gated is None or gated >= plain
        if gated is not None:
            assert h0_p_value(y[:gated], 800) < 0.5
