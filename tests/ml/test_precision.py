"""bfloat16 prediction of a pipeline's transformer (``ml/precision.py``)."""

import numpy
import pytest
import spacy
import torch
from conftest import planted_docs
from util import gold_examples, tiny_bert, transformer_config

from spacy_bio_rel.ml.precision import _as_float32, transformer_modules, use_bfloat16

pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")


@pytest.fixture(scope="module")
def trf_pipeline(tmp_path_factory):
    nlp = spacy.blank("en")
    docs = planted_docs(nlp, 8)
    name = tiny_bert(tmp_path_factory.mktemp("bert") / "bert", [d.text for d in docs])
    nlp.add_pipe("transformer", config=transformer_config(name, "spacy-transformers.doc_spans.v1"))
    nlp.initialize(lambda: gold_examples(docs))
    return nlp


def _vectors(nlp, text):
    return numpy.asarray(nlp(text)._.trf_data.model_output.last_hidden_state).copy()


def test_bfloat16_gives_float32_vectors_close_to_float32s(trf_pipeline):
    text = "Anna works for Acme and visited Paris ."
    before = _vectors(trf_pipeline, text)
    (module,) = transformer_modules(trf_pipeline)
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    assert use_bfloat16(trf_pipeline) == 1
    after = _vectors(trf_pipeline, text)
    assert after.dtype == numpy.float32 and after.shape == before.shape
    # bfloat16 keeps 8 bits of mantissa: close, not equal
    assert not numpy.array_equal(after, before)
    numpy.testing.assert_allclose(after, before, atol=0.1 * float(numpy.abs(before).max()))
    assert all(torch.equal(weights[k], v) for k, v in module.state_dict().items())  # weights untouched
    forward = module.forward
    assert use_bfloat16(trf_pipeline) == 1
    assert module.forward is forward  # wrapped once


def test_a_pipeline_without_a_transformer_is_an_error():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    with pytest.raises(ValueError, match=r"has none \(components: \['sentencizer'\]\)"):
        use_bfloat16(nlp)


def test_model_outputs_become_float32():
    half = torch.ones(2, dtype=torch.bfloat16)
    ids = torch.ones(2, dtype=torch.long)
    out = _as_float32((half, ids, {"a": half}))
    assert out[0].dtype == torch.float32 and out[1].dtype == torch.long and out[2]["a"].dtype == torch.float32
