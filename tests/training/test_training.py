"""`python -m spacy train` with the shipped configs, on tiny DocBins."""

import json
import re
import subprocess
import sys

import pytest
import spacy
from conftest import REPO, planted_docs
from util import SMALL, _write, chinese_docs, spacy_train_command


@pytest.mark.parametrize("lang,config", [("en", "en_wordwise.cfg"), ("zh", "zh_charwise.cfg")])
def test_spacy_train_with_shipped_config(tmp_path, lang, config):
    nlp = spacy.blank(lang)
    docs = planted_docs(nlp, 24) if lang == "en" else chinese_docs(nlp)
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    out = tmp_path / "out"
    cmd = spacy_train_command(REPO / "configs" / config, out, tmp_path) + SMALL
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "REL_MICRO_F" in res.stdout
    meta = json.loads((out / "model-best" / "meta.json").read_text())
    assert "rel_micro_f" in meta["performance"]
    loaded = spacy.load(out / "model-best")
    pipe = loaded.get_pipe("relation_extractor")
    assert loaded.config["components"]["relation_extractor"]["model"]["granularity"] == (
        "token" if lang == "en" else "char"
    )
    assert pipe.cfg["directed"] is (lang == "zh")
    if lang == "zh":
        assert (pipe.cfg["margin_pos"], pipe.cfg["margin_neg"], pipe.cfg["threshold"]) == (4.5, -0.5, 1.0)
        assert [t.text for t in loaded.make_doc("张三工作")] == ["张", "三", "工", "作"]
    # `spacy evaluate --spans-key rel` prints our figures (here without entities: the predicted-entity setting)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "evaluate",
            str(out / "model-best"),
            str(tmp_path / "dev.spacy"),
            "--spans-key",
            "rel",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "SPAN F" in res.stdout


TINY_TOK2VEC = [
    "--components.tok2vec.model.encode.width",
    "32",
    "--components.tok2vec.model.encode.depth",
    "1",
    "--components.tok2vec.model.embed.rows",
    "[500,100,100,100]",
]


@pytest.mark.parametrize(
    "lang,config", [("en", "en_e2e.cfg"), ("zh", "zh_e2e.cfg"), ("en", "en_tok2vec.cfg")]
)
def test_spacy_train_with_a_shared_tok2vec(tmp_path, lang, config):
    """ner (end-to-end configs) and relation_extractor share one tok2vec, trained in one run; the
    end-to-end dev score has entity and strict relation figures."""
    nlp = spacy.blank(lang)
    docs = planted_docs(nlp, 24) if lang == "en" else chinese_docs(nlp)
    _write(docs[:16], tmp_path / "train.spacy")
    _write(docs[16:], tmp_path / "dev.spacy")
    out = tmp_path / "out"
    cmd = spacy_train_command(REPO / "configs" / config, out, tmp_path)
    res = subprocess.run(cmd + SMALL + TINY_TOK2VEC, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    performance = json.loads((out / "model-best" / "meta.json").read_text())["performance"]
    if "e2e" in config:
        assert {"ents_f", "rel_e2e_micro_f", "rel_e2e_macro_f"} <= set(performance)
        assert "LOSS NER" in res.stdout
    loaded = spacy.load(out / "model-best")
    assert "tok2vec" in loaded.pipe_names and loaded.pipe_names[-1] == "relation_extractor"
    listener = loaded.get_pipe("relation_extractor").model.get_ref("tok2vec")
    assert listener.upstream_name == "tok2vec"


_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+.*?([\d.]+)\s*$")


def eval_rows(log):
    """``(step, score)`` of every dev check in a ``spacy.ConsoleLogger`` log (score in 0-1)."""
    return [(int(m.group(2)), float(m.group(3))) for m in map(_ROW.match, log.splitlines()) if m]


def best_step(rows):
    """The step ``model-best`` comes from: spaCy saves at every check that equals the best so far."""
    best, step = None, None
    for s, score in rows:
        if best is None or score >= best:
            best, step = score, s
    return step


def test_small_data_config_is_en_wordwise_trained_by_steps_with_frequent_dev_checks(tmp_path):
    """configs/en_small.cfg: en_wordwise.cfg's component and network (every word kept), trained for
    a number of steps with a dev check every few steps, so a set of a few dozen sentences, one batch an
    epoch, still gets a trained model-best instead of the step-0 network."""
    from spacy.util import load_config

    wordwise, small = (load_config(REPO / "configs" / c) for c in ("en_wordwise.cfg", "en_small.cfg"))
    model = dict(small["components"]["relation_extractor"]["model"], min_freq=2)
    assert model == wordwise["components"]["relation_extractor"]["model"]
    assert small["components"]["relation_extractor"]["model"]["min_freq"] == 1
    component = {k: v for k, v in small["components"]["relation_extractor"].items() if k != "model"}
    assert component == {
        k: v for k, v in wordwise["components"]["relation_extractor"].items() if k != "model"
    }
    assert small["training"]["max_epochs"] == 0 and small["training"]["max_steps"] == 1000
    assert small["training"]["eval_frequency"] == 20

    docs = planted_docs(spacy.blank("en"), 24)
    _write(docs[:16], tmp_path / "train.spacy")  # 96 ordered pairs: one batch, one step an epoch
    _write(docs[16:], tmp_path / "dev.spacy")
    out = tmp_path / "out"
    cmd = (
        spacy_train_command(REPO / "configs" / "en_small.cfg", out, tmp_path)
        + [
            "--vars.directed",
            "true",
            "--training.max_steps",
            "40",
        ]
        + SMALL[:-4]
    )
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = eval_rows(res.stdout)
    assert [step for step, _ in rows] == [0, 20, 40]
    assert best_step(rows) > 0
    assert (
        json.loads((out / "model-best" / "meta.json").read_text())["performance"]["rel_micro_f"] > rows[0][1]
    )
