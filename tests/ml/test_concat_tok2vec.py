"""spacy-bio-rel.concat_tok2vec.v1: outputs side by side, each block's gradient to its own model, and a
ner that reads a transformer listener beside orthographic features trains, saves and loads."""

import numpy
import pytest
import spacy
from conftest import planted_docs
from spacy.util import registry
from thinc.api import SGD
from util import TRF_LISTENER, model_weights, n_changed, one_sentence_examples, tiny_bert, transformer_config

from spacy_bio_rel.ml.concat_tok2vec import build_concat_tok2vec


def _features(width, attrs=("NORM", "SHAPE")):
    return {
        "@architectures": "spacy.Tok2Vec.v2",
        "embed": {
            "@architectures": "spacy.MultiHashEmbed.v2",
            "width": width,
            "attrs": list(attrs),
            "rows": [200] * len(attrs),
            "include_static_vectors": False,
        },
        "encode": {
            "@architectures": "spacy.MaxoutWindowEncoder.v2",
            "width": width,
            "depth": 1,
            "window_size": 1,
            "maxout_pieces": 2,
        },
    }


def _build(*widths):
    config = {"model": {"@architectures": "spacy-bio-rel.concat_tok2vec.v1"}}
    for i, width in enumerate(widths):
        config["model"]["*"] = dict(config["model"].get("*", {}), **{f"t{i}": _features(width)})
    return registry.resolve(config)["model"]


def test_outputs_are_the_models_outputs_side_by_side():
    docs = planted_docs(spacy.blank("en"), 6)
    model = _build(8, 5)
    model.initialize(X=docs)
    assert model.get_dim("nO") == 13
    Y, _ = model(docs, is_train=False)
    first = model.layers[0].predict(docs)
    second = model.layers[1].predict(docs)
    assert len(Y) == len(docs)
    for y, a, b, doc in zip(Y, first, second, docs):
        assert y.shape == (len(doc), 13)
        numpy.testing.assert_array_equal(y, numpy.hstack([a, b]))


def test_each_block_of_the_gradient_reaches_only_its_model():
    docs = planted_docs(spacy.blank("en"), 6)
    model = _build(8, 5)
    model.initialize(X=docs)
    first, second = model.layers
    before_first, before_second = model_weights(first), model_weights(second)
    Y, backprop = model(docs, is_train=True)
    dY = [numpy.zeros_like(y) for y in Y]
    for d in dY:
        d[:, 8:] = 1.0  # only the second model's columns
    assert backprop(dY) == []
    model.finish_update(SGD(0.1))
    assert n_changed(before_first, first) == 0
    assert n_changed(before_second, second) > 0


def test_no_model_is_a_clear_error():
    with pytest.raises(ValueError, match="at least one tok2vec"):
        build_concat_tok2vec()


pytest.importorskip("transformers", reason="the transformers extra is not installed")


def test_ner_on_a_listener_and_shape_features_trains_and_round_trips(tmp_path):
    nlp = spacy.blank("en")
    docs = planted_docs(nlp, 16)
    name = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("transformer", config=transformer_config(name))
    tok2vec = {
        "@architectures": "spacy-bio-rel.concat_tok2vec.v1",
        "*": {"a": TRF_LISTENER, "b": _features(8)},
    }
    ner_model = {
        "@architectures": "spacy.TransitionBasedParser.v2",
        "state_type": "ner",
        "extra_state_tokens": False,
        "hidden_width": 16,
        "maxout_pieces": 2,
        "use_upper": False,
        "tok2vec": tok2vec,
    }
    nlp.add_pipe("ner", config={"model": ner_model})
    examples = one_sentence_examples(docs)
    optimizer = nlp.initialize(lambda: examples)
    trf, ner = nlp.get_pipe("transformer"), nlp.get_pipe("ner")
    features = next(node for node in ner.model.walk() if node.name == "concat_tok2vec").layers[1]
    before_trf, before_features = model_weights(trf.model), model_weights(features)
    for _ in range(3):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    assert losses["ner"] > 0
    assert n_changed(before_trf, trf.model) > 0  # the ner's gradient reaches the transformer
    assert n_changed(before_features, features) > 0
    text = docs[0].text
    expected = [(e.start, e.end, e.label_) for e in nlp(text).ents]
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert [(e.start, e.end, e.label_) for e in loaded(text).ents] == expected
