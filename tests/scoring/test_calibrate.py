"""spacy-bio-rel calibrate (spacy_bio_rel/calibrate.py): θ chosen for micro F1, per-label θ in decode."""

import numpy
import pytest
import spacy
from conftest import make_doc, planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner
from util import gold_examples, trained

from spacy_bio_rel.candidates import Candidate
from spacy_bio_rel.cli.app import app
from spacy_bio_rel.data_classes import ScoredCandidate
from spacy_bio_rel.scoring.calibrate import (
    Scored,
    best_global_threshold,
    best_label_thresholds,
    calibrate,
    evaluate_thresholds,
)


def _scored(labels, preds, gold_per_label):
    """preds: (label index, score, correct)."""
    gold = {("g", i) for i in range(sum(gold_per_label.values()))}
    return Scored(
        labels,
        gold,
        [("p", i) for i in range(len(preds))],
        numpy.asarray([p[0] for p in preds]),
        numpy.asarray([p[1] for p in preds], dtype=float),
        numpy.asarray([p[2] for p in preds], dtype=bool),
        dict(gold_per_label),
    )


def test_global_and_per_label_thresholds_on_known_scores():
    # label A: right answers score high; label B: its right answers score low, its wrong ones in between
    preds = [
        (0, 3.0, True),
        (0, 2.5, True),
        (0, 0.5, False),
        (0, 0.2, False),
        (1, 0.4, True),
        (1, 0.3, True),
        (1, 1.5, False),
    ]
    s = _scored(["A", "B"], preds, {"A": 2, "B": 3})
    theta = best_global_threshold(s)
    micro = evaluate_thresholds(s, [theta, theta])["micro"]
    for t in [-1, 0.25, 0.35, 0.45, 1.0, 2.0, 2.75, 4.0]:  # the chosen θ is at least as good as any other
        assert micro["f"] >= evaluate_thresholds(s, [t, t])["micro"]["f"] - 1e-12
    ths = best_label_thresholds(s, theta)
    per = evaluate_thresholds(s, ths)
    assert per["micro"]["f"] >= micro["f"]
    assert 0.5 < ths[0] <= 2.5  # A keeps its two right answers only
    assert per["A"]["tp"] == 2 and per["A"]["n_pred"] == 2
    assert per["B"]["tp"] == 2  # B's two right answers are worth its wrong one


def test_calibrate_on_a_tiny_pipeline_never_lowers_f1(tmp_path):
    nlp = trained(epochs=1)  # barely trained: its scores are far from the margins
    pipe = nlp.get_pipe("relation_extractor")
    examples = gold_examples(planted_docs(spacy.blank("en"), 24))
    before = nlp.evaluate(examples)["rel_micro_f"]
    saved = dict(pipe.cfg)
    try:
        result = calibrate(nlp, examples, per_label=True)
        assert result["before"]["micro"]["f"] == pytest.approx(before)
        assert result["global"]["micro"]["f"] >= before
        assert result["per_label"]["micro"]["f"] >= result["global"]["micro"]["f"]
        assert set(pipe.cfg["thresholds"]) == set(pipe.labels)
        # the pipeline now scores what calibrate said
        assert nlp.evaluate(examples)["rel_micro_f"] == pytest.approx(result["per_label"]["micro"]["f"])
        nlp.to_disk(tmp_path / "m")
        loaded = spacy.load(tmp_path / "m").get_pipe("relation_extractor")
        assert loaded.cfg["thresholds"] == pytest.approx(pipe.cfg["thresholds"])
        assert loaded.cfg["threshold"] == pytest.approx(result["theta"])
    finally:
        pipe.cfg.clear()
        pipe.cfg.update(saved)


def test_select_honours_per_label_thresholds():
    nlp = trained()
    pipe = nlp.get_pipe("relation_extractor")
    saved = dict(pipe.cfg)
    doc = nlp.make_doc("Anna works for Acme in Paris")
    pair = Candidate((0, 6), (0, 1), (3, 4), "PER", "ORG")
    live, work = pipe.labels  # Live_In, Work_For

    def scored_pair(label, score, confidence):
        return ScoredCandidate(doc, pair, label, score, confidence, "PER", "ORG")

    scored = [scored_pair(live, 2.0, 0.9), scored_pair(work, 0.5, 0.4), scored_pair(live, 0.4, 0.3)]
    try:
        pipe.cfg["threshold"] = 1.0
        assert pipe.select(scored) == scored[:1]
        pipe.cfg["thresholds"] = {live: 0.3, work: 0.6}
        assert pipe.select(scored) == [scored[0], scored[2]]
        pipe.cfg["thresholds"] = {work: 0.2}  # Live_In falls back on threshold
        assert pipe.select(scored) == scored[:2]
        assert [r.score for r in pipe.relations(scored)] == [0.9, 0.4]
    finally:
        pipe.cfg.clear()
        pipe.cfg.update(saved)


def _write(docs, path):
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(path)


def test_cli_calibrates_and_refuses_bad_input(tmp_path):
    runner = CliRunner()
    nlp = trained(epochs=1)
    nlp.to_disk(tmp_path / "model")
    en = spacy.blank("en")
    _write(planted_docs(en, 16), tmp_path / "dev.spacy")
    _write([make_doc(en, ["Anna", "met", "Bert"], [(0, 1, "PER"), (2, 3, "PER")])], tmp_path / "norel.spacy")
    noents = []  # gold relations, but the entities are gone: no candidate pairs
    for doc in planted_docs(en, 4):
        doc.ents = []
        noents.append(doc)
    _write(noents, tmp_path / "noents.spacy")
    # in place without --overwrite: refused, nothing written
    res = runner.invoke(app, ["calibrate", str(tmp_path / "model"), str(tmp_path / "dev.spacy")])
    assert res.exit_code == 1 and "--overwrite" in res.output
    res = runner.invoke(
        app,
        [
            "calibrate",
            str(tmp_path / "model"),
            str(tmp_path / "dev.spacy"),
            "--per-label",
            "--output-dir",
            str(tmp_path / "cal"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "micro F1" in res.output and "Work_For" in res.output
    cfg = spacy.load(tmp_path / "cal").get_pipe("relation_extractor").cfg
    assert set(cfg["thresholds"]) == {"Live_In", "Work_For"}
    res = runner.invoke(
        app, ["calibrate", str(tmp_path / "model"), str(tmp_path / "dev.spacy"), "--overwrite"]
    )
    assert res.exit_code == 0, res.output
    assert "thresholds" not in spacy.load(tmp_path / "model").get_pipe("relation_extractor").cfg
    assert not [p for p in tmp_path.iterdir() if ".calibrate-" in p.name]  # no temporary folder left
    for args, message in [
        (
            [str(tmp_path / "missing"), str(tmp_path / "dev.spacy"), "--output-dir", str(tmp_path / "x")],
            "does not exist",
        ),
        (
            [str(tmp_path / "model"), str(tmp_path / "norel.spacy"), "--output-dir", str(tmp_path / "y")],
            "no gold relations",
        ),
        (
            [str(tmp_path / "model"), str(tmp_path / "nodev.spacy"), "--output-dir", str(tmp_path / "z")],
            "does not exist",
        ),
        (
            [str(tmp_path / "model"), str(tmp_path / "noents.spacy"), "--output-dir", str(tmp_path / "w")],
            "no candidate pairs",
        ),
    ]:
        res = runner.invoke(app, ["calibrate"] + args)
        assert res.exit_code == 1, res.output
        assert message in res.output and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()
