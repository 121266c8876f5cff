"""Any sentence length, any target distance, any number of entities: prediction never raises, the
fast and reference paths agree, wide pairs and capped candidates are counted."""

import warnings

import numpy
import pytest
from conftest import make_doc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, DocBin, Span
from util import SMALL_MODEL, _train, trained

from spacy_bio_rel.candidates import Candidate, cap_per_sentence
from spacy_bio_rel.ml.architectures import torch_module
from spacy_bio_rel.scoring.evaluate import evaluate_gold_entities


def both_paths(nlp, docs):
    """Class scores per Doc from the fast path and from the reference path."""
    pipe = nlp.get_pipe("relation_extractor")
    net = torch_module(pipe.model)
    try:
        net.shared_convolution = True
        fast = pipe.predict(docs)[1]
        net.shared_convolution = False
        ref = pipe.predict(docs)[1]
    finally:
        net.shared_convolution = True
    return fast, ref


def long_doc(nlp, n, ents):
    words = [f"w{i % 7}" for i in range(n)]
    return make_doc(nlp, words, ents)


def test_a_201_token_sentence_with_targets_200_apart_predicts_on_both_paths():
    nlp = trained()
    doc = long_doc(nlp, 201, [(0, 1, "PER"), (200, 201, "ORG")])
    fast, ref = both_paths(nlp, [doc])
    assert fast[0].shape[0] == 1  # PER -> ORG
    numpy.testing.assert_allclose(fast[0], ref[0], atol=1e-5)
    nlp(doc)  # set_annotations too


def test_a_5000_token_dev_sentence_evaluates_and_counts_its_wide_pairs(tmp_path):
    nlp = trained()
    doc = long_doc(nlp, 5000, [(0, 1, "PER"), (2500, 2501, "LOC"), (4998, 4999, "ORG")])
    DocBin(store_user_data=True, docs=[doc]).to_disk(tmp_path / "dev.spacy")
    scores = evaluate_gold_entities(nlp, tmp_path / "dev.spacy")
    assert scores["counts"]["instances"] == 2 and scores["counts"]["wide_pairs"] == 2


def test_a_whitespace_only_sentence_is_predicted_on_both_paths():
    """Character units of a sentence of whitespace tokens: none. Read as one unknown unit, on fresh
    prediction tables (the first call of a new pipeline), both paths give the same finite scores."""
    import spacy
    from util import chinese_docs, gold_examples

    nlp = spacy.blank("zh")
    nlp.add_pipe("relation_extractor", config={"model": dict(SMALL_MODEL, granularity="char")})
    nlp.initialize(lambda: gold_examples(chinese_docs(nlp, 8)))
    doc = Doc(nlp.vocab, words=["  ", " "], spaces=[False, False])
    doc.ents = [Span(doc, 0, 1, label="PER"), Span(doc, 1, 2, label="ORG")]
    fast, ref = both_paths(nlp, [doc])
    assert fast[0].shape[0] == 1 and numpy.isfinite(fast[0]).all() and numpy.isfinite(ref[0]).all()
    numpy.testing.assert_allclose(fast[0], ref[0], atol=1e-5)


def test_max_length_below_two_is_refused_when_the_component_is_built():
    import spacy

    with pytest.raises(ValueError, match="max_length must be at least 2"):
        spacy.blank("en").add_pipe("relation_extractor", config={"model": {"max_length": 1}})


def test_cap_keeps_the_nearest_pairs_and_counts_the_rest():
    def cand(h, t):
        return Candidate(sent=(0, 100), head=(h, h + 1), tail=(t, t + 1), head_label="A", tail_label="B")

    cands = [cand(0, 90), cand(10, 11), cand(50, 60), cand(20, 22), cand(5, 80)]
    kept, dropped = cap_per_sentence(cands, 3)
    assert kept == [cands[1], cands[2], cands[3]] and dropped == 2
    assert cap_per_sentence(cands, 5) == (cands, 0)


def test_a_sentence_with_many_entities_is_capped_with_a_warning():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    ents = [(i, i + 1, "PER" if i % 4 == 0 else "ORG") for i in range(0, 240, 2)]  # 60 PER, 60 ORG
    doc = long_doc(nlp, 240, ents)
    assert len(pipe.candidates(doc)) <= 1000  # without a cap: 60 * 60 = 3,600 ordered PER -> ORG pairs
    pipe.skipped.clear()
    pipe._warned.clear()
    with pytest.warns(UserWarning, match="max_candidates_per_sentence"):
        cands = pipe.candidates(doc)
    assert len(cands) == 1000 and pipe.skipped["candidates_over_cap"] == 2600
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.candidates(doc)  # warned once
    assert pipe.skipped["candidates_over_cap"] == 5200


LABELS = ["PER", "ORG", "LOC", "MISC"]
_MODELS = {}


def property_model(granularity, directed):
    """A tiny model per setting with a short max_length, so that long Docs need glued windows."""
    key = (granularity, directed)
    if key not in _MODELS:
        model = dict(SMALL_MODEL, granularity=granularity, max_length=40)
        _MODELS[key] = _train(directed, 2, model=model)
    return _MODELS[key]


@st.composite
def random_docs(draw):
    n = draw(st.integers(1, 1000))
    cuts = sorted(draw(st.sets(st.integers(0, n), max_size=120)))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2) if cuts[i] < cuts[i + 1]][:60]
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=len(spans), max_size=len(spans)))
    sent_starts = draw(st.one_of(st.none(), st.sets(st.integers(1, max(1, n - 1)), max_size=20)))
    return n, list(zip(spans, labels)), sent_starts


@pytest.mark.parametrize("granularity", ["token", "char"])
@pytest.mark.parametrize("directed", [True, False])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=random_docs())
def test_prediction_never_raises_and_both_paths_agree(granularity, directed, data):
    n, ents, sent_starts = data
    nlp = property_model(granularity, directed)
    words = [("a", "bc", "d")[i % 3] for i in range(n)]
    starts = None if sent_starts is None else [i == 0 or i in sent_starts for i in range(n)]
    doc = Doc(nlp.vocab, words=words, sent_starts=starts)
    doc.ents = [Span(doc, s, e, label=lab) for (s, e), lab in ents]
    fast, ref = both_paths(nlp, [doc])
    assert fast[0].shape == ref[0].shape
    if fast[0].size:
        numpy.testing.assert_allclose(fast[0], ref[0], atol=1e-5)
    nlp.get_pipe("relation_extractor").set_annotations(
        [doc], nlp.get_pipe("relation_extractor").predict([doc])
    )
