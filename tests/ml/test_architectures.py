"""The relation model reads Docs: featurisation is a layer, vocabularies are
model state saved with the model, settings are checked on load."""

import ast
from pathlib import Path

import numpy
import pytest
import spacy
from conftest import planted_docs
from thinc.api import Model
from util import INLINE_TOK2VEC, SMALL_MODEL, gold_examples, model_weights, n_changed, trained

from spacy_bio_rel.data_classes import RelInput, RelScores

REPO = Path(__file__).resolve().parents[2]


def test_model_maps_docs_and_candidates_to_scores():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    assert isinstance(pipe.model, Model) and pipe.model.name == "bio_tag_cnn"
    docs = [eg.predicted for eg in gold_examples(planted_docs(nlp, 3))]
    X = RelInput(docs, [list(d.ents) for d in docs], [pipe.candidates(d) for d in docs])
    Y = pipe.model.predict(X)
    assert isinstance(Y, RelScores)
    assert Y.classes.shape == (X.n_pairs, len(pipe.labels)) and Y.ident.shape == (X.n_pairs, 2)


def test_vocabularies_belong_to_the_model_not_the_cfg():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    assert not {"units", "entity_labels", "granularity", "min_freq"} & set(pipe.cfg)
    featurize = pipe.model.get_ref("featurize")
    assert "works" in featurize.attrs["units"] and featurize.attrs["entity_labels"] == ["LOC", "ORG", "PER"]
    fresh = spacy.blank("en")
    fresh.add_pipe("relation_extractor", config={"model": SMALL_MODEL})
    model = fresh.get_pipe("relation_extractor").model
    model.from_bytes(pipe.model.to_bytes())  # the model's own serialisation carries them
    assert model.get_ref("featurize").attrs["units"] == featurize.attrs["units"]


def test_get_loss_is_the_loss_update_uses():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    examples = gold_examples(planted_docs(nlp, 6))
    X = pipe.training_input(examples)
    out, _ = pipe.model.begin_update(X)  # SMALL_MODEL has dropout 0: deterministic
    loss, _ = pipe.get_loss(examples, (X, out))
    assert pipe.update(examples)["relation_extractor"] == pytest.approx(loss, rel=1e-6)


def test_component_module_imports_no_torch():
    tree = ast.parse((REPO / "spacy_bio_rel" / "pipeline_component.py").read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "torch" for name in names)


def test_defaults_are_written_once():
    """The builders take no defaults for the settings the factory's default_config gives."""
    import inspect

    from spacy_bio_rel.ml.architectures import (
        build_bio_tag_cnn,
        build_bio_tag_cnn_v2,
        build_bio_tag_cnn_v3,
        build_bio_tag_cnn_v4,
    )
    from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN
    from spacy_bio_rel.pipeline_component import RelationExtractor

    for builder in (build_bio_tag_cnn, build_bio_tag_cnn_v2, build_bio_tag_cnn_v3, build_bio_tag_cnn_v4):
        params = inspect.signature(builder).parameters.values()
        assert all(p.default is inspect.Parameter.empty and p.kind is p.KEYWORD_ONLY for p in params)
    sized = {"self", "n_words", "n_tags", "n_classes"}  # sized at initialize, not settings
    for cls in (BioTagCNN, RelationExtractor):
        params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name not in sized]
        settings = [p for p in params if p.kind is p.KEYWORD_ONLY and p.name != "scorer"]
        assert settings and all(p.default is inspect.Parameter.empty for p in settings), cls


def test_v1_architecture_builds_and_trains():
    nlp = spacy.blank("en")
    v1 = dict(SMALL_MODEL)
    v1.update(
        {
            "granularity": "token",
            "lowercase": True,
            "max_length": 200,
            "@architectures": "spacy-bio-rel.BioTagCNN.v1",
            "activation": "tanh",
            "use_words": True,
            "use_tags": True,
            "use_positions": True,
            "shared_convolution": True,
        }
    )
    nlp.add_pipe("relation_extractor", config={"model": v1})
    examples = gold_examples(planted_docs(nlp, 8))
    optimizer = nlp.initialize(lambda: examples)
    assert nlp.update(examples, sgd=optimizer)["relation_extractor"] > 0


def assert_scores_survive_a_round_trip(nlp, examples, path):
    """The relation model scores the examples' pairs the same after ``nlp.to_disk`` and ``spacy.load``."""
    nlp.to_disk(path)
    loaded = spacy.load(path)
    docs = [eg.predicted for eg in examples]
    scores = []
    for pipeline in (nlp, loaded):
        pipe = pipeline.get_pipe("relation_extractor")
        X = RelInput(docs, [list(d.ents) for d in docs], [pipe.candidates(d) for d in docs])
        scores.append(pipe.model.predict(X).classes)
    assert scores[0].shape[0] > 0
    numpy.testing.assert_allclose(scores[0], scores[1], atol=1e-6)


def test_v3_entity_features_train_save_and_load(tmp_path):
    """v3 with ``entity_features`` trains in a pipeline and round-trips through disk."""
    nlp = spacy.blank("en")
    v3 = dict(
        SMALL_MODEL,
        **{
            "@architectures": "spacy-bio-rel.BioTagCNN.v3",
            "tok2vec": None,
            "tok2vec_width": 0,
            "activation": "tanh",
            "use_words": True,
            "use_tags": True,
            "use_positions": True,
            "entity_features": True,
            "unit_dropout": 0.2,
            "shared_convolution": True,
            "granularity": "token",
            "lowercase": True,
            "max_length": 200,
        },
    )
    nlp.add_pipe("relation_extractor", config={"model": v3})
    examples = gold_examples(planted_docs(nlp, 8))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(3):
        assert nlp.update(examples, sgd=optimizer)["relation_extractor"] > 0
    network = nlp.get_pipe("relation_extractor").model.get_ref("network").shims[0]._model
    assert network.entity_width == 16 + 8
    assert_scores_survive_a_round_trip(nlp, examples, tmp_path / "m")


def v4_settings(encoder_entity_features, tok2vec):
    return dict(
        SMALL_MODEL,
        **{
            "@architectures": "spacy-bio-rel.BioTagCNN.v4",
            "tok2vec": tok2vec,
            "tok2vec_width": 0,
            "activation": "tanh",
            "use_words": True,
            "use_tags": True,
            "use_positions": True,
            "entity_features": False,
            "encoder_entity_features": encoder_entity_features,
            "unit_dropout": 0.0,
            "shared_convolution": True,
            "granularity": "token",
            "lowercase": True,
            "max_length": 200,
        },
    )


def test_v4_encoder_entity_features_train_save_and_load(tmp_path):
    """v4 with ``encoder_entity_features`` sizes its hidden layer from the encoder at initialize,
    trains the encoder through it, and round-trips through disk."""
    nlp = spacy.blank("en")
    nlp.add_pipe("relation_extractor", config={"model": v4_settings(True, INLINE_TOK2VEC)})
    examples = gold_examples(planted_docs(nlp, 8))
    optimizer = nlp.initialize(lambda: examples)
    pipe = nlp.get_pipe("relation_extractor")
    network = pipe.model.get_ref("network").shims[0]._model
    assert network.hidden.in_features == network.n_pooled + 2 * 24
    tok2vec = pipe.model.get_ref("tok2vec")
    before = model_weights(tok2vec)
    for _ in range(3):
        assert nlp.update(examples, sgd=optimizer)["relation_extractor"] > 0
    assert n_changed(before, tok2vec) > 0
    assert_scores_survive_a_round_trip(nlp, examples, tmp_path / "m")


def test_v4_encoder_entity_features_without_an_encoder_is_a_clear_error():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="encoder_entity_features = true reads the encoder"):
        nlp.add_pipe("relation_extractor", config={"model": v4_settings(True, None)})


@pytest.mark.parametrize(
    "setting,value",
    [
        ("activation", '"relu"'),
        ("window_sizes", "[2, 4]"),
        ("use_tags", "false"),
        ("granularity", '"char"'),
        ("min_freq", "3"),
    ],
)
def test_edited_saved_config_is_a_clear_error(tmp_path, setting, value):
    nlp = trained()
    nlp.to_disk(tmp_path / "p")
    cfg = tmp_path / "p" / "config.cfg"
    text = cfg.read_text()
    lines = [
        f"{setting} = {value}" if line.split(" = ")[0] == setting else line for line in text.splitlines()
    ]
    cfg.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=f"trained with {setting} = "):
        spacy.load(tmp_path / "p")


def test_damaged_model_files_name_the_file(tmp_path):
    nlp = trained()
    nlp.to_disk(tmp_path / "p")
    model = tmp_path / "p" / "relation_extractor" / "model"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"relation_extractor/model: cannot load"):
        spacy.load(tmp_path / "p")
    nlp.to_disk(tmp_path / "q")
    (tmp_path / "q" / "relation_extractor" / "cfg").write_text("{broken")
    with pytest.raises(ValueError, match=r"relation_extractor/cfg: not valid JSON"):
        spacy.load(tmp_path / "q")
    (tmp_path / "q" / "relation_extractor" / "cfg").write_text("")
    with pytest.raises(ValueError, match=r"relation_extractor/cfg"):
        spacy.load(tmp_path / "q")


def test_experiment_commands_do_not_import_the_cli_module():
    import subprocess
    import sys

    code = "import sys, spacy_bio_rel.cli.experiments; assert 'spacy_bio_rel.cli.convert' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
