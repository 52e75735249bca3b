"""Ranking records by predicted relevance: reproducible for a seed, learning from decisions."""

import hashlib

import numpy as np

from evsynth.prioritise.ranking import RankingItem, build_features, rank
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
