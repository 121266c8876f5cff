import dataclasses
import subprocess
import sys

import numpy
import pytest
import spacy
from conftest import make_doc, planted_docs
from spacy.training import Example
from util import SMALL_MODEL, gold_examples, trained

from spacy_bio_rel.candidates import Candidate
from spacy_bio_rel.data_classes import ScoredCandidate
from spacy_bio_rel.training.readers import SKIP_PAIRS_KEY


def test_add_pipe_in_a_fresh_python_via_entry_points():
    code = (
        "import spacy; nlp = spacy.blank('en'); p = nlp.add_pipe('relation_extractor'); "
        "print(type(p).__name__, spacy.Doc.has_extension('relations') if hasattr(spacy,'Doc') else "
        "__import__('spacy.tokens', fromlist=['Doc']).Doc.has_extension('relations'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["RelationExtractor", "True"]


def test_defaults_follow_the_paper():
    nlp = spacy.blank("en")
    p = nlp.add_pipe("relation_extractor")
    cfg = p.cfg
    assert (cfg["margin_pos"], cfg["margin_neg"], cfg["gamma"], cfg["threshold"]) == (2.5, 0.5, 2.0, 0.0)
    assert cfg["multitask"] and cfg["classification_loss"] == "ranking" and cfg["directed"]
    model_cfg = nlp.config["components"]["relation_extractor"]["model"]
    assert model_cfg["window_sizes"] == [4, 5, 6, 7, 8, 9, 10] and model_cfg["n_filters"] == 64


def test_learns_planted_relations_and_scores():
    nlp = trained()
    doc = make_doc(
        nlp,
        ["Hana", "works", "for", "Acme", "and", "visited", "Lima", "."],
        [(0, 1, "PER"), (3, 4, "ORG"), (6, 7, "LOC")],
    )
    doc = nlp(doc)
    found = {(r.head.text, r.tail.text, r.label) for r in doc._.relations}
    assert ("Hana", "Acme", "Work_For") in found
    assert all(r.label in ("Work_For", "Live_In") for r in doc._.relations)
    scores = nlp.evaluate(gold_examples(planted_docs(nlp, 16)))
    assert scores["rel_micro_f"] > 0.9
    assert set(scores["rel_per_type"]) == {"Work_For", "Live_In"}


def test_undirected_reports_text_order():
    nlp = trained(directed=False, epochs=12)
    doc = make_doc(
        nlp,
        ["Bert", "lives", "in", "Oslo", "near", "Acme", "offices", "."],
        [(0, 1, "PER"), (3, 4, "LOC"), (5, 6, "ORG")],
    )
    rels = nlp(doc)._.relations
    assert rels and all(r.head.start < r.tail.start for r in rels)


def test_serialisation_round_trip(tmp_path):
    nlp = trained()
    docs = [
        make_doc(nlp, [t.text for t in d], [(e.start, e.end, e.label_) for e in d.ents])
        for d in planted_docs(nlp, 6)
    ]
    X1, before = nlp.get_pipe("relation_extractor").predict(docs)
    nlp.to_disk(tmp_path / "pipe")
    nlp2 = spacy.load(tmp_path / "pipe")
    X2, after = nlp2.get_pipe("relation_extractor").predict(docs)
    assert X1.cands == X2.cands
    for s1, s2 in zip(before, after):
        numpy.testing.assert_array_equal(s1, s2)
    nlp3 = spacy.blank("en").from_config(nlp.config)
    nlp3.from_bytes(nlp.to_bytes())
    for s1, s3 in zip(before, nlp3.get_pipe("relation_extractor").predict(docs)[1]):
        numpy.testing.assert_array_equal(s1, s3)


def test_bad_input_is_handled():
    nlp = trained()
    # no entities, one entity, an entity type never seen in training, empty doc
    docs = [
        nlp.make_doc("Nothing here ."),
        make_doc(nlp, ["Anna", "sleeps"], [(0, 1, "PER")]),
        make_doc(nlp, ["Anna", "drove", "Tank"], [(0, 1, "PER"), (2, 3, "WEA")]),
        nlp.make_doc(""),
    ]
    for doc in nlp.pipe(docs):
        assert doc._.relations == []
    unseen = make_doc(
        nlp, ["Anna", "works", "for", "Zed", "in", "Kyiv"], [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "WEA")]
    )
    nlp(unseen)  # unknown BIO tag type: no crash
    pipe = nlp.get_pipe("relation_extractor")
    X, scores = pipe.predict([])
    assert X.docs == [] and scores == []
    assert pipe.update([], losses={}) == {"relation_extractor": 0.0}


def test_unknown_gold_label_is_a_clear_error():
    nlp = trained()
    ref = make_doc(nlp, ["Anna", "works", "for", "Acme"], [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Owns")])
    with pytest.raises(ValueError, match="'Owns' is unknown"):
        nlp.update(gold_examples([ref]))
    with pytest.raises(ValueError, match="already initialized"):
        nlp.get_pipe("relation_extractor").add_label("Owns")


def test_untrained_component_is_a_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor")
    with pytest.raises(ValueError, match="not initialized"):
        nlp(make_doc(nlp, ["Anna", "Acme"], [(0, 1, "PER"), (1, 2, "ORG")]))
    with pytest.raises(ValueError, match="no gold relations"):
        nlp.initialize(lambda: gold_examples([make_doc(nlp, ["Anna"], [(0, 1, "PER")])]))


def test_bad_settings_are_rejected():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="granularity"):
        nlp.add_pipe("relation_extractor", config={"model": {"granularity": "byte"}})
    with pytest.raises(ValueError, match="classification_loss"):
        nlp.add_pipe("relation_extractor", name="r2", config={"classification_loss": "hinge"})


@pytest.mark.parametrize("cl", ["cross_entropy", "both"])
def test_loss_variants_train(cl):
    nlp = trained(epochs=12, classification_loss=cl, multitask=False)
    scores = nlp.evaluate(gold_examples(planted_docs(nlp, 16)))
    assert scores["rel_micro_f"] > 0.8


def test_type_filter_learned_and_saved():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    assert sorted(map(tuple, pipe.cfg["type_pairs"])) == [("PER", "LOC"), ("PER", "ORG")]
    doc = make_doc(nlp, ["Acme", "and", "Oslo"], [(0, 1, "ORG"), (2, 3, "LOC")])
    assert pipe.candidates(doc) == []  # (ORG, LOC) never positive in training


def test_chunked_prediction_equals_one_pass():
    """max_pairs_per_step splits the work of prediction, not the mathematics."""
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    docs = [eg.predicted for eg in gold_examples(planted_docs(nlp, 8))]
    _, whole = pipe.predict(docs)
    pipe.cfg["max_pairs_per_step"] = 2
    try:
        _, chunked = pipe.predict(docs)
    finally:
        pipe.cfg["max_pairs_per_step"] = 1024
    for a, b in zip(whole, chunked):
        numpy.testing.assert_allclose(a, b, atol=1e-6)


def test_skip_pairs_are_left_out_of_training():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    (eg,) = gold_examples(planted_docs(nlp, 1))
    all_pairs = pipe.training_input([eg]).cands[0]
    c = all_pairs[-1]
    eg.predicted.user_data[SKIP_PAIRS_KEY] = [[c.head[0], c.head[1], c.tail[0], c.tail[1]]]
    assert pipe.training_input([eg]).cands[0] == all_pairs[:-1]


def test_training_data_whose_relations_have_no_entities_fails_in_initialize():
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL})
    docs = planted_docs(nlp, 4)
    for doc in docs:
        doc.ents = []  # relations stay in user_data, their arguments are no longer entities
    with pytest.raises(ValueError, match="none of them links two entities"):
        nlp.initialize(lambda: gold_examples(docs))


def test_relations_survive_merge_entities():
    nlp = trained()
    nlp.add_pipe("merge_entities")
    doc = make_doc(
        nlp,
        ["Hana", "Lee", "works", "for", "Acme", "and", "visited", "Lima", "."],
        [(0, 2, "PER"), (4, 5, "ORG"), (7, 8, "LOC")],
    )
    doc = nlp(doc)
    rels = {(r.head.text, r.tail.text, r.label) for r in doc._.relations}
    assert ("Hana Lee", "Acme", "Work_For") in rels
    assert all(len(r.head) == 1 and len(r.tail) == 1 for r in doc._.relations)  # merged tokens


def test_training_uses_the_reference_entities():
    """Teacher forcing: the predicted Doc has no entities (an ner not trained yet), the
    relation model still learns from the reference's gold entities."""
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL})
    refs = planted_docs(nlp, 8)
    examples = [Example(nlp.make_doc(ref.text), ref) for ref in refs]
    nlp.initialize(lambda: examples)
    X = pipe.training_input(examples)
    assert X.n_pairs > 0 and all(len(e) == 3 for e in X.ents)
    assert all(not eg.predicted.ents for eg in examples)
    assert pipe.update(examples)["relation_extractor"] > 0


def test_relation_score_is_a_confidence():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    doc = nlp(
        make_doc(
            nlp,
            ["Hana", "works", "for", "Acme", "and", "visited", "Lima", "."],
            [(0, 1, "PER"), (3, 4, "ORG"), (6, 7, "LOC")],
        )
    )
    assert doc._.relations and all(0.0 <= r.score <= 1.0 for r in doc._.relations)
    theta = pipe.threshold_for_confidence(0.8)
    assert pipe.confidence(numpy.array([theta]))[0] == pytest.approx(0.8)


def test_class_weights_use_the_counts_recorded_in_initialize():
    nlp = trained(class_weight_power=0.5, positive_weight=2.0, epochs=2)
    pipe = nlp.get_pipe("relation_extractor")
    counts = pipe.cfg["class_counts"]
    assert set(counts) == {"Live_In", "Work_For", "Other"} and counts["Other"] > counts["Work_For"] > 0
    weights = pipe._loss_settings().class_weights
    assert weights[-1] == 1.0
    positives = counts["Live_In"] + counts["Work_For"]
    mean = (counts[pipe.labels[0]] * weights[0] + counts[pipe.labels[1]] * weights[1]) / positives
    assert mean == pytest.approx(2.0)
    assert trained().get_pipe("relation_extractor")._loss_settings().class_weights is None


def test_symmetric_labels_leave_the_reverse_pair_out_of_training_and_keep_one_order(nlp_en):
    from spacy.tokens import Span

    words = ["Anna", "met", "Bert", "in", "Oslo"]
    ents = [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    doc = make_doc(nlp_en, words, ents, [(0, 1, "Knows"), (0, 2, "In")])
    examples = gold_examples([doc])
    model = dict(SMALL_MODEL)
    counts = {}
    for symmetric in ([], ["Knows"]):
        nlp = spacy.blank("en")
        pipe = nlp.add_pipe("relation_extractor", config={"model": model, "symmetric_labels": symmetric})
        nlp.initialize(lambda: examples)
        X = pipe.training_input(examples)
        keys = {(c.head, c.tail) for c in X.cands[0]}
        counts[tuple(symmetric)] = len(keys)
        assert ((0, 1), (2, 3)) in keys  # the gold relation stays
        assert (((2, 3), (0, 1)) in keys) is not bool(symmetric)  # its reverse: Other, or left out
        assert pipe.cfg["symmetric_labels"] == symmetric
        nlp.update(examples, sgd=nlp.create_optimizer())  # trains either way
    assert counts[()] == counts[("Knows",)] + 1
    # prediction: both orders predicted Knows -> only the higher-scoring one is kept
    pred = doc.copy()
    a, b, c = (Span(pred, s, e, label=lab) for s, e, lab in ents)
    from spacy_bio_rel.pipeline_component import _one_order

    def scored(head, tail, label, score):
        pair = Candidate(
            (0, len(pred)), (head.start, head.end), (tail.start, tail.end), head.label_, tail.label_
        )
        pair = dataclasses.replace(pair, head_chars=(head.start_char, head.end_char))
        pair = dataclasses.replace(pair, tail_chars=(tail.start_char, tail.end_char))
        return ScoredCandidate(pred, pair, label, score, score, head.label_, tail.label_)

    rels = [
        scored(a, b, "Knows", 0.6),
        scored(b, a, "Knows", 0.9),
        scored(a, c, "In", 0.5),
        scored(c, a, "In", 0.4),
    ]
    kept = _one_order(rels, {"Knows"})
    assert [(r.head.text, r.tail.text, r.label) for r in kept] == [
        ("Bert", "Anna", "Knows"),
        ("Anna", "Oslo", "In"),
        ("Oslo", "Anna", "In"),
    ]
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": model, "symmetric_labels": ["Nope"]})
    with pytest.raises(ValueError, match="symmetric_labels"):
        nlp.initialize(lambda: examples)


@pytest.mark.parametrize(
    "setting,value",
    [
        ("gamma", -1.0),
        ("gamma", 0.0),
        ("threshold", float("nan")),
        ("margin_pos", float("inf")),
        ("alpha", -0.5),
        ("beta", float("nan")),
        ("max_pairs_per_step", 0),
        ("max_candidates_per_sentence", -1),
    ],
)
def test_a_setting_the_component_cannot_use_is_named(setting, value):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=setting):
        nlp.add_pipe("relation_extractor", config={setting: value})


@pytest.mark.parametrize(
    "setting,value",
    [("word_width", -5), ("n_filters", 0), ("hidden_width", -1), ("max_distance", 0), ("dropout", 1.5)],
)
def test_a_model_width_the_network_cannot_use_is_named(setting, value):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match=setting):
        nlp.add_pipe("relation_extractor", config={"model": {setting: value}})


@pytest.mark.parametrize("confidence", [1.5, -0.1, float("nan")])
def test_threshold_for_confidence_outside_0_1_is_an_error(confidence):
    pipe = trained().get_pipe("relation_extractor")
    with pytest.raises(ValueError, match="confidence"):
        pipe.threshold_for_confidence(confidence)
