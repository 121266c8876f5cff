"""Strict end-to-end scores (spacy_bio_rel/e2e_scorer.py), and `spacy evaluate` printing them."""

import pytest
import srsly
from conftest import make_doc, planted_docs
from spacy.cli.evaluate import evaluate as spacy_evaluate
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import registry
from util import ruler_pipeline_path

from spacy_bio_rel.scoring.e2e_scorer import score_e2e

WORDS = ["Anna", "Smith", "met", "Bob", "in", "Oslo", "."]


def _example(nlp, gold_ents, gold_rels, pred_ents, pred_rels):
    return Example(make_doc(nlp, WORDS, pred_ents, pred_rels), make_doc(nlp, WORDS, gold_ents, gold_rels))


def test_correct_needs_exact_boundaries_types_and_label(nlp_en):
    gold_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    gold_rels = [(0, 1, "Knows"), (1, 2, "Live_In")]
    cases = {
        "exact": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 1),
        "boundary": ([(0, 1, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 0),
        "entity type": ([(0, 2, "ORG"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 0),
        "label": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Live_In")], 0),
        "direction": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(1, 0, "Knows")], 0),
    }
    for name, (pred_ents, pred_rels, correct) in cases.items():
        s = score_e2e([_example(nlp_en, gold_ents, gold_rels, pred_ents, pred_rels)])
        assert s["rel_e2e_n_correct"] == correct, name
        assert s["rel_e2e_micro_r"] == pytest.approx(correct / 2), name


def test_undirected_ignores_order_but_not_types(nlp_en):
    ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    eg = _example(nlp_en, ents, [(0, 1, "Knows")], ents, [(1, 0, "Knows")])
    assert score_e2e([eg], directed=False)["rel_e2e_micro_f"] == 1.0
    assert score_e2e([eg], directed=True)["rel_e2e_micro_f"] == 0.0


def test_micro_macro_and_entities(nlp_en):
    gold_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    gold_rels = [(0, 1, "Knows"), (0, 2, "Live_In"), (1, 2, "Live_In")]
    pred_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "ORG")]  # Oslo mistyped
    pred_rels = [(0, 1, "Knows"), (0, 2, "Live_In")]
    s = score_e2e([_example(nlp_en, gold_ents, gold_rels, pred_ents, pred_rels)])
    # Knows: P 1, R 1; Live_In: 0 correct of 1 predicted, 2 gold
    assert (s["rel_e2e_micro_p"], s["rel_e2e_micro_r"]) == (pytest.approx(1 / 2), pytest.approx(1 / 3))
    assert s["rel_e2e_per_type"]["Live_In"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert (s["rel_e2e_macro_p"], s["rel_e2e_macro_r"], s["rel_e2e_macro_f"]) == (0.5, 0.5, 0.5)
    assert s["spans_rel_f"] == s["rel_e2e_micro_f"] and s["spans_rel_macro_f"] == 0.5
    assert s["ents_p"] == pytest.approx(2 / 3) and s["ents_per_type"]["PER"]["f"] == 1.0


def test_registered_and_empty(nlp_en):
    scorer = registry.scorers.get("spacy-bio-rel.e2e_scorer.v1")()
    doc = make_doc(nlp_en, ["x"], [])
    s = scorer([Example(doc, doc)])
    assert s["rel_e2e_micro_f"] == 0.0 and s["rel_e2e_macro_f"] == 0.0 and s["rel_e2e_per_type"] == {}


def test_spacy_evaluate_prints_entity_and_e2e_relation_scores(tmp_path_factory, capsys):
    model = ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))
    import spacy

    nlp = spacy.blank("en")
    dev = tmp_path_factory.mktemp("e2e") / "dev.spacy"
    DocBin(docs=planted_docs(nlp, 12), store_user_data=True).to_disk(dev)
    out = dev.with_suffix(".json")
    data = spacy_evaluate(str(model), dev, output=out, silent=False, spans_key="rel")
    printed = capsys.readouterr().out
    assert "NER P" in printed and "SPAN F" in printed and "Work_For" in printed
    assert data["ents_f"] == 1.0  # the ruler finds every planted entity
    assert 0.8 < data["spans_rel_f"] <= 1.0
    assert set(srsly.read_json(out)["spans_rel_per_type"]) == {"Work_For", "Live_In"}
    macro = spacy_evaluate(str(model), dev, silent=True, spans_key="rel_macro")
    assert 0.8 < macro["spans_rel_macro_f"] <= 1.0
