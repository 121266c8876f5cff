"""The annotation cache of a frozen encoder (training/annotation_cache.py, frozen_encoder.v1)."""

import random
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.tokens import DocBin
from spacy.util import load_config, load_model_from_config
from util import chinese_docs, model_weights, one_sentence, tiny_bert

from spacy_bio_rel.training.annotation_cache import AnnotationCache, doc_key
from spacy_bio_rel.training.callbacks import frozen_encoder

REPO = Path(__file__).parents[2]
ZH_TRF = REPO / "configs" / "zh_trf.cfg"


def _varied_docs(nlp):
    """24 one-sentence Docs with 12 distinct texts of different lengths (so batches pad)."""
    docs = chinese_docs(nlp)
    for i, doc in enumerate(docs[12:]):
        docs[12 + i] = nlp.make_doc(doc.text[: 4 + i % 5])
    return one_sentence(docs)


def _pipeline(tmp_path):
    config = load_config(ZH_TRF)
    probe = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
    docs = _varied_docs(probe)
    bert = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    nlp = load_model_from_config(dict(config, paths=dict(config["paths"], transformer=bert)), auto_fill=True)
    nlp.get_pipe("transformer").initialize(lambda: [], nlp=nlp)
    return nlp, docs, bert


def _copy(nlp, docs):
    return one_sentence([nlp.make_doc(d.text) for d in docs])


def _hidden(doc):
    """The Doc's word-piece outputs without the padding of the batch it was computed in."""
    data = doc._.trf_data
    hidden = numpy.asarray(data.model_output.last_hidden_state)
    return numpy.concatenate([hidden[i, :n] for i, n in enumerate(data.wordpieces.lengths)])


def test_doc_key_follows_text_tokens_and_sentences():
    nlp = spacy.blank("en")
    a, b = nlp.make_doc("Anna met Bert. Bert left."), nlp.make_doc("Anna met Bert. Bert left.")
    assert doc_key(a) == doc_key(b)
    assert doc_key(a) != doc_key(nlp.make_doc("Anna met Bert. Bert lef."))
    b[4].is_sent_start = True
    assert doc_key(a) != doc_key(b)


def test_cached_annotations_equal_recomputed_ones(tmp_path):
    nlp, docs, _ = _pipeline(tmp_path)
    trf = nlp.get_pipe("transformer")
    plain = list(trf.pipe(_copy(nlp, docs), batch_size=8))
    messages = []
    cache = AnnotationCache(trf, "transformer", log=messages.append).install()
    first = list(trf.pipe(_copy(nlp, docs), batch_size=8))
    distinct = len({doc_key(d) for d in docs})
    assert 6 < distinct < len(docs) and cache.stats.stored == distinct
    computed, hits = cache.stats.computed, cache.stats.hits
    assert computed + hits == len(docs)
    again = list(trf.pipe(_copy(nlp, docs)[::-1], batch_size=5))  # another order and batching
    assert cache.stats.computed == computed and cache.stats.hits == hits + len(docs)
    assert any("reading stored output" in m for m in messages)
    for p, f, g in zip(plain, first, again[::-1]):
        numpy.testing.assert_allclose(_hidden(f), _hidden(p), atol=1e-5)
        numpy.testing.assert_allclose(_hidden(g), _hidden(p), atol=1e-5)
        assert numpy.array_equal(g._.trf_data.align.dataXd, p._.trf_data.align.dataXd)
    cache.uninstall()
    assert "pipe" not in trf.__dict__ and not cache._store


def test_the_cache_draws_from_random_as_the_encoder_would(tmp_path):
    """spacy-transformers draws one number from Python's random in each forward pass, and spaCy shuffles
    the epochs with the same generator: served from the cache or not, the generator ends alike."""
    nlp, docs, _ = _pipeline(tmp_path)
    trf = nlp.get_pipe("transformer")
    random.seed(0)
    for _ in range(2):
        list(trf.pipe(_copy(nlp, docs), batch_size=7))
    plain = random.getstate()
    cache = AnnotationCache(trf, "transformer", log=lambda m: None).install()
    random.seed(0)
    list(trf.pipe(_copy(nlp, docs), batch_size=7))  # partly computed, partly read
    list(trf.pipe(_copy(nlp, docs), batch_size=7))  # all read
    assert cache.stats.hits > len(docs) and random.getstate() == plain


def test_a_full_cache_stops_storing_and_still_annotates(tmp_path):
    nlp, docs, _ = _pipeline(tmp_path)
    trf = nlp.get_pipe("transformer")
    messages = []
    cache = AnnotationCache(trf, "transformer", max_bytes=1, log=messages.append).install()
    out = list(trf.pipe(_copy(nlp, docs)))
    assert cache.stats.full and cache.stats.stored == 0 and cache.stats.computed == len(docs)
    assert all(d._.trf_data is not None for d in out)
    assert sum("is full" in m for m in messages) == 1


def test_frozen_encoder_refuses_to_cache_a_component_that_trains(tmp_path):
    nlp, _, _ = _pipeline(tmp_path)
    with pytest.raises(ValueError, match="frozen_components"):
        frozen_encoder(["transformer"], cache=True)(nlp)
    with pytest.raises(ValueError, match="max_cache_gb"):
        frozen_encoder(["transformer"], max_cache_gb=0)


def _train(tmp_path, bert, out, cache):
    callback = (
        '{"@callbacks": "spacy-bio-rel.frozen_encoder.v1", "components": ["transformer"], '
        f'"cache": {"true" if cache else "false"}}}'
    )
    cmd = [
        sys.executable, "-m", "spacy", "train", str(ZH_TRF), "--output", str(out),
        "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "dev.spacy"),
        "--paths.transformer", bert,
        "--training.frozen_components", '["transformer"]', "--training.annotating_components", '["transformer"]',
        "--initialize.after_init", callback,
        "--training.max_epochs", "3", "--training.max_steps", "0", "--training.eval_frequency", "2",
        "--training.optimizer.learn_rate.total_steps", "12", "--training.optimizer.learn_rate.warmup_steps", "1",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def test_training_with_the_cache_equals_training_without(tmp_path):
    """Three epochs of the frozen-encoder mode: the cache serves epochs 2-3 and the dev checks, and the
    trained relation model and its dev scores are those of the run that recomputes every pass, bit for
    bit (Docs of one length: an output does not depend on the batch's padding)."""
    nlp, _, bert = _pipeline(tmp_path)
    docs = chinese_docs(nlp)
    for name, part in (("train", docs[:18]), ("dev", docs[18:])):
        DocBin(store_user_data=True, docs=part).to_disk(tmp_path / f"{name}.spacy")
    cached = _train(tmp_path, bert, tmp_path / "cached", cache=True)
    plain = _train(tmp_path, bert, tmp_path / "plain", cache=False)
    assert "reading stored output" in cached.stderr and "reading stored output" not in plain.stderr
    a = spacy.load(tmp_path / "cached" / "model-last")
    b = spacy.load(tmp_path / "plain" / "model-last")
    assert "pipe" not in a.get_pipe("transformer").__dict__  # nothing of the cache is saved
    wa = list(model_weights(a.get_pipe("relation_extractor").model).values())
    wb = list(model_weights(b.get_pipe("relation_extractor").model).values())
    assert len(wa) == len(wb) > 3
    assert all(numpy.array_equal(x, y) for x, y in zip(wa, wb))
    assert a.meta["performance"] == b.meta["performance"]
