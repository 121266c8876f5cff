"""spacy_bio_rel.diagnose on tiny DocBins: the JSON per epoch and its bookkeeping."""
import json

import numpy
import pytest
import spacy
from spacy.cli._util import parse_config_overrides

from conftest import REPO, planted_docs
from test_training import SMALL, _write
from spacy_bio_rel.diagnose import diagnose


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diag")
    nlp = spacy.blank("en")
    docs = planted_docs(nlp, 24)
    _write(docs[:16], tmp / "train.spacy")
    _write(docs[16:], tmp / "dev.spacy")
    over = parse_config_overrides(SMALL + ["--paths.train", str(tmp / "train.spacy"),
                                           "--paths.dev", str(tmp / "dev.spacy")])
    history = diagnose(REPO / "configs" / "en_wordwise.cfg", tmp / "out", epochs=2, seed=0, overrides=over,
                       log=lambda msg: None)
    return tmp / "out", history


def test_json_per_epoch_and_files(run):
    out, history = run
    assert [h["epoch"] for h in history] == [1, 2]
    for h in history:
        saved = json.loads((out / f"epoch_{h['epoch']:03d}.json").read_text())
        for key in ("micro", "scorer_micro", "per_label", "confusion", "direction", "scores_positive",
                    "scores_negative", "loss_terms", "oracle_global_theta", "labels_with_a_hit"):
            assert key in saved
        assert saved["micro"]["f"] == pytest.approx(saved["scorer_micro"]["f"])
        assert set(saved["per_label"]) == {"Live_In", "Work_For"}
    assert json.loads((out / "diagnosis.json").read_text())["epochs"][-1]["epoch"] == 2
    for name in ("f1_per_epoch.png", "confusion_best.png", "scores_best.png", "loss_terms.png"):
        assert (out / name).stat().st_size > 0
    assert spacy.load(out / "model-last").pipe_names == ["relation_extractor"]


def test_confusion_rows_sum_to_gold_counts(run):
    _, history = run
    rec = history[-1]
    names = rec["confusion"]["labels"]
    m = numpy.asarray(rec["confusion"]["matrix"])
    assert names[-1] == "Other"
    for i, lab in enumerate(names):
        assert m[i].sum() == rec["gold_candidates"][lab]
    # every dev gold relation is a candidate here: the positive rows sum to the gold relation counts
    for lab, v in rec["per_label"].items():
        assert m[names.index(lab)].sum() + rec["gold_unreachable"][lab] == v["n_gold"]
    assert sum(v["n_gold"] for v in rec["per_label"].values()) == 8
    # 8 dev docs, 3 entities each, both orders: 6 pairs per doc before the type filter
    assert m.sum() <= 48


def test_loss_terms_add_up_to_the_training_loss(run):
    _, history = run
    for h in history:
        assert h["loss_terms"]["weighted_total"] == pytest.approx(h["train_loss"], rel=1e-4)
        per = h["loss_terms"]["per_label"]
        assert per["Other"]["sum"]["ranking_pos"] == 0.0
        assert per["Work_For"]["n"] > 0
