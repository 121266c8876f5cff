import os
import subprocess
import sys
import warnings

import pytest
from conftest import REPO, make_doc, planted_docs
from spacy.tokens import DocBin
from spacy.training import Example
from util import trained

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


def test_warns_when_the_predicted_docs_have_no_entities(nlp_en):
    words = ["Anna", "works", "for", "Acme"]
    gold = make_doc(nlp_en, words, [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")])
    raw = nlp_en.make_doc(gold.text)  # what `spacy evaluate` gives the pipeline
    with pytest.warns(UserWarning, match="no entities.*spacy_bio_rel evaluate"):
        score_relations([Example(raw, gold)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_relations([Example(gold.copy(), gold)])  # gold-entity setting: no warning


def test_spacy_evaluate_on_a_gold_entity_pipeline_says_why_it_has_no_relations(tmp_path, nlp_en):
    nlp = trained()
    nlp.to_disk(tmp_path / "model")
    db = DocBin(store_user_data=True)
    for doc in planted_docs(nlp_en, 8):
        db.add(doc)
    db.to_disk(tmp_path / "dev.spacy")
    out = subprocess.run(
        [sys.executable, "-m", "spacy", "evaluate", str(tmp_path / "model"), str(tmp_path / "dev.spacy")]
        + ["--spans-key", "rel"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        },
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "SPAN F" in out.stdout
    assert "the predicted Docs have no entities" in out.stderr
    assert "spacy_bio_rel evaluate" in out.stderr
