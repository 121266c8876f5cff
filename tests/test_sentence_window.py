"""Pairs across sentences (``sentence_window``): the component's candidates and training gold, the
boundary tag, saving, and the two network paths agreeing on multi-sentence Docs."""

import random

import numpy
import pytest
import spacy
import torch
from conftest import make_doc
from spacy.tokens import Doc, Span
from util import SMALL_MODEL, gold_examples

from spacy_bio_rel.data_classes import RelInput
from spacy_bio_rel.ml.architectures import BATCH_FIELDS, torch_module
from spacy_bio_rel.ml.featurize import featurizer_of, vocab_sizes

PEOPLE, ORGS, LOCS = ["Anna", "Bert", "Carl", "Dora"], ["Acme", "Globex"], ["Oslo", "Lima"]


def cross_sentence_docs(nlp, n=12):
    """Two sentences each: a Work_For inside the first, a Live_In from its PER to the LOC of the next."""
    docs = []
    for i in range(n):
        p, o, loc = PEOPLE[i % 4], ORGS[i % 2], LOCS[(i // 2) % 2]
        words = [p, "works", "for", o, ".", "Home", "is", loc, "."]
        starts = [True, False, False, False, False, True, False, False, False]
        ents = [(0, 1, "PER"), (3, 4, "ORG"), (7, 8, "LOC")]
        docs.append(make_doc(nlp, words, ents, [(0, 1, "Work_For"), (0, 2, "Live_In")], sent_starts=starts))
    return docs


def pipeline(window, **model):
    nlp = spacy.blank("en")
    config = {"model": dict(SMALL_MODEL, **model), "sentence_window": window}
    nlp.add_pipe("relation_extractor", config=config)
    nlp.initialize(lambda: gold_examples(cross_sentence_docs(nlp)))
    return nlp


def test_sentence_window_below_one_is_refused_in_one_line():
    for bad in (0, -2):
        with pytest.raises(ValueError, match=r"sentence_window must be a whole number of at least 1, got"):
            spacy.blank("en").add_pipe("relation_extractor", config={"sentence_window": bad})


def test_window_one_reads_no_pair_across_sentences_and_has_no_boundary_tag():
    nlp = pipeline(1)
    pipe = nlp.get_pipe("relation_extractor")
    doc = cross_sentence_docs(nlp, 1)[0]
    assert [(c.head, c.tail) for c in pipe.candidates(doc)] == [((0, 1), (3, 4))]
    featurize = pipe.model.get_ref("featurize")
    assert featurize.attrs["sentence_boundary"] is False
    assert vocab_sizes(featurize)[1] == 4 + 2 * 3  # pad, O, unknown B/I, B/I of LOC, ORG, PER
    assert pipe.cfg["type_pairs"] == [["PER", "ORG"]]  # the Live_In pairs are beyond the window


def test_window_two_trains_on_the_cross_sentence_relations_as_positives():
    nlp = pipeline(2)
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.cfg["type_pairs"] == [["PER", "LOC"], ["PER", "ORG"]]
    doc = cross_sentence_docs(nlp, 1)[0]
    cands = pipe.candidates(doc)
    assert [(c.head, c.tail, c.sent) for c in cands] == [((0, 1), (3, 4), (0, 5)), ((0, 1), (7, 8), (0, 9))]
    assert pipe.cfg["class_counts"] == {"Live_In": 12, "Work_For": 12, "Other": 0}
    featurize = pipe.model.get_ref("featurize")
    assert featurize.attrs["sentence_boundary"] is True
    assert vocab_sizes(featurize)[1] == 4 + 2 * 3 + 1
    batch = featurize.predict(RelInput([doc], [list(doc.ents)], [cands]))
    boundary = vocab_sizes(featurize)[1] - 1
    assert boundary not in batch.tags[0] and batch.tags[1].tolist().count(boundary) == 1


def test_the_window_and_the_boundary_tag_are_saved(tmp_path):
    nlp = pipeline(2)
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    pipe = loaded.get_pipe("relation_extractor")
    assert pipe.cfg["sentence_window"] == 2
    assert pipe.model.get_ref("featurize").attrs["sentence_boundary"] is True
    doc = cross_sentence_docs(loaded, 1)[0]
    numpy.testing.assert_array_equal(
        loaded.get_pipe("relation_extractor").predict([doc])[1][0],
        nlp.get_pipe("relation_extractor").predict([doc])[1][0],
    )


def test_the_cap_applies_per_covering_span():
    nlp = pipeline(2)
    pipe = nlp.get_pipe("relation_extractor")
    pipe.cfg["max_candidates_per_sentence"] = 1
    words = ["Anna", "and", "Bert", "work", "for", "Acme", ".", "Home", "is", "Oslo", "."]
    starts = [i in (0, 7) for i in range(len(words))]
    doc = make_doc(
        nlp, words, [(0, 1, "PER"), (2, 3, "PER"), (5, 6, "ORG"), (9, 10, "LOC")], sent_starts=starts
    )
    with pytest.warns(UserWarning, match="span of sentences"):
        cands = pipe.candidates(doc)
    # one pair per covering span, the nearest: Bert-Acme in the first sentence, Bert-Oslo across
    assert [(c.head, c.tail, c.sent) for c in cands] == [((2, 3), (5, 6), (0, 7)), ((2, 3), (9, 10), (0, 11))]
    assert pipe.skipped["candidates_over_cap"] == 2


def random_multi_sentence_doc(nlp, rng):
    """2 to 6 sentences of 1 to 40 tokens, entities of known and unknown labels anywhere."""
    words, starts, ents = [], [], []
    for _ in range(rng.randint(2, 6)):
        n = rng.randint(1, 40)
        first = len(words)
        words += [rng.choice(PEOPLE + ORGS + LOCS + ["x", "and", "."]) for _ in range(n)]
        starts += [True] + [False] * (n - 1)
        pos = first
        while pos < len(words) and rng.random() < 0.8:
            start = pos + rng.randint(0, 5)
            if start >= len(words):
                break
            end = min(len(words), start + rng.randint(1, 3))
            ents.append((start, end, rng.choice(["PER", "ORG", "LOC", "MISC"])))
            pos = end
    doc = Doc(nlp.vocab, words=words, sent_starts=starts)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    return doc


def _run(net, args, fast):
    net.zero_grad()
    classes, ident = net(*args, shared_convolution=fast)
    weights = torch.linspace(-1.0, 1.0, classes.numel()).view_as(classes)
    ((classes * weights).sum() + ident.sum()).backward()
    grads = {name: p.grad.detach().clone() for name, p in net.named_parameters() if p.grad is not None}
    return classes.detach().numpy(), ident.detach().numpy(), grads


@pytest.mark.parametrize("window", [1, 2, 3])
def test_fast_path_equals_reference_on_multi_sentence_docs(window):
    """Outputs (with and without gradients) and every parameter gradient agree to 1e-5; a small
    max_length makes the long covering spans be read in cropped and glued windows too."""
    nlp = pipeline(window, max_length=24)
    pipe = nlp.get_pipe("relation_extractor")
    net = torch_module(pipe.model)
    rng = random.Random(window)
    docs = [random_multi_sentence_doc(nlp, rng) for _ in range(12)]
    X = RelInput(docs, [list(d.ents) for d in docs], [pipe.candidates(d) for d in docs])
    cross = sum(
        len({c.sent for c in cands} - {(s.start, s.end) for s in d.sents}) for d, cands in zip(docs, X.cands)
    )
    assert (cross > 0) == (window > 1)
    batch = pipe.model.get_ref("featurize").predict(X)
    assert batch.n_pairs > 0 and batch.lengths.max() == 24
    boundary = featurizer_of(pipe.model.get_ref("featurize")).tag_vocab.boundary_id
    assert boundary is None if window == 1 else boundary in batch.tags
    args = [torch.as_tensor(getattr(batch, f)) for f in BATCH_FIELDS]
    with torch.no_grad():
        predicted_fast = net(*args, shared_convolution=True)[0].numpy()
        predicted_ref = net(*args, shared_convolution=False)[0].numpy()
    numpy.testing.assert_allclose(predicted_fast, predicted_ref, rtol=0, atol=1e-5)
    fast, fast_ident, fast_grads = _run(net, args, True)
    ref, ref_ident, ref_grads = _run(net, args, False)
    numpy.testing.assert_allclose(fast, ref, rtol=0, atol=1e-5)
    numpy.testing.assert_allclose(fast_ident, ref_ident, rtol=0, atol=1e-5)
    assert fast_grads.keys() == ref_grads.keys() and "tag_emb.weight" in fast_grads
    for name in ref_grads:  # a summed loss gives gradients in the hundreds: float32 keeps ~7 digits of them
        numpy.testing.assert_allclose(fast_grads[name], ref_grads[name], rtol=1e-5, atol=1e-5, err_msg=name)
