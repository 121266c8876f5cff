import json
import subprocess
from pathlib import Path

import numpy
import pytest
import spacy
import torch
from conftest import REPO, planted_docs
from spacy.training import Example
from spacy.util import fix_random_seed, load_config, load_model_from_config, registry
from thinc.api import Adam
from util import (
    SMALL,
    _write,
    chinese_docs,
    gold_examples,
    model_weights,
    one_sentence,
    one_sentence_examples,
    spacy_train_command,
    tiny_bert,
    transformer_config,
)

from spacy_bio_rel.ml.precision import transformer_modules
from spacy_bio_rel.training.callbacks import bfloat16, chain_callbacks, learn_rate_scales
from spacy_bio_rel.training.optimizers import ScaledOptimizer


def test_scaled_optimizer_is_the_optimizer_at_a_scaled_rate():
    rng = numpy.random.default_rng(0)
    w0 = rng.normal(size=(4, 3)).astype("float32")
    grads = [rng.normal(size=(4, 3)).astype("float32") for _ in range(3)]
    scaled = ScaledOptimizer(Adam(0.01, L2=0.01, L2_is_weight_decay=True), 0.25)
    plain = Adam(0.0025, L2=0.01, L2_is_weight_decay=True)
    w_scaled, w_plain = w0.copy(), w0.copy()
    for g in grads:
        w_scaled, _ = scaled((0, "w"), w_scaled, g.copy())
        w_plain, _ = plain((0, "w"), w_plain, g.copy())
    numpy.testing.assert_allclose(w_scaled, w_plain, rtol=1e-6)
    assert scaled.learn_rate == 0.01  # everything else is the optimizer's own


def _textcat_pipeline():
    nlp = spacy.blank("en")
    nlp.add_pipe("textcat")
    examples = [
        Example.from_dict(nlp.make_doc(text), {"cats": cats})
        for text, cats in [("good fine", {"POS": 1.0, "NEG": 0.0}), ("bad poor", {"POS": 0.0, "NEG": 1.0})]
    ]
    nlp.initialize(lambda: examples)
    return nlp, examples


def _trainedmodel_weights(learn_rate, before_update=None):
    nlp, examples = _textcat_pipeline()
    optimizer = Adam(learn_rate)
    for step in range(3):
        if before_update is not None:
            before_update(nlp, {"step": step, "epoch": 0})
        nlp.update(examples, sgd=optimizer)
    model = nlp.get_pipe("textcat").model
    return [node.get_param(name).copy() for node in model.walk() for name in node.param_names]


def test_learn_rate_scales_train_the_component_at_its_own_rate():
    spacy.util.fix_random_seed(0)
    scaled = _trainedmodel_weights(0.01, learn_rate_scales({"textcat": 0.5}))
    spacy.util.fix_random_seed(0)
    same_rate = _trainedmodel_weights(0.005)
    spacy.util.fix_random_seed(0)
    unscaled = _trainedmodel_weights(0.01)
    for a, b in zip(scaled, same_rate):
        numpy.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert any(not numpy.allclose(a, b) for a, b in zip(scaled, unscaled))


def test_learn_rate_scales_wrap_a_component_once():
    nlp, _ = _textcat_pipeline()
    callback = learn_rate_scales({"textcat": 0.5})
    callback(nlp, {"step": 0, "epoch": 0})
    wrapped = nlp.get_pipe("textcat").finish_update
    callback(nlp, {"step": 1, "epoch": 0})
    assert nlp.get_pipe("textcat").finish_update is wrapped


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), "0.1", True])
def test_learn_rate_scales_reject_a_bad_scale(scale):
    with pytest.raises(ValueError, match="'textcat' must be a positive number"):
        learn_rate_scales({"textcat": scale})


def test_learn_rate_scales_name_a_missing_component():
    nlp, _ = _textcat_pipeline()
    with pytest.raises(ValueError, match="'transformer' is not a component"):
        learn_rate_scales({"transformer": 0.1})(nlp, {"step": 0, "epoch": 0})


def test_learn_rate_scales_say_which_components_cannot_be_scaled():
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")
    with pytest.raises(ValueError, match="'ner' \\(EntityRecognizer\\) cannot be scaled"):
        learn_rate_scales({"ner": 0.1})(nlp, {"step": 0, "epoch": 0})


def _largest_step(model, before):
    after = model_weights(model)
    return max(float(numpy.abs(after[k] - before[k]).max()) for k in before)


def test_en_e2e_trf_trains_its_transformer_at_a_twentieth_of_the_heads_rate(tmp_path):
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    config = load_config(Path(__file__).parents[2] / "configs" / "en_e2e_trf.cfg")
    docs = planted_docs(spacy.blank("en"), 16)
    config["paths"]["transformer"] = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    nlp = load_model_from_config(config, auto_fill=True)
    examples = one_sentence_examples(planted_docs(nlp, 16))
    nlp.initialize(lambda: examples)
    before_update = registry.resolve({"cb": config["training"]["before_update"]})["cb"]
    trf, ner = nlp.get_pipe("transformer").model, nlp.get_pipe("ner").model
    trf_before, ner_before = model_weights(trf), model_weights(ner)
    optimizer = Adam(1e-3, L2=0.0, grad_clip=0.0)
    before_update(nlp, {"step": 0, "epoch": 0})
    nlp.update(examples, sgd=optimizer)
    ner_step = _largest_step(ner, ner_before)
    # Language.update finishes each component's update right after its own update, so the transformer
    # applies the gradient its listeners send back one step later: its first update is in the second step
    assert _largest_step(trf, trf_before) == 0.0
    before_update(nlp, {"step": 1, "epoch": 0})
    nlp.update(examples, sgd=optimizer)
    # Adam's first step moves every weight with a gradient by about its rate
    assert _largest_step(trf, trf_before) / ner_step == pytest.approx(0.05, rel=0.1)


def _zh_trf_pipeline(tmp_path, after_init, bert=None):
    """A zh_trf pipeline with ``after_init`` on ``bert`` (a new tiny BERT if none) and its examples."""
    config = load_config(Path(__file__).parents[2] / "configs" / "zh_trf.cfg")
    config["initialize"]["after_init"] = after_init
    if bert is None:
        probe = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
        bert = tiny_bert(tmp_path / "bert", [d.text for d in chinese_docs(probe)])
    config["paths"]["transformer"] = bert
    fix_random_seed(0)
    nlp = load_model_from_config(config, auto_fill=True)
    examples = gold_examples(chinese_docs(nlp))
    return nlp, examples


def _by_torch_name(model):
    return {name: w for (_, name), w in model_weights(model).items()}


def _transformer_before_and_after_three_updates(nlp, examples):
    nlp.initialize(lambda: examples)
    trf = nlp.get_pipe("transformer").model
    before = _by_torch_name(trf)
    optimizer = Adam(1e-3)
    for i in range(3):
        nlp.update(examples[8 * i : 8 * i + 8], sgd=optimizer)
    return before, _by_torch_name(trf)


def test_zh_trf_keeps_the_word_piece_embeddings_and_trains_the_rest_of_the_encoder(tmp_path):
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    config = load_config(Path(__file__).parents[2] / "configs" / "zh_trf.cfg")
    nlp, examples = _zh_trf_pipeline(tmp_path, config["initialize"]["after_init"])
    before, after = _transformer_before_and_after_three_updates(nlp, examples)
    frozen = [k for k in before if k.startswith("embeddings.word_embeddings.")]
    assert frozen == ["embeddings.word_embeddings.weight"]
    assert all(numpy.array_equal(before[k], after[k]) for k in frozen)
    moved = [k for k in before if not numpy.array_equal(before[k], after[k])]
    assert "embeddings.position_embeddings.weight" in moved and any(k.startswith("encoder.") for k in moved)


def test_freeze_weights_errors_name_the_component_and_the_parameters(tmp_path):
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    from spacy_bio_rel.training.callbacks import freeze_weights

    with pytest.raises(ValueError, match="'transformer' takes a list of parameter-name prefixes"):
        freeze_weights({"transformer": "embeddings"})
    nlp, examples = _zh_trf_pipeline(tmp_path, None)
    nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match="'tok2vec' is not a component of the pipeline"):
        freeze_weights({"tok2vec": ["embeddings"]})(nlp)
    with pytest.raises(
        ValueError, match="no parameter of 'transformer' is named 'embedding'.*start with: \\['embeddings'"
    ):
        freeze_weights({"transformer": ["embedding"]})(nlp)
    textcat, _ = _textcat_pipeline()
    with pytest.raises(ValueError, match="'textcat' has no torch weights to freeze"):
        freeze_weights({"textcat": ["W"]})(textcat)


def test_chain_callbacks_run_each_callback_in_order():
    calls = []

    @registry.callbacks("test.record.v1")
    def record(tag: str):
        return lambda nlp: calls.append((tag, nlp))

    config = {
        "cb": {
            "@callbacks": "spacy-bio-rel.chain_callbacks.v1",
            "*": {
                "first": {"@callbacks": "test.record.v1", "tag": "a"},
                "second": {"@callbacks": "test.record.v1", "tag": "b"},
            },
        }
    }
    run = registry.resolve(config)["cb"]
    nlp = spacy.blank("en")
    assert run(nlp) is nlp
    assert calls == [("a", nlp), ("b", nlp)]
    with pytest.raises(ValueError, match="callback 2 is not callable"):
        chain_callbacks(lambda nlp: None, "check_schedule")


def test_spacy_train_e2e_with_a_ner_on_a_frozen_cached_encoder(tmp_path):
    """A frozen encoder initialised in [initialize.before_init] (chained with the schedule check) is ready
    when the ner, which reads its listener's width at initialize, initialises: en_e2e_trf.cfg trains with
    the transformer frozen, annotating and cached, and its weights stay as they were."""
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    docs = one_sentence(planted_docs(spacy.blank("en"), 24))
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    bert = tiny_bert(tmp_path / "bert", [d.text for d in docs])
    before_init = {
        "@callbacks": "spacy-bio-rel.chain_callbacks.v1",
        "*": {
            "schedule": {"@callbacks": "spacy-bio-rel.check_schedule.v1"},
            "encoder": {
                "@callbacks": "spacy-bio-rel.frozen_encoder.v1",
                "components": ["transformer"],
                "cache": True,
            },
        },
    }
    out = tmp_path / "out"
    cmd = spacy_train_command(REPO / "configs" / "en_e2e_trf.cfg", out, tmp_path)
    cmd += ["--paths.transformer", bert, "--training.frozen_components", '["transformer"]']
    cmd += ["--training.annotating_components", '["transformer"]', "--initialize.after_init", "null"]
    cmd += ["--initialize.before_init", json.dumps(before_init)]
    cmd += [
        "--training.optimizer.learn_rate.total_steps",
        "6",
        "--training.optimizer.learn_rate.warmup_steps",
        "1",
    ]
    cmd += ["--training.eval_frequency", "3"]
    res = subprocess.run(cmd + SMALL, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Frozen components: ['transformer']" in res.stdout
    assert "Annotation cache of 'transformer'" in res.stdout + res.stderr
    trained = spacy.load(out / "model-last")
    fresh = spacy.blank("en")
    fresh.add_pipe("transformer", config=transformer_config(bert))
    fresh.initialize()
    before = _by_torch_name(fresh.get_pipe("transformer").model)
    after = _by_torch_name(trained.get_pipe("transformer").model)
    assert before.keys() == after.keys()
    assert all(numpy.array_equal(before[k], after[k]) for k in before)
    ner_losses = [line.split()[2] for line in res.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert any(float(loss) > 0 for loss in ner_losses)  # the ner trained on the frozen encoder's output


def _trained_transformer_step(tmp_path, after_init, bert=None):
    """The transformer's weight change over three updates of a zh_trf pipeline (on ``bert``, if given)."""
    nlp, examples = _zh_trf_pipeline(tmp_path, after_init, bert)
    before, after = _transformer_before_and_after_three_updates(nlp, examples)
    return nlp, {k: after[k] - before[k] for k in before}


def test_bfloat16_trains_the_transformer_along_the_float32_gradient(tmp_path):
    """Under spacy-bio-rel.bfloat16.v1 the transformer's forward runs in bfloat16, its weights stay
    float32, and training moves them as float32 training does, up to bfloat16's rounding."""
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    bf16 = {"@callbacks": "spacy-bio-rel.bfloat16.v1", "components": ["transformer"]}
    nlp, bf16_step = _trained_transformer_step(tmp_path, bf16)
    _, fp32_step = _trained_transformer_step(tmp_path, {**bf16, "enabled": False}, str(tmp_path / "bert"))
    modules = transformer_modules(nlp)
    assert len(modules) == 1 and getattr(modules[0].forward, "bfloat16", False)
    assert all(p.dtype == torch.float32 for p in modules[0].parameters())
    moved = [k for k in fp32_step if numpy.abs(fp32_step[k]).max() > 0]
    assert any(k.startswith("encoder.") for k in moved)
    a = numpy.concatenate([bf16_step[k].ravel() for k in moved])
    b = numpy.concatenate([fp32_step[k].ravel() for k in moved])
    assert not numpy.array_equal(a, b)  # the bfloat16 run computed in bfloat16
    assert numpy.corrcoef(a, b)[0, 1] > 0.9


def test_bfloat16_disabled_leaves_the_transformer_in_float32(tmp_path):
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    nlp, examples = _zh_trf_pipeline(
        tmp_path, {"@callbacks": "spacy-bio-rel.bfloat16.v1", "components": ["transformer"], "enabled": False}
    )
    nlp.initialize(lambda: examples)
    assert not any(getattr(m.forward, "bfloat16", False) for m in transformer_modules(nlp))


def test_bfloat16_errors_name_the_setting_and_the_components(tmp_path):
    pytest.importorskip("spacy_transformers", reason="the transformers extra is not installed")
    with pytest.raises(ValueError, match="a list of component names"):
        bfloat16("transformer")
    with pytest.raises(ValueError, match="enabled: true or false"):
        bfloat16(["transformer"], enabled="yes")
    nlp, examples = _zh_trf_pipeline(
        tmp_path, {"@callbacks": "spacy-bio-rel.bfloat16.v1", "components": ["trf"]}
    )
    with pytest.raises(
        ValueError, match=r"'trf' is not a component of the pipeline \(components: \['transformer'"
    ):
        nlp.initialize(lambda: examples)
    nlp, examples = _zh_trf_pipeline(
        tmp_path, {"@callbacks": "spacy-bio-rel.bfloat16.v1", "components": ["relation_extractor"]}
    )
    with pytest.raises(ValueError, match=r"the components \['relation_extractor'\] has none"):
        nlp.initialize(lambda: examples)
