"""Prediction's tables (kept between calls, position blocks folded over the
taps) give the scores of the exact paths."""

import pytest
import torch
from util import model, random_batch

from spacy_bio_rel.ml.prediction_tables import InferenceTables


def predict_both(m, batch, **kw):
    with torch.no_grad():
        m.prediction_tables = True
        tables = m(*batch, shared_convolution=True, **kw)
        reference = m(*batch, shared_convolution=False, **kw)
    return tables, reference


def assert_same(a, b):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, atol=1e-5, rtol=1e-4)


# sentences shorter than the widest window (both edges corrected at once), entities at the edges,
# long entities, distances beyond max_distance (6)
@pytest.mark.parametrize(
    "lengths,long_entities",
    [([1, 2, 3], True), ([12], False), ([3, 17, 2, 30], True), ([40, 9], True), ([5, 5, 5], False)],
)
@pytest.mark.parametrize("window_sizes", [(4, 5, 6, 7, 8, 9, 10), (3,), (2, 7)])
def test_prediction_tables_equal_the_reference(lengths, long_entities, window_sizes):
    m = model(window_sizes=window_sizes)
    assert_same(*predict_both(m, random_batch(7, lengths, long_entities=long_entities)))


@pytest.mark.parametrize(
    "switches",
    [
        dict(use_tags=False),
        dict(use_words=False),
        dict(use_positions=False),
        dict(use_words=False, use_tags=False),
    ],
)
def test_feature_switches(switches):
    m = model(**switches)
    assert_same(*predict_both(m, random_batch(3, [7, 15, 2], long_entities=True)))


def test_dense_channel():
    m = model(tok2vec_width=6)
    batch = random_batch(4, [9, 3, 14], long_entities=True)
    words = batch[0]
    n_tokens = 20
    unit_tokens = torch.where(words > 0, torch.randint(0, n_tokens, words.shape), torch.full_like(words, -1))
    vectors = torch.randn(n_tokens, 6)
    assert_same(*predict_both(m, batch, token_vectors=vectors, unit_tokens=unit_tokens))


def test_tables_follow_the_weights():
    """A weight changed in place (an optimiser step) rebuilds the tables."""
    m = model()
    batch = random_batch(2, [11, 6], long_entities=True)
    with torch.no_grad():
        before = m(*batch, shared_convolution=True)[0]
        key = m._tables.key
        m.pos2_emb.weight.mul_(3.0)
        m.word_emb.weight.add_(0.5)
        after = m(*batch, shared_convolution=True)[0]
        reference = m(*batch, shared_convolution=False)[0]
    assert m._tables.key != key
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, reference, atol=1e-5, rtol=1e-4)


def test_training_never_uses_the_tables():
    m = model()
    batch = random_batch(1, [8])
    m(*batch, shared_convolution=True)[0].sum().backward()
    assert m._tables is None and m.word_emb.weight.grad is not None


def test_first_prediction_on_one_unit_windows():
    """Fresh tables, every window one unit long (a pair of entities on the same unit): the
    position tables are built all the same."""
    m = model()
    t = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
    batch = (t([[5], [7]]), t([[4], [2]]), t([1, 1]), t([0, 0, 1]), t([0, 0, 0]), t([1, 1, 1]))
    batch += (t([0, 1, 2]), t([1, 0, 2]))
    assert_same(*predict_both(m, batch))


def test_longer_sentences_extend_the_position_tables():
    m = model()
    with torch.no_grad():
        m(*random_batch(1, [5]), shared_convolution=True)
        reach = m._tables.reach
        assert_same(*predict_both(m, random_batch(2, [3 * reach + 7], long_entities=True)))
    assert m._tables.reach > reach
    assert isinstance(m._tables, InferenceTables)


def test_predictions_between_training_steps_follow_the_weights():
    """spaCy evaluates during training: after an optimiser step (Thinc writes the
    weights in place) prediction must not use the tables of the old weights."""
    import numpy
    import spacy
    from conftest import planted_docs
    from util import SMALL_MODEL, gold_examples

    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL})
    examples = gold_examples(planted_docs(nlp, 16))
    optimizer = nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("relation_extractor")
    net = pipe.model.get_ref("network").shims[0]._model
    docs = [eg.predicted for eg in examples]
    for _ in range(3):
        _, with_tables = pipe.predict(docs)
        net.prediction_tables = False
        _, exact = pipe.predict(docs)
        net.prediction_tables = True
        for a, b in zip(with_tables, exact):
            numpy.testing.assert_allclose(a, b, atol=1e-5)
        nlp.update(examples, sgd=optimizer)
