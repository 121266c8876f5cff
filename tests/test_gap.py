"""spacy_bio_rel.gap: candidate-level figures agree with the pipeline's scorer."""
import numpy
import pytest

from conftest import planted_docs
from test_component import gold_examples, trained
from spacy_bio_rel.gap import prf, score_candidates, summarise


def test_config_theta_row_equals_the_scorer():
    nlp = trained(epochs=3)  # not converged: some errors either way
    docs = planted_docs(nlp, 12)
    s = score_candidates(nlp, gold_examples(docs))
    out = summarise(s)
    scores = nlp.evaluate(gold_examples(docs))
    first = next(iter(out["class_score"]))
    assert float(first) == nlp.get_pipe("relation_extractor").cfg["threshold"]
    row = out["class_score"][first]
    assert out["n_gold"] == scores["rel_n_gold"] and row["tp"] == scores["rel_n_correct"]
    assert row["n_pred"] == scores["rel_n_pred"]
    assert row["f"] == pytest.approx(scores["rel_micro_f"])
    assert out["class_score_oracle"]["f"] >= max(r["f"] for r in out["class_score"].values()) - 1e-9
    assert 0.0 <= out["argmax_right_on_positives"] <= 1.0
    assert ((s["p_rel"] >= 0) & (s["p_rel"] <= 1)).all() and len(s["p_rel"]) == out["n_candidates"]


def test_label_consistency_counts_positives_sharing_text_with_a_negative():
    nlp = trained()
    docs = planted_docs(nlp, 6)
    alone = summarise(score_candidates(nlp, gold_examples(docs)))["label_consistency"]
    unannotated = []
    for d in docs[:2]:  # the same sentences, their relations not annotated: every pair is now also a negative
        copy = d.copy()
        copy.user_data.clear()
        unannotated.append(copy)
    mixed = summarise(score_candidates(nlp, gold_examples(docs + unannotated)))["label_consistency"]
    assert alone["positives"] == mixed["positives"] > 0
    in_first_two = summarise(score_candidates(nlp, gold_examples(docs[:2])))["label_consistency"]["positives"]
    assert in_first_two > 0
    assert mixed["positives_also_negative"] >= alone["positives_also_negative"] + in_first_two


def test_prf_counts_other_as_no_prediction():
    gold = numpy.array([0, 1, 2, 2, 0])
    pred = numpy.array([0, 2, 2, 1, 2])  # C = 2: index 2 is Other
    m = prf(pred, gold, 2, n_gold=3)
    assert (m["tp"], m["n_pred"]) == (1, 2) and m["p"] == 0.5 and m["r"] == pytest.approx(1 / 3)
