"""The fast (shared-convolution) path equals the per-pair reference network."""

import pytest
import torch
from util import default_model_settings, loss_settings, model, random_batch

from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN, relative_positions
from spacy_bio_rel.training.losses import total_loss


# [3, 5]: every sentence shorter than max_distance (6), so only part of the distance table is used
@pytest.mark.parametrize(
    "lengths,long_entities",
    [([12], False), ([3, 17, 2, 30], False), ([1, 2, 9], True), ([25, 8], True), ([3, 5], True)],
)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_fast_path_equals_reference(lengths, long_entities, activation):
    m = model(activation=activation)
    batch = random_batch(len(lengths), lengths, long_entities=long_entities)
    gold = torch.randint(0, 5, (batch[-1].shape[0],), generator=torch.Generator().manual_seed(1))
    settings = loss_settings(n_labels=4, classification_loss="ranking", multitask=True)
    results = []
    for fast in (True, False):
        m.zero_grad()
        cls, ident = m(*batch, shared_convolution=fast)
        loss = total_loss(cls, ident, gold, settings)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
        results.append((cls.detach(), ident.detach(), loss.item(), grads))
    (c1, i1, l1, g1), (c2, i2, l2, g2) = results
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(i1, i2, atol=1e-5, rtol=1e-4)
    assert l1 == pytest.approx(l2, rel=1e-5, abs=1e-4)
    assert g1.keys() == g2.keys() and len(g1) > 5
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], atol=1e-4, rtol=1e-3, msg=name)


@pytest.mark.parametrize(
    "switches", [dict(use_tags=False), dict(use_positions=False), dict(use_words=False, use_tags=False)]
)
def test_feature_switches_keep_paths_equal(switches):
    m = model(**switches)
    batch = random_batch(3, [7, 15])
    torch.testing.assert_close(
        m(*batch, shared_convolution=True)[0], m(*batch, shared_convolution=False)[0], atol=1e-5, rtol=1e-4
    )


def test_sizes_follow_the_paper():
    m = BioTagCNN(n_words=10, n_tags=6, n_classes=5, **default_model_settings())
    assert m.word_emb.embedding_dim == 200 and m.tag_emb.embedding_dim == 50
    assert m.pos1_emb.embedding_dim == 50 and m.pos2_emb.embedding_dim == 50
    assert [w.shape for w in m.conv_weights] == [(64, 350, k) for k in range(4, 11)]
    assert m.n_pooled == 448 and m.hidden.out_features == 128 and m.dropout.p == 0.2
    assert m.class_out.out_features == 5 and m.class_out.bias is None and m.id_out.out_features == 2


def test_no_input_features_is_an_error():
    with pytest.raises(ValueError, match="At least one"):
        BioTagCNN(**dict(default_model_settings(), use_words=False, use_tags=False, use_positions=False))


def test_relative_positions():
    pos = torch.arange(8)
    ids = relative_positions(pos, torch.tensor(3), torch.tensor(5), max_distance=2) - 2
    assert ids.tolist() == [-2, -2, -1, 0, 0, 1, 2, 2]


def test_empty_batch():
    m = model()
    z = torch.zeros((0,), dtype=torch.long)
    cls, ident = m(
        torch.zeros((0, 1), dtype=torch.long), torch.zeros((0, 1), dtype=torch.long), z, z, z, z, z, z
    )
    assert cls.shape == (0, 4) and ident.shape == (0, 2)


def test_resize_keeps_device_and_shapes():
    m = model()
    m.resize(100, 12, 7)
    assert m.word_emb.num_embeddings == 100 and m.tag_emb.num_embeddings == 12 and m.n_classes == 7


def test_no_grad_path_equals_reference():
    """Prediction pools without argmax bookkeeping; the scores must not change."""
    m = model()
    batch = random_batch(5, [4, 19, 11], long_entities=True)
    with torch.no_grad():
        fast = m(*batch, shared_convolution=True)
        ref = m(*batch, shared_convolution=False)
    for a, b in zip(fast, ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("chunk", [1, 64, 1000])
def test_small_pooling_chunks_give_the_same_result(monkeypatch, chunk):
    """Pairs sorted by sentence length and pooled a few at a time (even one
    position per chunk budget) give the same scores and gradients."""
    from spacy_bio_rel.ml import pair_pool

    m = model()
    batch = random_batch(6, [2, 30, 9, 17, 1], long_entities=True)
    outs = []
    for size in (pair_pool.CHUNK_ELEMENTS, chunk):
        monkeypatch.setattr(pair_pool, "CHUNK_ELEMENTS", size)
        m.zero_grad()
        cls, ident = m(*batch, shared_convolution=True)
        (cls.sum() + ident.square().sum()).backward()
        outs.append(
            (cls.detach(), {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
        )
    torch.testing.assert_close(outs[0][0], outs[1][0])
    for name, g in outs[0][1].items():
        torch.testing.assert_close(g, outs[1][1][name], atol=1e-5, rtol=1e-4, msg=name)


def assert_paths_agree_with_gradients(m, batch, seed=2):
    """Class scores and every parameter gradient of one ranking + MTL loss: fast path == reference."""
    gold = torch.randint(0, 5, (batch[-1].shape[0],), generator=torch.Generator().manual_seed(seed))
    settings = loss_settings(n_labels=4, classification_loss="ranking", multitask=True)
    results = []
    for fast in (True, False):
        m.zero_grad()
        cls, ident = m(*batch, shared_convolution=fast)
        total_loss(cls, ident, gold, settings).backward()
        results.append(
            (cls.detach(), {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None})
        )
    (c1, g1), (c2, g2) = results
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-4)
    assert g1.keys() == g2.keys()
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], atol=1e-4, rtol=1e-3, msg=name)
    return c2


def test_unsorted_and_even_windows_keep_paths_equal():
    assert_paths_agree_with_gradients(
        model(window_sizes=[3, 6, 2, 1]), random_batch(7, [5, 13, 1], long_entities=True)
    )


def dense_inputs(batch, width, seed=3, n_tokens=None):
    """Token vectors and the token row of each unit (-1 past each sentence)."""
    words, lengths = batch[0], batch[2]
    S, N = words.shape
    g = torch.Generator().manual_seed(seed)
    total = int(lengths.sum())
    vectors = torch.randn((n_tokens or total, width), generator=g, requires_grad=True)
    unit_tokens = torch.full((S, N), -1, dtype=torch.long)
    start = 0
    for s, n in enumerate(lengths.tolist()):
        unit_tokens[s, :n] = torch.arange(start, start + n)
        start += n
    return vectors, unit_tokens


@pytest.mark.parametrize("lengths", [[12], [3, 17, 2, 30], [1, 2, 9]])
@pytest.mark.parametrize("use_words", [True, False])
def test_dense_channel_fast_equals_reference_with_gradients(lengths, use_words):
    m = model(tok2vec_width=6, use_words=use_words)
    batch = random_batch(len(lengths), lengths, long_entities=True)
    gold = torch.randint(0, 5, (batch[-1].shape[0],), generator=torch.Generator().manual_seed(1))
    settings = loss_settings(n_labels=4)
    results = []
    for fast in (True, False):
        m.zero_grad()
        vectors, unit_tokens = dense_inputs(batch, 6)
        cls, ident = m(*batch, vectors, unit_tokens, shared_convolution=fast)
        total_loss(cls, ident, gold, settings).backward()
        grads = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
        results.append((cls.detach(), vectors.grad.clone(), grads))
    (c1, v1, g1), (c2, v2, g2) = results
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(v1, v2, atol=1e-4, rtol=1e-3)  # the gradient reaching the encoder
    assert v1.abs().sum() > 0
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], atol=1e-4, rtol=1e-3, msg=name)


def test_dense_channel_width_is_checked():
    m = model(tok2vec_width=6)
    batch = random_batch(0, [5])
    with pytest.raises(ValueError, match="width 6"):
        m(*batch, *dense_inputs(batch, 4))
    with pytest.raises(ValueError, match="dense channel"):
        m(*batch)


def test_saved_settings_are_checked_and_sizes_follow_the_weights():
    saved = model(n_words=33, n_classes=7).state_dict()
    fresh = model()  # other vocabulary and label sizes: resized on load
    fresh.load_state_dict(saved)
    assert fresh.word_emb.num_embeddings == 33 and fresh.n_classes == 7
    with pytest.raises(ValueError, match="activation = 'tanh'"):
        model(activation="relu").load_state_dict(saved)
    with pytest.raises(ValueError, match="window_sizes"):
        model(window_sizes=[2, 3]).load_state_dict(saved)
    with pytest.raises(ValueError, match="use_tags = True"):
        model(use_tags=False).load_state_dict(saved)


@pytest.mark.parametrize(
    "switches", [dict(), dict(use_tags=False), dict(use_words=False), dict(use_positions=False)]
)
def test_entity_features_keep_paths_equal_with_gradients(switches):
    m = model(entity_features=True, **switches)
    batch = random_batch(7, [6, 14, 3], long_entities=True)
    reference = assert_paths_agree_with_gradients(m, batch)
    with torch.no_grad():
        torch.testing.assert_close(m(*batch, shared_convolution=True)[0], reference, atol=1e-5, rtol=1e-4)


def test_entity_vectors_are_mean_unit_and_first_tag_embeddings():
    m = model(entity_features=True)
    words, tags, lengths, ent_sent, ent_start, ent_end, e1, e2 = random_batch(3, [9, 5], long_entities=True)
    vectors = m.entity_vectors(words, tags, lengths, ent_sent, ent_start, ent_end)
    assert vectors.shape == (len(ent_sent), 200 + 50) and m.hidden.in_features == m.n_pooled + 2 * 250
    for e in range(len(ent_sent)):
        s, a, b = int(ent_sent[e]), int(ent_start[e]), int(ent_end[e])
        torch.testing.assert_close(vectors[e, :200], m.word_emb(words[s, a:b]).mean(0))
        torch.testing.assert_close(vectors[e, 200:], m.tag_emb(tags[s, a]))


def test_entity_features_setting_is_saved_and_checked():
    plain, with_ents = model(), model(entity_features=True)
    assert plain.settings["entity_features"] is False and with_ents.settings["entity_features"] is True
    assert with_ents.hidden.in_features > plain.hidden.in_features
    with pytest.raises(ValueError, match="entity_features"):
        model(entity_features=True).set_extra_state(plain.get_extra_state())
    with pytest.raises(ValueError, match="needs use_words or use_tags"):
        model(entity_features=True, use_words=False, use_tags=False)


def test_encoder_entity_vectors_are_each_targets_mean_encoder_vector():
    m = model(tok2vec_width=6, encoder_entity_features=True)
    batch = random_batch(3, [9, 5], long_entities=True)
    words, tags, lengths, ent_sent, ent_start, ent_end = batch[:6]
    vectors, unit_tokens = dense_inputs(batch, 6)
    dense = m._dense_input(vectors, unit_tokens)
    ents = m.entity_vectors(words, tags, lengths, ent_sent, ent_start, ent_end, dense)
    assert ents.shape == (len(ent_sent), 6) and m.hidden.in_features == m.n_pooled + 2 * 6
    for e in range(len(ent_sent)):
        s, a, b = int(ent_sent[e]), int(ent_start[e]), int(ent_end[e])
        torch.testing.assert_close(ents[e], vectors[unit_tokens[s, a:b]].mean(0))
    both = model(tok2vec_width=6, encoder_entity_features=True, entity_features=True)
    assert both.entity_vectors(words, tags, lengths, ent_sent, ent_start, ent_end, dense).shape[1] == 250 + 6


@pytest.mark.parametrize("use_words", [True, False])
def test_encoder_entity_features_keep_paths_equal_and_reach_the_encoder(use_words):
    """The encoder's vectors get a gradient through the entity means too, equal on both paths."""
    m = model(tok2vec_width=6, encoder_entity_features=True, use_words=use_words)
    batch = random_batch(5, [4, 11, 7], long_entities=True)
    gold = torch.randint(0, 5, (batch[-1].shape[0],), generator=torch.Generator().manual_seed(1))
    results = []
    for fast in (True, False):
        m.zero_grad()
        vectors, unit_tokens = dense_inputs(batch, 6)
        cls, ident = m(*batch, vectors, unit_tokens, shared_convolution=fast)
        total_loss(cls, ident, gold, loss_settings(n_labels=4)).backward()
        grads = {n: p.grad.clone() for n, p in m.named_parameters() if p.grad is not None}
        results.append((cls.detach(), vectors.grad.clone(), grads))
    (c1, v1, g1), (c2, v2, g2) = results
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(v1, v2, atol=1e-4, rtol=1e-3)
    for name in g1:
        torch.testing.assert_close(g1[name], g2[name], atol=1e-4, rtol=1e-3, msg=name)
    # the entity means alone send a gradient to the encoder: with the convolution's dense block at 0
    m.zero_grad()
    with torch.no_grad():
        for w in m.conv_weights:
            w[:, m._unit_width : m._unit_width + 6] = 0.0
    vectors, unit_tokens = dense_inputs(batch, 6)
    cls, ident = m(*batch, vectors, unit_tokens)
    total_loss(cls, ident, gold, loss_settings(n_labels=4)).backward()
    assert vectors.grad.abs().sum() > 0


def test_encoder_entity_features_follow_the_encoder_width_and_are_saved():
    m = model(tok2vec_width=0, encoder_entity_features=True)
    assert m.hidden.in_features == m.n_pooled
    m.set_tok2vec_width(10)  # read from the encoder at initialize
    assert m.hidden.in_features == m.n_pooled + 2 * 10
    plain = model(tok2vec_width=10)
    assert (
        plain.settings["encoder_entity_features"] is False and m.settings["encoder_entity_features"] is True
    )
    with pytest.raises(ValueError, match="encoder_entity_features"):
        model(tok2vec_width=10, encoder_entity_features=True).set_extra_state(plain.get_extra_state())


def test_unit_dropout_reads_units_as_unknown_in_training_only():
    m = model(unit_dropout=0.5)
    words = torch.tensor([[5, 6, 7, 8, 1, 0, 0]] * 200)
    dropped = m.drop_units(words)
    known = words > 1
    assert ((dropped == words) | (dropped == 1)).all() and (dropped[~known] == words[~known]).all()
    assert 0.4 < (dropped[known] == 1).float().mean().item() < 0.6
    batch = random_batch(6, [9, 12])
    m.eval()
    first = m(*batch)[0]
    torch.testing.assert_close(m(*batch)[0], first)  # no dropout outside training
    assert "unit_dropout" not in m.settings  # training-only: a saved model predicts the same either way
    with pytest.raises(ValueError, match="unit_dropout"):
        model(unit_dropout=1.0)
