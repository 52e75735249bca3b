"""The stopping criterion (Callaghan & Müller-Bloch 2020) on cases whose answer is known."""

import math
import re

import numpy as np
import pytest
from scipy.stats import hypergeom

from evsynth.core.errors import EvsynthError
from evsynth.prioritise.stopping import first_stop, h0_p_value, stopping_status


def every_window(labels, total, target, correction="none"):
    """Independent reference: the module docstring's formula over every window n = 1 … t
    (with the Bonferroni shares 1/2, 1/4, … by includes in the window, 1/2^r for all of it)."""
    labels = np.asarray(labels)
    t, r = labels.size, int(labels.sum())
    n = np.arange(1, t + 1)
    k = np.cumsum(labels[::-1])  # includes among the last n
    k_hat = math.floor(r / target) + 1 - (r - k)
    urn = total - t + n
    p = np.where(k_hat > urn, 0.0, hypergeom.cdf(k, urn, np.minimum(k_hat, urn), n))
    if correction == "bonferroni":
        p = p / np.array([0.5 ** r if kk == r else 0.5 ** (kk + 1) for kk in k])
    return min(1.0, float(p.min()))


def test_no_include_yet_has_the_closed_form():
    # r = 0: H0 needs one include among the N - t + n records of the urn, none in the n drawn:
    # p_n = (N - t) / (N - t + n), smallest for n = t: p = (N - t) / N.
    for t in (1, 10, 50, 94, 95, 96, 100):
        assert h0_p_value([0] * t, 100) == pytest.approx((100 - t) / 100, abs=1e-12)
    assert not stopping_status([0] * 95, 100).met  # p = 0.05 is not below 0.05
    assert stopping_status([0] * 96, 100).met


def test_a_run_of_excludes_after_the_includes():
    # 5 includes then 50 excludes, N = 1000, target 0.95: the window of the 50 excludes has
    # k = 0 and needs K = floor(5 / 0.95) + 1 - 5 = 1 include among M = 995 records:
    # p = 945 / 995; every other window gives more.
    labels = [1] * 5 + [0] * 50
    assert h0_p_value(labels, 1000, correction="none") == pytest.approx(945 / 995, abs=1e-12)
    assert h0_p_value(labels, 1000, correction="none") == pytest.approx(
        every_window(labels, 1000, 0.95), abs=1e-12)


def test_the_correction_gives_the_window_since_the_last_include_half_the_allowance():
    # 5 includes then 950 excludes, N = 1000: the window of the 950 excludes (k = 0) has
    # p = 45 / 995 (uncorrected, below 0.05), counted against α/2: reported p = 90 / 995
    labels = [1] * 5 + [0] * 950
    assert h0_p_value(labels, 1000, correction="none") == pytest.approx(45 / 995, abs=1e-12)
    assert h0_p_value(labels, 1000) == pytest.approx(90 / 995, abs=1e-12)
    assert stopping_status(labels, 1000, correction="none").met
    assert not stopping_status(labels, 1000).met
    # no include yet: the only window is the whole sequence, whose share is 1/2^0 = 1
    assert h0_p_value([0] * 97, 100) == h0_p_value([0] * 97, 100, correction="none")


def test_over_a_thousand_includes_neither_underflows_nor_warns():
    # the shares 1/2^(k+1) pass below the smallest double for k > 1,073; p / w_k must still
    # be exact (compared in rational arithmetic) and no floating-point warning may escape
    from fractions import Fraction
    import warnings
    rng = np.random.default_rng(5)
    labels = np.concatenate([np.ones(1200, dtype=int), (rng.random(3000) < 0.01).astype(int),
                             np.zeros(2000, dtype=int)])
    total = labels.size + 800
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = h0_p_value(labels, total)
        stop = first_stop(labels)
    r = int(labels.sum())
    t = labels.size
    n = np.arange(1, t + 1)
    k = np.cumsum(labels[::-1])
    k_hat = math.floor(r / 0.95) + 1 - (r - k)
    urn = total - t + n
    p = np.where(k_hat > urn, 0.0, hypergeom.cdf(k, urn, np.minimum(k_hat, urn), n))
    exact = min(Fraction(1), *(Fraction(float(pp)) * 2 ** (r if kk == r else int(kk) + 1)
                               for pp, kk in zip(p, k)))
    assert got == float(exact)
    assert stop is not None and 1200 < stop <= labels.size


def test_in_a_random_order_the_corrected_rule_keeps_its_error_rate():
    # shuffled sequences (no ranking), 5 includes in 300, target 95 % (all 5 must be
    # found): share of replays that stop before the last include, nominal 5 %
    rng = np.random.default_rng(2026)
    early = {"bonferroni": 0, "none": 0}
    runs = 300
    for _ in range(runs):
        labels = np.zeros(300, dtype=int)
        labels[:5] = 1
        rng.shuffle(labels)
        for correction in early:
            stop = first_stop(labels, correction=correction)
            early[correction] += labels[:stop].sum() < 5
    assert early["bonferroni"] <= 0.05 * runs
    assert early["bonferroni"] < early["none"]


def test_all_screened_always_meets_it():
    rng = np.random.default_rng(1)
    for _ in range(20):
        labels = (rng.random(60) < 0.2).astype(int)
        assert h0_p_value(labels, 60) == 0.0


def test_the_shortcut_windows_give_the_same_p_as_every_window():
    rng = np.random.default_rng(7)
    for _ in range(150):
        total = int(rng.integers(1, 250))
        t = int(rng.integers(1, total + 1))
        labels = (rng.random(t) < rng.random() * 0.4).astype(int)
        target = float(rng.choice([0.8, 0.9, 0.95, 0.99, 1.0]))
        for correction in ("bonferroni", "none"):
            assert h0_p_value(labels, total, target, correction) == pytest.approx(
                every_window(labels, total, target, correction), abs=1e-12)


def test_more_needed_is_the_first_count_of_excludes_that_meets_it():
    labels = [1, 0, 1, 1] + [0] * 30
    status = stopping_status(labels, 600)
    assert not status.met and status.includes_found == 3 and status.screened == 34
    m = status.more_needed
    assert 0 < m <= 600 - 34
    assert h0_p_value(labels + [0] * m, 600) < 0.05 - 1e-12 <= h0_p_value(labels + [0] * (m - 1), 600)
    # with no include yet the closed form gives it: (N - t - m) / N < 0.05
    assert stopping_status([0] * 10, 100).more_needed == 86


def test_appending_excludes_never_raises_p():
    rng = np.random.default_rng(3)
    labels = list((rng.random(40) < 0.3).astype(int))
    ps = [h0_p_value(labels + [0] * m, 400) for m in range(0, 300, 7)]
    assert all(b <= a + 1e-15 for a, b in zip(ps, ps[1:]))


def test_higher_targets_and_confidence_ask_for_more():
    labels = [1] * 8 + [0] * 120
    assert h0_p_value(labels, 500, 0.8) < h0_p_value(labels, 500, 0.95)
    # with 8 found, missing a single include already breaks 95 % and 99 %: same H0, same p
    assert h0_p_value(labels, 500, 0.95) == h0_p_value(labels, 500, 0.99)
    many = [1] * 40 + [0] * 1500  # 40 found: 95 % allows 2 missed, 99 % none
    assert h0_p_value(many, 2000, 0.95) < h0_p_value(many, 2000, 0.99) < 1
    lax = stopping_status(labels, 500, target_recall=0.8, confidence=0.9)
    strict = stopping_status(labels, 500, target_recall=0.95, confidence=0.99)
    assert lax.more_needed < strict.more_needed


def test_first_stop_is_the_first_decision_where_it_is_met():
    rng = np.random.default_rng(11)
    for _ in range(8):
        n = int(rng.integers(20, 100))
        labels = (rng.random(n) < 0.15).astype(int)
        labels = np.concatenate([np.sort(labels[: n // 2])[::-1], labels[n // 2:]])
        expected = next(t for t in range(1, n + 1) if h0_p_value(labels[:t], n) < 0.05 - 1e-12)
        assert first_stop(labels) == expected


@pytest.mark.parametrize("target,confidence", [(0.95, 0.95), (0.8, 0.9), (1.0, 0.99), (0.9, 0.5)])
def test_first_stop_equals_checking_after_every_decision(target, confidence):
    # first_stop checks only the end of each run of excludes and bisects; the answer must be
    # the one a check after every single decision gives, for ranked-looking and random orders
    rng = np.random.default_rng(int(target * 100 + confidence * 10))
    for case in range(30):
        n = int(rng.integers(30, 400))
        labels = (rng.random(n) < rng.choice([0.02, 0.08, 0.3])).astype(int)
        if case % 2:
            head = int(rng.integers(1, n))
            labels = np.concatenate([np.sort(labels[:head])[::-1], labels[head:]])
        expected = next((t for t in range(1, n + 1)
                         if h0_p_value(labels[:t], n, target) < 1 - confidence - 1e-12), None)
        assert first_stop(labels, target_recall=target, confidence=confidence) == expected


def test_status_line_says_where_the_review_stands():
    status = stopping_status([1, 0, 1] + [0] * 5, 1000)
    line = status.describe()
    assert line.startswith("8 of 1000 records screened at title/abstract, 2 includes found.")
    assert "not met for recall ≥ 95 % with 95 % confidence" in line
    assert f"at least {status.more_needed} more of the 992 left, if none of them is an include" in line
    assert status.irrelevant_streak == 5
    assert status.heuristic().startswith("Heuristic only, no guarantee: the last 5 records")
    met = stopping_status([0] * 99, 100)
    assert met.met and "Stopping criterion MET" in met.describe() and met.more_needed == 0


@pytest.mark.parametrize("call, message", [
    (lambda: stopping_status([0, 2], 10), "sequence of 0 (exclude) and 1 (include)"),
    (lambda: stopping_status([0, 1, 0], 2), "3 records screened but only 2 in all"),
    (lambda: stopping_status([0], 10, target_recall=0), "target recall must be above 0"),
    (lambda: stopping_status([0], 10, confidence=1.0), "confidence must be above 0 and below 1"),
])
def test_bad_input_is_a_one_line_error(call, message):
    with pytest.raises(EvsynthError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("target,confidence,correction", [
    (0.95, 0.95, "bonferroni"), (0.8, 0.5, "bonferroni"), (0.95, 0.999, "bonferroni"),
    (1.0, 0.95, "bonferroni"), (0.95, 0.95, "none")])
def test_pruned_windows_give_the_same_answer_with_fewer_probabilities(
        monkeypatch, target, confidence, correction):
    # first_stop skips the windows whose p_n a bound already puts above 1.5·α (stopping._rejected):
    # after every decision of long ranked-looking and random sequences with many includes the
    # answer must be the one from every candidate window (_p_value), and fewer hypergeometric
    # probabilities must have been computed (the pruning is exercised, not idle)
    from scipy.stats import hypergeom

    from evsynth.prioritise import stopping

    counted = {"n": 0}
    cdf = hypergeom.cdf

    def counting(k, *args):
        counted["n"] += np.size(k)
        return cdf(k, *args)

    monkeypatch.setattr(hypergeom, "cdf", counting)
    rng = np.random.default_rng(23)
    alpha = 1.0 - confidence
    full = pruned = 0
    for case in range(4):
        n = 1000
        labels = (rng.random(n) < 0.06).astype(np.int64)
        if case % 2 == 0:  # ranked-looking: includes dense at the top, thinning out
            weights = np.exp(-np.arange(n) / 150.0)
            labels = np.zeros(n, dtype=np.int64)
            labels[rng.choice(n, 70, replace=False, p=weights / weights.sum())] = 1
        positions = np.flatnonzero(labels)
        for t in range(1, n + 1, 7):
            seen = positions[: np.searchsorted(positions, t)]
            before = counted["n"]
            expected = stopping.rejects(
                stopping._p_value(labels[:t], seen, n, target, correction), alpha)
            full += counted["n"] - before
            before = counted["n"]
            assert stopping._rejected(t, seen, n, target, alpha, correction) == expected, (case, t)
            pruned += counted["n"] - before
        assert first_stop(labels, target_recall=target, confidence=confidence,
                          correction=correction) == next(
            (t for t in range(1, n + 1) if h0_p_value(labels[:t], n, target, correction)
             < alpha - 1e-12), None)
    assert pruned < full / 2
