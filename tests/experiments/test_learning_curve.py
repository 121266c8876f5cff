import spacy

from spacy_bio_rel.batching import count_pairs
from spacy_bio_rel.experiments.learning_curve import (
    best_step, degeneracy, describe_predictions, eval_rows, steps_per_epoch, total_steps, write_subset)
from spacy_bio_rel.readers import create_gold_ents_corpus, read_docbin_docs
from spacy_bio_rel.relations import get_relations
from conftest import planted_docs

LOG = """\
E    #       LOSS RELAT...  REL_MICRO_F  REL_MICRO_P  REL_MICRO_R  SCORE
---  ------  -------------  -----------  -----------  -----------  ------
  0       0         424.42         7.48         4.59        20.12    0.07
  2      50        1023.10        31.00        40.00        25.00    0.31
  5     100         800.00        31.00        41.00        24.00    0.31
  9     150         700.00        29.00        30.00        28.00    0.29
\x1b[38;5;2m✔ Saved pipeline to output directory\x1b[0m
"""


def test_write_subset_keeps_the_first_docs_with_their_relations(tmp_path, nlp_en):
    docs = planted_docs(nlp_en, 10)
    assert write_subset(docs, 4, tmp_path / "sub" / "train_4.spacy") == 4
    back = read_docbin_docs(tmp_path / "sub" / "train_4.spacy", nlp_en)
    assert [d.text for d in back] == [d.text for d in docs[:4]]
    assert [[r.label for r in get_relations(d)] for d in back] == [[r.label for r in get_relations(d)] for d in docs[:4]]
    assert write_subset(docs, 0, tmp_path / "all.spacy") == 10  # 0 = all


def test_steps_follow_the_pair_batcher(tmp_path, nlp_en):
    docs = planted_docs(nlp_en, 12)  # 3 entities a sentence: 6 ordered pairs each
    write_subset(docs, 0, tmp_path / "t.spacy")
    examples = list(create_gold_ents_corpus(tmp_path / "t.spacy")(nlp_en))
    assert count_pairs(docs[0]) == 6
    assert steps_per_epoch(examples, size=12, tolerance=0.0) == 6
    assert steps_per_epoch(examples, size=1000) == 1
    assert total_steps(6, 20, 0) == 120
    assert total_steps(6, 20, 50) == 50
    assert total_steps(6, 0, 300) == 300


def test_eval_rows_and_best_step():
    rows = eval_rows(LOG)
    assert rows == [(0, 0.07), (50, 0.31), (100, 0.31), (150, 0.29)]
    assert best_step(rows) == 100  # spaCy saves model-best again on a tie
    assert best_step(rows[:1]) == 0
    assert best_step([]) is None


def test_degeneracy():
    assert degeneracy({}, n_gold=100, gold_labels=5) == "nothing"
    assert degeneracy({"Work_For": 4}, n_gold=100, gold_labels=5) == "nothing"
    assert degeneracy({"Work_For": 1500}, n_gold=100, gold_labels=5) == "one label"
    assert degeneracy({"Kill": 1500, "Live_In": 2}, n_gold=100, gold_labels=5) == "one label"
    assert degeneracy({"Kill": 800, "Live_In": 700}, n_gold=100, gold_labels=5, candidates=1502) == "every pair"
    assert degeneracy({"Kill": 1502}, n_gold=100, gold_labels=5, candidates=1502) == "one label, every pair"
    assert degeneracy({"Work_For": 60, "Live_In": 10}, n_gold=100, gold_labels=5, candidates=1502) is None
    assert degeneracy({"Work_For": 60}, n_gold=100, gold_labels=1) is None


def test_describe_predictions_of_a_trained_pipeline(tmp_path):
    from tiny_pipelines import build_ruler_pipeline
    nlp = build_ruler_pipeline()
    write_subset(planted_docs(spacy.blank("en"), 8), 0, tmp_path / "dev.spacy")
    out = describe_predictions(nlp, tmp_path / "dev.spacy")
    assert out["n_gold"] == 8 and out["candidates"] == 16  # PER->ORG, PER->LOC after the type filter
    assert out["labels_predicted"] == 2 and out["degenerate"] is None
    assert out["f"] > 0.9
    assert out["unknown_unit_rate"] == 0.0
