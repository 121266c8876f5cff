"""Threshold sweep (spacy_bio_rel/sweep.py): pure arithmetic, and on a tiny trained pipeline."""

import math

import pytest
import spacy
from conftest import planted_docs
from spacy.tokens import DocBin
from spacy.training import Example
from util import ruler_pipeline_path

from spacy_bio_rel import get_relations, set_relations
from spacy_bio_rel.scoring.e2e_scorer import score_e2e
from spacy_bio_rel.scoring.evaluate_e2e import describe, parse_cutoffs, sweep_dataset
from spacy_bio_rel.scoring.scorer import score_relations
from spacy_bio_rel.scoring.sweep import best_cutoff, best_row, default_cutoffs, scored_candidates, sweep


def test_sweep_counts_predictions_at_or_above_each_cutoff():
    gold = {"a", "b", "c", "d"}
    predicted = [("a", 0.9), ("x", 0.8), ("b", 0.6), ("y", 0.3), ("c", 0.3), ("a", 0.1)]  # 'a' twice: max 0.9
    rows = sweep(gold, predicted, [0.0, 0.3, 0.6, 0.85, 0.95])
    assert [(r.n_pred, r.n_correct) for r in rows] == [(5, 3), (5, 3), (3, 2), (1, 1), (0, 0)]
    assert rows[2].p == pytest.approx(2 / 3) and rows[2].r == pytest.approx(2 / 4)
    assert rows[-1].p == 0.0 and rows[-1].f == 0.0 and all(r.n_gold == 4 for r in rows)
    assert best_row(rows).cutoff == 0.3  # F1 .667 at 0 and 0.3 (same P): the higher cut-off
    exact = best_cutoff(gold, predicted)
    assert exact.cutoff == 0.3 and exact.f == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_default_cutoffs_and_parsing():
    assert default_cutoffs([0.2, 0.9]) == pytest.approx([i / 20 for i in range(21)])
    assert default_cutoffs([-2.0, 3.0], n=6) == pytest.approx([-2, -1, 0, 1, 2, 3])
    assert default_cutoffs([]) == [0.0]
    assert parse_cutoffs("0:1:0.25") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert parse_cutoffs("0.5, 0.9") == [0.5, 0.9]
    with pytest.raises(ValueError, match="start:stop:step"):
        parse_cutoffs("a:b")


@pytest.fixture(scope="module")
def model_and_dev(tmp_path_factory):
    model = ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))
    dev = tmp_path_factory.mktemp("sweep") / "dev.spacy"
    DocBin(docs=planted_docs(spacy.blank("en"), 16), store_user_data=True).to_disk(dev)
    return model, dev


@pytest.mark.parametrize("entities", ["gold", "predicted"])
def test_sweep_agrees_with_the_scorers_on_filtered_predictions(model_and_dev, entities):
    model, dev = model_and_dev
    nlp = spacy.load(model)
    pipe = nlp.get_pipe("relation_extractor")
    before = pipe.cfg["threshold"]
    out = sweep_dataset(nlp, dev, entities=entities)
    assert pipe.cfg["threshold"] == before
    rows = out["rows"]
    assert len(rows) == 21 and out["best"]["f"] == max(r["f"] for r in rows)
    assert rows[0]["n_pred"] >= rows[-1]["n_pred"]
    # every candidate has a relation when the threshold is -inf: 2 ordered pairs per planted doc pass the filter
    assert out["best_over_all_scores"]["f"] >= out["best"]["f"] - 1e-9
    # the same figure by filtering the -inf predictions at one cut-off and using the project's scorers
    refs = planted_docs(nlp, 16)
    pipe.cfg["threshold"] = -math.inf  # the component's own annotation, every candidate with its best label
    try:
        docs = (
            list(nlp.pipe([r.text for r in refs]))
            if entities == "predicted"
            else list(nlp.pipe([_with_ents(nlp, r) for r in refs]))
        )
    finally:
        pipe.cfg["threshold"] = before
    cut = sorted(r.score for d in docs for r in get_relations(d))[len(docs) // 2]
    for d in docs:
        set_relations(d, [r for r in get_relations(d) if r.score >= cut])
    egs = [Example(d, r) for d, r in zip(docs, refs)]
    expected = (
        score_e2e(egs)["rel_e2e_micro_f"] if entities == "predicted" else score_relations(egs)["rel_micro_f"]
    )
    (row,) = sweep_dataset(nlp, dev, entities=entities, cutoffs=[cut])["rows"]
    assert row["f"] == pytest.approx(expected)
    assert "best over all scores" in describe(out)


def _with_ents(nlp, ref):
    doc = ref.copy()
    set_relations(doc, [])
    return doc


def test_evaluate_command_sweep_and_predicted_entities(model_and_dev, tmp_path):
    from typer.testing import CliRunner

    from spacy_bio_rel.cli.app import app

    model, dev = model_and_dev
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "evaluate",
            str(model),
            str(dev),
            "--sweep",
            "--cutoffs",
            "0:1:0.5",
            "--report",
            str(tmp_path / "sweep.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "best on this grid" in res.output and (tmp_path / "sweep.json").exists()
    res = runner.invoke(app, ["evaluate", str(model), str(dev), "--entities", "predicted"])
    assert res.exit_code == 0, res.output
    assert "entities        P 100.00" in res.output and "relations macro" in res.output
    res = runner.invoke(app, ["evaluate", str(model), str(dev), "--entities", "both"])
    assert res.exit_code != 0


def test_predicted_entities_need_an_entity_recogniser(model_and_dev):
    from spacy_bio_rel.scoring.evaluate_e2e import evaluate_predicted_entities
    from spacy_bio_rel.util import PipelineError

    model, dev = model_and_dev
    bare = spacy.load(model, exclude=["entity_ruler"])
    for run in (
        lambda: evaluate_predicted_entities(bare, dev),
        lambda: sweep_dataset(bare, dev, entities="predicted"),
    ):
        with pytest.raises(PipelineError, match="sets no entities"):
            run()
    assert sweep_dataset(bare, dev, entities="gold")["rows"]  # gold entities need no recogniser


def test_scored_candidates_give_what_the_component_annotates(model_and_dev):
    model, _ = model_and_dev
    nlp = spacy.load(model)
    pipe = nlp.get_pipe("relation_extractor")
    refs = planted_docs(nlp, 8)
    texts = [r.text for r in refs]
    annotated = list(nlp.pipe(texts))
    threshold = pipe.cfg["threshold"]
    docs = (nlp.make_doc(t) for t in texts)
    for (doc, scored), expected in zip(
        scored_candidates(nlp, docs, component="relation_extractor"), annotated
    ):
        assert len(scored) >= len(get_relations(expected))
        assert all(x.label in pipe.labels for x in scored)
        kept = [_key(r) for r in pipe.relations(scored)]
        assert kept == [_key(r) for r in get_relations(expected)]
        assert all((x.score >= threshold) == (x in pipe.select(scored)) for x in scored)
    assert pipe.cfg["threshold"] == threshold


def _key(r):
    return (r.head.start_char, r.head.end_char, r.head.label_, r.tail.start_char, r.label, round(r.score, 6))
