"""Ranking records by predicted relevance: reproducible for a seed, learning from decisions."""

import hashlib
import math

import numpy as np
import pytest

from evsynth.prioritise.ranking import (
    RankingItem, batch_size, build_features, rank, retrain_divisor,
)
from evsynth.prioritise.simulate import parse_labelled_csv
from tests.conftest import REPO

NSAIDS = REPO / "tests" / "data" / "drug_class_review" / "NSAIDS.csv"


def nsaids():
    return parse_labelled_csv(NSAIDS.read_text(encoding="utf-8"), "NSAIDS.csv", "label2", "I")


def items_with_decisions(data, decided):
    """Items of the data set, the first *decided* with their label, the rest undecided."""
    return [RankingItem(key=f"R{i:05d}", title=t, abstract=a, keywords=k,
                        label=int(data.labels[i]) if i < decided else None)
            for i, (t, a, k) in enumerate(zip(data.titles, data.abstracts, data.keywords))]


def test_same_seed_same_order_and_the_model_finds_the_includes():
    data = nsaids()
    items = items_with_decisions(data, 150)
    assert 0 < sum(i.label for i in items[:150]) < 150  # both kinds decided
    first = rank(items, seed=4)
    assert first == rank(items, seed=4)
    assert sorted(first) == sorted(i.key for i in items[150:])
    # the includes among the undecided come early: in the first quarter of the order,
    # far more of them than their share of the records
    truth = {f"R{i:05d}": int(data.labels[i]) for i in range(150, data.records)}
    includes = sum(truth.values())
    top = first[: len(first) // 4]
    assert sum(truth[key] for key in top) >= 0.6 * includes
    assert includes / len(first) < 0.15


def test_before_one_include_and_one_exclude_the_order_is_seeded_random():
    items = [RankingItem(key=f"R{i:05d}", title=f"study {i} of liver metastases",
                         label=0 if i < 3 else None) for i in range(12)]
    order = rank(items, seed=7)

    def key(record_id):
        return hashlib.sha256(f"7:{record_id}".encode()).digest()[:8]

    assert order == sorted((i.key for i in items[3:]), key=key)
    assert rank(items, seed=8) != order
    # a new record does not reshuffle the others
    grown = rank(items + [RankingItem(key="R00099", title="a newcomer")], seed=7)
    assert [k for k in grown if k != "R00099"] == order


def test_new_decisions_change_the_order():
    data = nsaids()
    few = rank(items_with_decisions(data, 60), seed=0)
    more = rank(items_with_decisions(data, 120), seed=0)
    assert [k for k in few if k in set(more)] != more


def test_keywords_count_and_blank_records_are_no_problem():
    titles = ["aspirin trial", "knee surgery", "", "aspirin cohort"]
    with_keywords = build_features(titles, [""] * 4, ["Aspirin; Humans", "Knee; Humans", "", ""])
    without = build_features(titles, [""] * 4, [""] * 4)
    assert with_keywords.shape[0] == without.shape[0] == 4
    assert with_keywords.shape[1] > without.shape[1]
    assert np.allclose(without[2].toarray(), 0)  # an empty record has no features
    assert build_features(["", ""], ["", ""], ["", ""]) is None


def test_retraining_schedule_keeps_small_sets_and_grows_faster_on_large_ones():
    # up to 5,000 records (the benchmark sets have at most 2,072): every decision for the first
    # 100, then 1 % of those screened, as before; larger sets wait for a larger share
    for total in (0, 10, 393, 2072, 5000):
        assert retrain_divisor(total) == 100
        assert [batch_size(t, total) for t in (0, 1, 99, 100, 250, 4999)] == [1, 1, 1, 1, 2, 49]
        assert all(batch_size(t, total) == batch_size(t) for t in range(0, 5000, 37))
    assert [retrain_divisor(n) for n in (5001, 10_000, 25_000, 50_000, 1_000_000)] == [
        99, 50, 20, 10, 10]
    assert [batch_size(t, 50_000) for t in (1, 9, 10, 99, 1000, 20_000)] == [1, 1, 1, 9, 100, 2000]

    def trainings(total):
        screened, count = 1, 0
        while screened < total:
            screened += batch_size(screened, total)
            count += 1
        return count

    # about d + d·ln(N / d) trainings in a replay of N records (a little more: batches round down)
    assert trainings(2072) == pytest.approx(100 + 100 * math.log(20.72), rel=0.15)
    assert trainings(50_000) == pytest.approx(10 + 10 * math.log(5000), rel=0.15)
    assert trainings(50_000) < trainings(5000) / 5
