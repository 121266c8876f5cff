"""Prediction batches are cut into model calls by length; the scores do not change."""

import itertools

import numpy
import pytest
import spacy
from conftest import make_doc, planted_docs
from hypothesis import given, settings
from hypothesis import strategies as st
from util import gold_examples, trained

from spacy_bio_rel.data_classes import RelInput
from spacy_bio_rel.ml.chunking import length_groups, pair_chunks, window_length


def cost(groups, rows, lengths, overhead):
    return sum(overhead + sum(rows[i] for i in g) * max(lengths[i] for i in g) for g in groups)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 60)), min_size=0, max_size=7),
    st.sampled_from([0, 10, 100, 1000]),
)
def test_groups_cover_every_doc_once_at_the_least_cost(items, overhead):
    rows = [r for r, _ in items]
    lengths = [n for _, n in items]
    groups = length_groups(rows, lengths, overhead)
    flat = [i for g in groups for i in g]
    assert sorted(flat) == [i for i, r in enumerate(rows) if r]
    # the best cut of the length-sorted order, by brute force
    order = sorted(flat, key=lambda i: lengths[i])
    best = None
    for k in range(len(order)):
        for cuts in itertools.combinations(range(1, len(order)), k):
            bounds = [0, *cuts, len(order)]
            c = cost([order[a:b] for a, b in zip(bounds, bounds[1:])], rows, lengths, overhead)
            best = c if best is None else min(best, c)
    if order:
        assert cost(groups, rows, lengths, overhead) == pytest.approx(best)


def test_pair_chunks_respect_the_limit_and_keep_the_order():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    docs = [eg.predicted for eg in gold_examples(planted_docs(nlp, 5))]
    X = RelInput(docs, [list(d.ents) for d in docs], [pipe.candidates(d) for d in docs])
    parts = list(pair_chunks(X, [3, 0, 4], limit=4))
    assert all(sum(len(c) for c in part.cands) <= 4 for _, part in parts)
    seen = {}
    for where, part in parts:
        for d, cands in zip(where, part.cands):
            seen.setdefault(d, []).extend(cands)
    assert list(seen) == [3, 0, 4] and all(seen[d] == X.cands[d] for d in seen)


def test_window_length_counts_units():
    nlp = spacy.blank("en")
    doc = make_doc(
        nlp,
        ["Ann", "met", "Bo", ".", "Cy", "saw", "a", "big", "Dee"],
        [(0, 1, "P"), (2, 3, "P"), (4, 5, "P"), (8, 9, "P")],
        sent_starts=[True, False, False, False, True, False, False, False, False],
    )
    from spacy_bio_rel.candidates import iter_candidates

    cands = list(iter_candidates(doc, True))
    assert window_length(doc, cands, "token", 200) == (2, 5)
    assert window_length(doc, cands, "char", 200) == (2, len("Cy saw a big Dee"))
    # sentences longer than max_length: up to one window per pair (2 + 2 pairs)
    assert window_length(doc, cands, "token", 3) == (4, 3)
    assert window_length(doc, [], "token", 200) == (0, 0)


def test_grouped_prediction_equals_one_doc_at_a_time():
    """Docs of very different lengths, reordered and grouped: the same scores as one Doc per call."""
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    docs = [eg.predicted for eg in gold_examples(planted_docs(nlp, 12))]
    for i, doc in enumerate(docs):  # lengthen every third Doc: 8 to 8 + 200 tokens
        if i % 3 == 0:
            words = [t.text for t in doc] + ["and"] * 200
            docs[i] = make_doc(nlp, words, [(e.start, e.end, e.label_) for e in doc.ents])
    _, together = pipe.predict(docs)
    assert (
        len(
            list(
                pipe._chunks(RelInput(docs, [list(d.ents) for d in docs], [pipe.candidates(d) for d in docs]))
            )
        )
        > 1
    )
    for doc, scores in zip(docs, together):
        _, (alone,) = pipe.predict([doc])
        numpy.testing.assert_allclose(scores, alone, atol=1e-5)
