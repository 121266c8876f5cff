"""Static unit vectors learned from a corpus's own text (spacy_bio_rel/unit_vectors.py) and the
`vectors` command, up to `spacy train configs/zh_vectors.cfg` with them."""

import json
import subprocess

import numpy
import pytest
import spacy
from conftest import REPO
from typer.testing import CliRunner
from util import SMALL, _write, chinese_docs, spacy_train_command

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.training.vectors import (
    count_units,
    ppmi,
    save_vectors_pipeline,
    truncated_svd,
    unit_vectors,
)


def test_counts_are_symmetric_weighted_by_distance_and_report_what_gets_no_vector():
    counts = count_units([list("abab"), list("ba"), list("x")], window=2, min_count=2)
    assert counts.units == ["a", "b"]  # most frequent first, ties by text; "x" once: no vector
    C = counts.cooccurrence
    assert numpy.allclose(C, C.T)
    # a-b at distance 1: three times in "abab", once in "ba"; a-a and b-b at distance 2, weight 1/2
    assert C[0, 1] == 4.0 and C[0, 0] == 2 * 0.5 and C[1, 1] == 2 * 0.5
    assert (counts.seen, counts.kept, counts.dropped_types, counts.docs) == (7, 6, 1, 3)
    flat = count_units([list("abab"), list("ba")], window=2, min_count=1, distance_weighting=False)
    assert flat.cooccurrence[0, 0] == 2.0


def test_counts_refuse_settings_and_text_that_give_no_vectors():
    with pytest.raises(ValueError, match="window"):
        count_units([list("ab")], window=0)
    with pytest.raises(ValueError, match="min_count"):
        count_units([list("ab")], min_count=0)
    with pytest.raises(ValueError, match="too little text"):
        count_units([list("abc")], min_count=2)


def test_ppmi_matches_the_definition_and_is_zero_where_nothing_was_counted():
    C = numpy.array([[0.0, 4.0, 1.0], [4.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    P = ppmi(C, smoothing=1.0)
    total = C.sum()
    expected = numpy.log(C[0, 1] * total / (C[0].sum() * C[:, 1].sum()))
    assert P[0, 1] == pytest.approx(max(expected, 0.0))
    assert P[0, 0] == 0.0 and P[2, 2] == 0.0 and (P >= 0).all()
    with pytest.raises(ValueError, match="no co-occurrences"):
        ppmi(numpy.zeros((2, 2)))


def test_truncated_svd_finds_the_top_singular_values_and_is_repeatable():
    rng = numpy.random.default_rng(1)
    A = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40)) + 0.01 * rng.standard_normal((60, 40))
    U, S, Vt = truncated_svd(A, 5, seed=3)
    assert numpy.allclose(S, numpy.linalg.svd(A, compute_uv=False)[:5], rtol=1e-6)
    assert numpy.allclose(U * S @ Vt, A, atol=0.1)
    U2, _, _ = truncated_svd(A, 5, seed=3)
    assert numpy.array_equal(U, U2)


def test_units_in_the_same_contexts_get_close_vectors():
    rng = numpy.random.default_rng(0)
    sequences = []
    for _ in range(300):  # 父 and 母 share their contexts; 山 and 岭 share others
        a, b = rng.choice(["父", "母"]), rng.choice(["山", "岭"])
        sequences.append(["我", "的", a, "亲", "说"] + ["在", "高", b, "上", "走"])
    counts = count_units(sequences, window=2, min_count=2)
    vectors = unit_vectors(counts, width=4)
    assert numpy.allclose(numpy.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    v = {u: vectors[i] for i, u in enumerate(counts.units)}
    assert v["父"] @ v["母"] > v["父"] @ v["山"] + 0.5
    assert v["山"] @ v["岭"] > v["母"] @ v["岭"] + 0.5
    with pytest.raises(ValueError, match="width"):
        unit_vectors(counts, width=len(counts.units) + 1)


def test_saved_vectors_load_as_a_pipeline(tmp_path):
    vectors = numpy.arange(6, dtype=numpy.float32).reshape(2, 3)
    save_vectors_pipeline(["张", "三"], vectors, "zh", tmp_path / "vec")
    nlp = spacy.load(tmp_path / "vec")
    assert nlp.vocab.vectors.shape == (2, 3)
    assert numpy.array_equal(nlp.vocab.get_vector("三"), vectors[1])


def test_vectors_command_then_spacy_train_with_zh_vectors_cfg(tmp_path):
    nlp = spacy.blank("zh")
    docs = chinese_docs(nlp)
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    vec = tmp_path / "vec"
    runner = CliRunner()
    res = runner.invoke(
        app, ["vectors", str(tmp_path / "train.spacy"), str(vec), "--lang", "zh", "--width", "4"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads((vec / "unit_vectors.json").read_text())
    assert report["docs"] == 16 and report["width"] == 4
    assert report["units_with_vector"] + report["units_without_vector"] == len(
        {c for d in docs[:16] for c in d.text if not c.isspace()}
    )
    again = runner.invoke(app, ["vectors", str(tmp_path / "train.spacy"), str(vec)])
    assert again.exit_code == 1 and "--overwrite" in again.output

    out = tmp_path / "out"
    cmd = (
        spacy_train_command(REPO / "configs" / "zh_vectors.cfg", out, tmp_path)
        + [
            "--paths.vectors",
            str(vec),
            "--vars.vectors_width",
            "8",
        ]
        + SMALL
    )
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    loaded = spacy.load(out / "model-best")
    assert loaded.vocab.vectors.shape == (report["units_with_vector"], 4)
    tok2vec = loaded.get_pipe("relation_extractor").model.get_ref("tok2vec")
    assert any(layer.name == "static_vectors" for layer in tok2vec.walk())
    # the network reads the vectors: zeroing them changes the class scores
    pipe = loaded.get_pipe("relation_extractor")
    dev = [loaded.make_doc(d.text) for d in docs[16:]]
    for doc, gold in zip(dev, docs[16:]):
        doc.ents = [doc.char_span(e.start_char, e.end_char, label=e.label_) for e in gold.ents]
    _, with_vectors = pipe.predict(dev)
    loaded.vocab.vectors.data[:] = 0
    _, without = pipe.predict(dev)
    assert sum(len(s) for s in with_vectors) > 0
    assert not all(numpy.allclose(a, b) for a, b in zip(with_vectors, without))


def test_zh_vectors_cfg_is_zh_charwise_plus_a_vector_channel_and_averages():
    """configs/zh_vectors.cfg changes only the encoder channel (v3 with its options off is v2's network) and
    the averaging of the weights; the component, losses, features and training schedule are zh_charwise.cfg's."""
    from spacy.util import load_config

    charwise, vectors = (load_config(REPO / "configs" / c) for c in ("zh_charwise.cfg", "zh_vectors.cfg"))
    rel_c, rel_v = (c["components"]["relation_extractor"] for c in (charwise, vectors))
    assert {k: v for k, v in rel_c.items() if k != "model"} == {
        k: v for k, v in rel_v.items() if k != "model"
    }
    encoder_keys = {"@architectures", "tok2vec", "tok2vec_width", "entity_features", "unit_dropout"}
    assert {k: v for k, v in rel_c["model"].items() if k not in encoder_keys} == {
        k: v for k, v in rel_v["model"].items() if k not in encoder_keys
    }
    assert rel_v["model"]["@architectures"] == "spacy-bio-rel.BioTagCNN.v3"
    assert (rel_v["model"]["entity_features"], rel_v["model"]["unit_dropout"]) == (False, 0.0)
    embed = rel_v["model"]["tok2vec"]["embed"]
    assert embed["include_static_vectors"] is True
    assert rel_v["model"]["tok2vec"]["encode"]["width"] == embed["width"]
    assert rel_v["model"]["tok2vec_width"] == 0  # read from the encoder at initialize
    assert vectors["training"]["optimizer"]["use_averages"] is True
    assert charwise["training"]["optimizer"]["use_averages"] is False
    assert {k: v for k, v in charwise["training"].items() if k != "optimizer"} == {
        k: v for k, v in vectors["training"].items() if k != "optimizer"
    }


def test_zh_vectors_cfg_without_vectors_stops_with_a_clear_error(tmp_path):
    nlp = spacy.blank("zh")
    docs = chinese_docs(nlp)
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    cmd = spacy_train_command(REPO / "configs" / "zh_vectors.cfg", tmp_path / "out", tmp_path) + SMALL
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode != 0
    assert "pass --paths.vectors" in res.stderr and "spacy_bio_rel vectors" in res.stderr
    assert "IndexError" not in res.stderr
