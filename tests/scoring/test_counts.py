"""The counting and P/R/F1 core of every scorer (spacy_bio_rel/scoring/counts.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spacy_bio_rel.scoring.counts import Counts, LabelCounts, count_keys, prf


def test_prf_and_zero_denominators():
    assert prf(2, 4, 8) == (0.5, 0.25, pytest.approx(1 / 3))
    assert prf(0, 0, 3) == (0.0, 0.0, 0.0)
    assert prf(0, 3, 0) == (0.0, 0.0, 0.0)
    assert prf(0, 2, 2) == (0.0, 0.0, 0.0)
    c = Counts(tp=3, n_pred=4, n_gold=6)
    assert (c.p, c.r, c.f) == c.prf == prf(3, 4, 6)
    assert c.as_prf_dict() == {"p": 0.75, "r": 0.5, "f": pytest.approx(0.6)}
    assert c.as_count_dict() == {"n_gold": 6, "n_pred": 4, "n_correct": 3}
    assert Counts(1, 2, 3) + Counts(4, 5, 6) == Counts(5, 7, 9)


def test_per_label_micro_and_macro():
    gold_1 = {("a", "b", "X"), ("a", "c", "X"), ("b", "c", "Y")}
    pred_1 = {("a", "b", "X"), ("b", "c", "X")}
    gold_2 = {("a", "b", "Y")}
    pred_2 = {("a", "b", "Y"), ("b", "a", "Z")}
    counts = count_keys([(gold_1, pred_1), (gold_2, pred_2)])
    assert counts.per_label == {"X": Counts(1, 2, 2), "Y": Counts(1, 1, 2), "Z": Counts(0, 1, 0)}
    assert counts.labels == ["X", "Y", "Z"]
    assert counts.micro == Counts(2, 4, 4)
    # macro: means of (.5, .5, .5), (1, .5, 2/3), (0, 0, 0)
    assert counts.macro == pytest.approx((0.5, 1 / 3, (0.5 + 2 / 3) / 3))
    s = counts.summary()
    assert s["micro"] == (0.5, 0.5, 0.5) and s["n_gold"] == 4 and s["n_pred"] == 4 and s["n_correct"] == 2
    assert list(s["per_type"]) == ["X", "Y", "Z"] and s["per_type"]["Z"] == {"p": 0.0, "r": 0.0, "f": 0.0}


def test_a_key_matches_within_its_example_only_and_counts_once():
    counts = count_keys([({("k", "L")}, []), ([], [("k", "L"), ("k", "L")])])
    assert counts.per_label == {"L": Counts(tp=0, n_pred=1, n_gold=1)}


def test_empty():
    counts = count_keys([])
    assert counts.labels == [] and counts.micro == Counts() and counts.macro == (0.0, 0.0, 0.0)
    assert LabelCounts().summary()["per_type"] == {}


keys = st.sets(st.tuples(st.integers(0, 3), st.sampled_from("ABC")), max_size=6)


@given(st.lists(st.tuples(keys, keys), max_size=5))
def test_micro_is_the_pooled_count_and_bounds_hold(pairs):
    counts = count_keys(pairs)
    micro = counts.micro
    assert micro.n_gold == sum(len(g) for g, _ in pairs)
    assert micro.n_pred == sum(len(p) for _, p in pairs)
    assert micro.tp == sum(len(g & p) for g, p in pairs)
    for value in micro.prf + counts.macro:
        assert 0.0 <= value <= 1.0
    if counts.labels:
        assert counts.macro[2] == pytest.approx(
            sum(c.f for c in counts.per_label.values()) / len(counts.labels)
        )
