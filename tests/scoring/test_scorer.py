import pytest
from conftest import make_doc
from spacy.training import Example

from spacy_bio_rel.scoring.scorer import score_relations


def test_micro_prf_and_direction(nlp_en):
    words = ["A", "met", "B", "in", "C"]
    ents = [(0, 1, "P"), (2, 3, "P"), (4, 5, "L")]
    gold = make_doc(nlp_en, words, ents, [(0, 1, "Knows"), (1, 2, "In"), (0, 2, "In")])
    pred = make_doc(nlp_en, words, ents, [(1, 0, "Knows"), (1, 2, "In"), (2, 0, "Near")])
    s = score_relations([Example(pred, gold)], directed=True)
    assert (s["rel_micro_p"], s["rel_micro_r"]) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert s["rel_per_type"]["In"] == {"p": 1.0, "r": 0.5, "f": pytest.approx(2 / 3)}
    u = score_relations([Example(pred, gold)], directed=False)
    assert u["rel_micro_p"] == pytest.approx(2 / 3) and u["rel_micro_r"] == pytest.approx(2 / 3)


def test_matches_by_characters_across_tokenisations(nlp_en):
    gold = make_doc(nlp_en, ["New", "York", "hosts", "Acme"], [(0, 2, "LOC"), (3, 4, "ORG")], [(1, 0, "In")])
    pred = make_doc(nlp_en, ["New York", "hosts", "Acme"], [(0, 1, "LOC"), (2, 3, "ORG")], [(1, 0, "In")])
    assert score_relations([Example(pred, gold)])["rel_micro_f"] == 1.0


def test_empty(nlp_en):
    doc = make_doc(nlp_en, ["x"], [])
    s = score_relations([Example(doc, doc)])
    assert s["rel_micro_f"] == 0.0 and s["rel_per_type"] == {}
