"""Edge cases and properties of the pooling functions (k = 1, all zero, all events, GLMM boundaries)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evsynth.meta.glmm import fit_glmm, lrt_heterogeneity
from evsynth.meta.pooling import (PoolingError, leave_one_out, pool_proportions, pool_subgroups,
                                  test_between_subgroups)
from evsynth.meta.proportions import CI_METHODS, proportion_ci, proportion_limits
from evsynth.meta.transforms import back_transform, escalc_proportions, ipft_hm, pft


def test_k1_pooled_equals_the_study():
    r = pool_proportions([3], [14], ["Only"], measure="PLO", method="REML", test="knha")
    assert r.k == 1 and r.heterogeneity.tau2 == 0
    assert r.pooled.estimate == pytest.approx(3 / 14)
    assert r.heterogeneity.q == 0 and r.heterogeneity.q_pvalue == 1 and r.heterogeneity.q_df == 0
    assert math.isnan(r.heterogeneity.tau2_ci_lower)  # exists for no method when k = 1
    assert any("Knapp-Hartung" in n for n in r.notes)
    d = r.to_dict()
    assert d["heterogeneity"]["tau2_ci_lower"] is None


@pytest.mark.parametrize("measure", ["PLO", "PFT", "PAS", "PR"])
def test_all_zero_gives_small_defined_estimate(measure):
    r = pool_proportions([0, 0, 0], [10, 12, 3], measure=measure, fallback="none")  # metafor's way
    assert 0 <= r.pooled.estimate < 0.1
    assert r.pooled.ci_lower <= r.pooled.estimate <= r.pooled.ci_upper < 0.5
    if measure == "PR":  # metafor does not truncate PR limits; the result says so
        assert r.pooled.ci_lower < 0 and any("not truncated" in note for note in r.notes)
    else:
        assert r.pooled.ci_lower >= 0
    assert all(s.proportion == 0 and s.ci_lower == 0 for s in r.studies)


@pytest.mark.parametrize("fallback", ["crude", "none"])
@pytest.mark.parametrize("measure", ["PLO", "PFT", "PAS"])
def test_all_events_mirror_all_zero(measure, fallback):
    zero = pool_proportions([0, 0, 0], [10, 12, 3], measure=measure, fallback=fallback)
    full = pool_proportions([10, 12, 3], [10, 12, 3], measure=measure, fallback=fallback)
    assert full.pooled.estimate == pytest.approx(1 - zero.pooled.estimate, abs=1e-12)
    assert full.pooled.ci_lower == pytest.approx(1 - zero.pooled.ci_upper, abs=1e-12)


def test_glmm_handles_0_and_100_percent_studies_without_correction():
    x, n = np.array([7, 0, 3, 5]), np.array([7, 7, 10, 9])
    fit = fit_glmm(x, n)
    assert np.isfinite(fit.beta) and fit.tau2 > 0 and fit.se > 0
    # changing the 0 % study's size changes the likelihood, but never needs a 1/2 correction
    fit2 = fit_glmm(np.array([7, 0, 3, 5]), np.array([7, 20, 10, 9]))
    assert fit2.beta < fit.beta
    r = pool_proportions(x, n, method="GLMM")
    assert 0 < r.pooled.ci_lower < r.pooled.estimate < r.pooled.ci_upper < 1
    assert r.heterogeneity.q == pytest.approx(lrt_heterogeneity(x, n))


@pytest.mark.parametrize("events,totals,message", [
    ([0, 0], [5, 6], "no study has an event"),
    ([5, 6], [5, 6], "every patient had the event"),
    ([2], [5], "at least 2 studies"),
    ([0, 7, 0, 5], [6, 7, 9, 5], "every study has 0% or 100%"),
])
def test_glmm_undefined_cases_raise_clear_errors(events, totals, message):
    with pytest.raises(PoolingError, match=message):
        pool_proportions(events, totals, method="GLMM", fallback="none")


def test_fisher_scoring_falls_back_to_metafors_remedy():
    # metafor 3.8 stops here ("Fisher scoring algorithm did not converge"); with
    # rma(..., control = list(stepadj = 0.5, maxiter = 1000)) it gives tau2 = 0.3087667,
    # beta = 2.4067127 (checked with R while writing this test).
    r = pool_proportions([13, 13, 4, 14, 7, 19, 14, 12, 8, 2, 15, 6],
                         [13, 14, 4, 14, 7, 19, 14, 12, 9, 2, 15, 9], method="REML")
    assert r.heterogeneity.tau2 == pytest.approx(0.3087667, abs=1e-6)
    assert r.transformed.estimate == pytest.approx(2.4067127, abs=1e-6)
    assert any("stepadj = 0.5" in note for note in r.notes)


@pytest.mark.parametrize("events,totals,message", [
    ([], [], "no studies"),
    ([3], [2], "between 0 and total"),
    ([1.5], [3], "whole numbers"),
    ([1], [0], "at least 1"),
])
def test_bad_counts_raise(events, totals, message):
    with pytest.raises(PoolingError, match=message):
        pool_proportions(events, totals)


def test_bad_options_raise():
    with pytest.raises(PoolingError, match="unknown measure"):
        pool_proportions([1, 2], [3, 4], measure="OR")
    with pytest.raises(PoolingError, match="unknown method"):
        pool_proportions([1, 2], [3, 4], method="FOO")
    with pytest.raises(PoolingError, match="level"):
        pool_proportions([1, 2], [3, 4], level=95)


def test_subgroup_with_one_level_has_no_test():
    r = pool_subgroups([1, 2, 3], [5, 6, 7], ["a", "a", "a"])
    assert list(r.subgroups) == ["a"] and r.test_between.df == 0
    assert r.to_dict()["test_between"]["q"] is None


def test_subgroup_the_model_cannot_fit_is_descriptive_and_left_out_of_the_test():
    # even with fallback="none" one unfit subgroup does not stop the others from being pooled
    for fallback in ("crude", "none"):
        r = pool_subgroups([1, 2, 3, 0, 0, 4], [5, 6, 7, 8, 9, 9], ["a", "a", "c", "b", "b", "c"],
                           method="GLMM", fallback=fallback)
        assert [s.basis for s in r.subgroups.values()] == ["model", "model", "crude"]
        b = r.subgroups["b"]
        assert b.pooled.estimate == 0 and b.pooled.ci_upper == pytest.approx(1 - 0.025 ** (1 / 17))
        assert "no study has an event" in b.basis_reason or "0% events" in b.basis_reason
        tb = r.test_between
        assert tb.subgroups == ("a", "c") and [name for name, _ in tb.excluded] == ["b"]
        assert tb.model == "GLMM" and tb.measure == "PLO" and tb.df == 1 and math.isfinite(tb.q)
        ac = pool_subgroups([1, 2, 3, 4], [5, 6, 7, 9], ["a", "a", "c", "c"], method="GLMM")
        assert tb.q == pytest.approx(ac.test_between.q, rel=1e-12)  # b played no part
        assert any(n.startswith("b: Not pooled (GLMM)") for n in r.all_notes())
        assert any("left out: b" in n for n in r.all_notes())


def test_between_test_refuses_to_mix_models():
    a = pool_proportions([3, 4, 5], [10, 10, 10], method="GLMM")
    b = pool_proportions([6, 7, 2], [10, 10, 10], method="REML")
    tb = test_between_subgroups({"MTC": a, "PTC": b})
    assert math.isnan(tb.q) and tb.model == "mixed" and "different models" in tb.note
    same = test_between_subgroups({"MTC": a, "PTC": pool_proportions([6, 7, 2], [10, 10, 10],
                                                                     method="GLMM")})
    assert same.model == "GLMM" and same.subgroups == ("MTC", "PTC") and same.q > 0
    d = same.to_dict()
    assert d["model"] == "GLMM" and "separate models" in d["method"] and d["excluded"] == []


def test_leave_one_out_needs_two():
    with pytest.raises(PoolingError):
        leave_one_out([1], [4])
    out = leave_one_out([1, 2, 3], [5, 6, 7], ["x", "y", "z"])
    assert [name for name, _ in out] == ["x", "y", "z"] and all(r.k == 2 for _, r in out)


def test_pft_inverse_round_trip():
    n = np.array([10.0, 10.0, 10.0])
    for p in (0.0, 0.1, 0.5, 0.93, 1.0):
        assert ipft_hm(pft(p, 10.0), n)[()] == pytest.approx(p, abs=1e-12)
    assert back_transform(np.array([-0.1, 2.0]), "PFT", n).tolist() == [0.0, 1.0]


def test_escalc_zero_cells_follow_metafor():
    es = escalc_proportions(np.array([0, 4]), np.array([4, 4]), "PLO")
    assert es.yi[0] == pytest.approx(math.log(0.5 / 4.5)) and es.vi[0] == pytest.approx(1 / 0.5 + 1 / 4.5)
    es = escalc_proportions(np.array([0]), np.array([4]), "PR")
    assert es.yi[0] == pytest.approx(0.5 / 5)  # PR also gets the 1/2 (metafor's addyi = TRUE)
    es = escalc_proportions(np.array([0]), np.array([4]), "PAS")
    assert es.yi[0] == 0 and es.vi[0] == pytest.approx(1 / 16)  # no correction for PAS/PFT


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 500), data=st.data(), method=st.sampled_from(CI_METHODS),
       level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_study_ci_contains_the_proportion(n, data, method, level):
    x = data.draw(st.integers(0, n))
    ci = proportion_ci(x, n, method, level)
    assert 0 <= ci.ci_lower <= ci.proportion <= ci.ci_upper <= 1
    wider = proportion_ci(x, n, method, 0.999)
    assert wider.ci_lower <= ci.ci_lower + 1e-12 and wider.ci_upper >= ci.ci_upper - 1e-12


def test_wilson_cc_is_wider_than_wilson_and_cp_is_conservative():
    x, n = np.arange(0, 21), np.full(21, 20)
    wl, wu = proportion_limits(x, n, "WILSON")
    cl, cu = proportion_limits(x, n, "WILSONCC")
    assert np.all(cl <= wl + 1e-15) and np.all(cu >= wu - 1e-15)
    # Clopper-Pearson at 0/20: upper = 1 - 0.025^(1/20)
    assert proportion_ci(0, 20).ci_upper == pytest.approx(1 - 0.025 ** (1 / 20), abs=1e-12)


def test_tau2_ci_upper_beyond_search_limit_is_flagged():
    # metafor: confint() prints ">100" for these three series (golden review_response_series)
    r = pool_proportions([5, 5, 7], [10, 12, 7], measure="PLO", method="REML")
    assert r.heterogeneity.tau2_ci_upper == 100.0 and r.heterogeneity.tau2_ci_upper_truncated
    assert any("search limit" in note for note in r.notes)
    r = pool_proportions([5, 5, 7], [10, 12, 7], measure="PFT", method="REML")
    assert not r.heterogeneity.tau2_ci_upper_truncated


counts = st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=150, deadline=None)
@given(data=st.lists(counts, min_size=1, max_size=25),
       measure=st.sampled_from(["PLO", "PFT", "PAS", "PR"]),
       method=st.sampled_from(["DL", "REML", "PM", "ML", "HE", "SJ", "EE"]),
       test=st.sampled_from(["z", "knha"]), fallback=st.sampled_from(["crude", "none"]))
def test_any_counts_give_a_finite_ordered_answer(data, measure, method, test, fallback):
    x = [a for a, _ in data]
    n = [b for _, b in data]
    r = pool_proportions(x, n, measure=measure, method=method, test=test, fallback=fallback)
    c = r.crude
    assert (c.events, c.total) == (sum(x), sum(n)) and c.ci_lower <= c.estimate <= c.ci_upper
    boundary = all(a in (0, b) for a, b in data)
    assert r.basis == ("crude" if boundary and fallback == "crude" else "model")
    if r.basis == "crude":
        assert (r.pooled.estimate, r.pooled.ci_lower, r.pooled.ci_upper) == (
            c.estimate, c.ci_lower, c.ci_upper)
        assert r.basis_reason and r.notes[0].startswith(f"Not pooled ({method})")
        json.dumps(r.to_dict(), allow_nan=False)
        return
    t, h = r.transformed, r.heterogeneity
    yi = [s.yi for s in r.studies]
    assert min(yi) - 1e-9 <= t.estimate <= max(yi) + 1e-9  # a weighted mean of the yi
    assert t.ci_lower <= t.estimate <= t.ci_upper
    assert h.tau2 >= 0 and 0 <= h.i2 <= 100 and h.q >= 0
    if method == "EE" and len(x) > 1:  # metafor: H² = Q/(k − 1) for EE, which may be below 1
        assert h.h2 == pytest.approx(h.q / (len(x) - 1))
    else:  # H² = (τ² + ṽ)/ṽ
        assert h.h2 >= 1 - 1e-12
    if method != "EE" and len(x) > 1:
        assert h.tau2_ci_lower <= h.tau2_ci_upper
    assert abs(sum(s.weight for s in r.studies) - 100) < 1e-6
    json.dumps(r.to_dict(), allow_nan=False)
    # the order of the studies does not matter
    r2 = pool_proportions(x[::-1], n[::-1], measure=measure, method=method, test=test,
                          fallback=fallback)
    assert r2.transformed.estimate == pytest.approx(t.estimate, rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(data=st.lists(counts, min_size=2, max_size=15))
@example(data=[(26, 26)] * 4 + [(6, 12)])  # upper limit expit(b + 1.96 se) rounds to exactly 1.0
@example(data=[(0, 26)] * 4 + [(6, 12)])  # and the lower one to exactly 0.0
def test_glmm_either_fits_or_says_why(data):
    x = [a for a, _ in data]
    n = [b for _, b in data]
    crude = pool_proportions(x, n, method="GLMM")  # never raises: crude proportion when not estimable
    try:
        r = pool_proportions(x, n, method="GLMM", fallback="none")
    except PoolingError as exc:
        assert "no finite estimate" in str(exc)
        assert crude.basis == "crude" and crude.pooled.estimate == pytest.approx(sum(x) / sum(n))
        return
    assert crude.basis == "model" and crude.pooled.estimate == r.pooled.estimate
    # limits are proportions: they may round to exactly 0.0 or 1.0 in floating point
    # (expit of a logit limit beyond ~37), so it is bounded by 1, not strictly below it
    assert r.marginal is not None and 0 <= r.marginal.ci_lower <= r.marginal.estimate <= r.marginal.ci_upper <= 1
    assert 0 <= r.pooled.ci_lower <= r.pooled.estimate <= r.pooled.ci_upper <= 1
    assert r.heterogeneity.tau2 >= 0 and math.isfinite(r.transformed.se)
