"""``train_entities``: the relation model trains on the pairs of the gold entities, of the entities the
ner predicted, or of both."""

import dataclasses
import subprocess
import warnings

import pytest
import spacy
from conftest import REPO, planted_docs
from spacy.tokens import Span
from spacy.training import Example
from util import SMALL, SMALL_MODEL, _write, spacy_train_command

from spacy_bio_rel.candidates import OTHER, iter_candidates
from spacy_bio_rel.training.gold import entity_types, gold_labels, relation_index


def _ref_and_pred(nlp, pred_ents):
    """Planted doc 0 ("Anna works for Acme and visited Paris .", Anna -Work_For-> Acme) and a predicted
    Doc of the same text with ``pred_ents`` ((start, end, label) token spans)."""
    ref = planted_docs(nlp, 1)[0]
    pred = nlp.make_doc(ref.text)
    pred.ents = [Span(pred, s, e, label=lab) for s, e, lab in pred_ents]
    return ref, pred


def _pipe(mode, nlp=None):
    nlp = nlp or spacy.blank("en")
    pipe = nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL, "train_entities": mode})
    refs = planted_docs(nlp, 8)
    nlp.initialize(lambda: [Example(nlp.make_doc(r.text), r) for r in refs])
    return nlp, pipe


def test_a_predicted_pair_is_gold_only_if_spans_and_types_match():
    nlp = spacy.blank("en")
    labels_of = {}
    for name, ents in {
        "exact": [(0, 1, "PER"), (3, 4, "ORG")],
        "mistyped": [(0, 1, "PER"), (3, 4, "LOC")],
        "mis-bounded": [(0, 2, "PER"), (3, 4, "ORG")],
    }.items():
        ref, pred = _ref_and_pred(nlp, ents)
        (cand, _) = iter_candidates(pred, True)  # head -> tail first, then the reverse
        marked = dataclasses.replace(cand, predicted=True)
        labels = gold_labels(relation_index(ref), [cand, marked], True, entity_types(ref))
        labels_of[name] = labels
    assert labels_of["exact"] == ["Work_For", "Work_For"]
    # a gold pair (unmarked) keeps matching by character offsets alone; a predicted pair needs the types too
    assert labels_of["mistyped"] == ["Work_For", OTHER]
    assert labels_of["mis-bounded"] == [OTHER, OTHER]


def test_the_component_labels_predicted_pairs_by_spans_and_types():
    nlp, pipe = _pipe("predicted")
    ref, pred = _ref_and_pred(nlp, [(0, 1, "PER"), (3, 4, "LOC"), (6, 7, "LOC")])
    X = pipe.training_input([Example(pred, ref)])
    got = dict(zip([(c.head, c.tail) for c in X.cands[0]], pipe._gold([Example(pred, ref)], X.cands)))
    other = len(pipe.labels)
    assert got[((0, 1), (3, 4))] == other  # Acme predicted as LOC: the Work_For pair is no gold pair
    assert got[((0, 1), (6, 7))] == other  # Paris, LOC, no relation
    assert all(c.predicted for c in X.cands[0]) and X.alt_ents is None
    ref, pred = _ref_and_pred(nlp, [(0, 1, "PER"), (3, 4, "ORG")])
    X = pipe.training_input([Example(pred, ref)])
    assert list(pipe._gold([Example(pred, ref)], X.cands)) == [pipe.labels.index("Work_For")]


def test_predicted_with_no_predicted_entities_trains_with_loss_0():
    nlp, pipe = _pipe("predicted")
    assert pipe.cfg["class_counts"]["Work_For"] > 0  # initialize learns from the gold entities
    examples = [Example(nlp.make_doc(r.text), r) for r in planted_docs(nlp, 8)]
    assert pipe.training_input(examples).n_pairs == 0
    optimizer = nlp.resume_training()
    assert pipe.update(examples, sgd=optimizer) == {"relation_extractor": 0.0}
    # with the entities predicted, the same examples have pairs and a loss
    for eg in examples:
        eg.predicted.ents = [Span(eg.predicted, e.start, e.end, label=e.label_) for e in eg.reference.ents]
    assert pipe.update(examples, sgd=optimizer)["relation_extractor"] > 0


def test_predicted_with_no_pairs_still_lets_the_shared_tok2vec_learn_from_the_ner():
    """A step without relation pairs still runs the listener's backprop: with the relation extractor as the
    tok2vec's last listener, that is where spaCy applies the ner's gradient to the shared tok2vec."""
    overrides = {
        "components.relation_extractor.train_entities": "predicted",
        "components.tok2vec.model.encode.width": 32,
        "components.tok2vec.model.encode.depth": 1,
    }
    config = spacy.util.load_config(REPO / "configs" / "en_e2e.cfg", overrides=overrides)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)

    def examples():
        return [Example(nlp.make_doc(r.text), r) for r in planted_docs(nlp, 8)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no annotating ner: the warning is tested below
        optimizer = nlp.initialize(examples)
    tok2vec = nlp.get_pipe("tok2vec").model

    def weights():
        return [n.get_param(k).copy() for n in tok2vec.walk() for k in n.param_names if n.has_param(k)]

    before = weights()
    for _ in range(3):
        losses = nlp.update(examples(), sgd=optimizer)
    assert losses["relation_extractor"] == 0.0 and losses["tok2vec"] > 0
    assert any((a != b).any() for a, b in zip(weights(), before))


def test_both_equals_gold_when_nothing_is_predicted_and_adds_the_predicted_pairs_otherwise():
    nlp, pipe = _pipe("both")
    ref, pred = _ref_and_pred(nlp, [])
    eg = Example(pred, ref)
    both, gold = pipe.training_input([eg]), pipe.training_input([eg], train_entities="gold")
    assert both.cands == gold.cands and both.ents == gold.ents and both.alt_ents == [[]]
    assert list(pipe._gold([eg], both.cands)) == list(pipe._gold([eg], gold.cands))

    # Anna and Acme exact (that pair counted once, as the gold pair), "visited Paris" mis-bounded
    ref, pred = _ref_and_pred(nlp, [(0, 1, "PER"), (3, 4, "ORG"), (5, 7, "LOC")])
    eg = Example(pred, ref)
    both, gold = pipe.training_input([eg]), pipe.training_input([eg], train_entities="gold")
    assert both.cands[0][: len(gold.cands[0])] == gold.cands[0]
    extra = both.cands[0][len(gold.cands[0]) :]
    assert [(c.head, c.tail, c.predicted) for c in extra] == [((0, 1), (5, 7), True)]
    assert pipe._gold([eg], both.cands)[-1] == len(pipe.labels)  # Other
    # gold pairs are read with the gold entities' BIO tags, the predicted pair with the predicted ones
    batch = pipe.model.get_ref("featurize").predict(both)
    assert batch.words.shape[0] == 2 and (batch.words[0] == batch.words[1]).all()
    assert (batch.tags[0] != batch.tags[1]).any()
    assert batch.ent_sent[batch.pair_e2[-1]] == 1
    assert pipe.update([eg], sgd=nlp.resume_training())["relation_extractor"] > 0


def test_unknown_train_entities_is_rejected():
    with pytest.raises(ValueError, match="train_entities must be one of"):
        spacy.blank("en").add_pipe("relation_extractor", config={"train_entities": "ner"})


@pytest.mark.parametrize(
    "annotating,warning",
    [([], "no component that sets doc.ents"), (["ner"], "zero vectors"), (["tok2vec", "ner"], None)],
)
def test_initialize_warns_when_training_docs_get_no_predicted_entities(annotating, warning):
    overrides = {
        "components.relation_extractor.train_entities": "both",
        "training.annotating_components": annotating,
        "components.tok2vec.model.encode.width": 32,
        "components.tok2vec.model.encode.depth": 1,
    }
    config = spacy.util.load_config(REPO / "configs" / "en_e2e.cfg", overrides=overrides)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = [Example(nlp.make_doc(r.text), r) for r in planted_docs(nlp, 8)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nlp.initialize(lambda: examples)
    ours = [str(w.message) for w in caught if "train_entities" in str(w.message)]
    if warning is None:
        assert ours == []
    else:
        assert len(ours) == 1 and warning in ours[0]


@pytest.mark.parametrize("mode", ["both", "predicted"])
def test_spacy_train_e2e_config_on_predicted_entities(tmp_path, mode):
    """configs/en_e2e.cfg trained with the ner annotating the training Docs (tok2vec listed too: the ner
    listens to it) and the relation model on the predicted entities' pairs."""
    docs = planted_docs(spacy.blank("en"), 24)
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    out = tmp_path / "out"
    cmd = spacy_train_command(REPO / "configs" / "en_e2e.cfg", out, tmp_path)
    cmd += ["--components.relation_extractor.train_entities", mode]
    cmd += ["--training.annotating_components", '["tok2vec","ner"]']
    cmd += ["--components.tok2vec.model.encode.width", "32", "--components.tok2vec.model.encode.depth", "1"]
    res = subprocess.run(cmd + SMALL, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Set annotations on update for: ['tok2vec', 'ner']" in res.stdout
    assert "train_entities" not in res.stderr  # no warning: the ner sets entities on the training Docs
    loaded = spacy.load(out / "model-last")
    assert loaded.get_pipe("relation_extractor").cfg["train_entities"] == mode
