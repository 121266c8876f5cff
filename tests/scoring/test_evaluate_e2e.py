"""``evaluate --entities predicted`` (spacy_bio_rel/scoring/evaluate_e2e.py): the strict scores split
into in-sentence and cross-sentence relations when the window or the data reaches across sentences."""

import spacy
from conftest import planted_docs
from spacy.tokens import DocBin
from test_sentence_window import LOCS, ORGS, PEOPLE, cross_sentence_docs
from util import SMALL_MODEL, gold_examples

from spacy_bio_rel.scoring.evaluate_e2e import describe, evaluate_predicted_entities


def ruler_pipeline(window):
    """An entity_ruler that finds every planted name, then an untrained relation extractor that predicts
    a relation for every candidate (θ far below any score)."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    names = (("PER", PEOPLE), ("ORG", ORGS), ("LOC", LOCS))
    ruler.add_patterns([{"label": lab, "pattern": w} for lab, ws in names for w in ws])
    config = {"model": SMALL_MODEL, "sentence_window": window, "threshold": -1e9}
    nlp.add_pipe("relation_extractor", config=config)
    with nlp.select_pipes(enable=["relation_extractor"]):
        nlp.initialize(lambda: gold_examples(cross_sentence_docs(nlp)))
    return nlp


def test_predicted_entities_scores_split_by_sentence_distance(tmp_path):
    nlp = ruler_pipeline(2)
    dev = tmp_path / "dev.spacy"
    # 4 Docs of two sentences: Work_For inside the first, Live_In across the boundary
    DocBin(store_user_data=True, docs=cross_sentence_docs(nlp, 4)).to_disk(dev)
    scores = evaluate_predicted_entities(nlp, dev)
    split = scores["by_distance"]
    assert split["sentence_window"] == 2 and split["beyond_window"] == 0
    assert (split["in_sentence"]["n_gold"], split["cross_sentence"]["n_gold"]) == (4, 4)
    # every candidate predicted: PER -> ORG in the first sentence, PER -> LOC across it, per Doc
    assert (split["in_sentence"]["n_pred"], split["cross_sentence"]["n_pred"]) == (4, 4)
    for key in ("n_gold", "n_pred", "n_correct"):
        assert split["all"][key] == scores[f"rel_e2e_{key}"]
    assert (
        split["in_sentence"]["n_correct"] + split["cross_sentence"]["n_correct"]
        == scores["rel_e2e_n_correct"]
    )
    text = describe(scores)
    assert "\nin-sentence" in text and "\ncross-sentence" in text
    assert "beyond sentence_window = 2: 0 of 8" in text
    # window 1 on the same data: no cross-sentence prediction, the Live_In relations beyond the window
    one = evaluate_predicted_entities(ruler_pipeline(1), dev)["by_distance"]
    assert one["beyond_window"] == 4 and one["cross_sentence"]["n_pred"] == 0


def test_no_split_at_window_1_on_in_sentence_data(tmp_path):
    nlp = ruler_pipeline(1)
    dev = tmp_path / "dev.spacy"
    DocBin(store_user_data=True, docs=planted_docs(nlp, 4)).to_disk(dev)
    scores = evaluate_predicted_entities(nlp, dev)
    assert "by_distance" not in scores and "cross-sentence" not in describe(scores)
