import json

import pytest
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_bio_rel.cli import app
from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.experiments.folds import make_folds, read_pool, split_dev
from spacy_bio_rel.experiments.runner import run_cv
from spacy_bio_rel.experiments.variants import ABLATION, LOSS_TABLE, VARIANTS, resolve
from conftest import REPO, TINY_MODEL_OVERRIDES, planted_docs

SMALL = {**TINY_MODEL_OVERRIDES, "training.max_epochs": 2, "training.eval_frequency": 5}


@pytest.fixture
def pool(tmp_path, nlp_en):
    docs = planted_docs(nlp_en, 24)
    for i, d in enumerate(docs):
        d.user_data[DOC_ID_KEY] = f"doc{i // 2}"  # two sentences per document
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(tmp_path / "pool.spacy")
    return tmp_path / "pool.spacy"


def test_variants_are_overrides_of_one_config():
    assert resolve(["ablation"]) == ABLATION and resolve(["loss"]) == LOSS_TABLE
    assert VARIANTS["baseline"]["components.relation_extractor.model.use_tags"] is False
    assert VARIANTS["mtl_tag"]["components.relation_extractor.multitask"] is True
    assert VARIANTS["tag_ce_ranking"]["components.relation_extractor.classification_loss"] == "both"
    with pytest.raises(ValueError, match="Unknown variant"):
        resolve(["nope"])


def test_folds_keep_documents_together(pool, tmp_path):
    files = make_folds([pool], "en", 3, 0, tmp_path / "folds")
    seen = {}
    total = 0
    for i, f in enumerate(files):
        for d in DocBin().from_disk(f).get_docs(read_pool([pool], "en")[0].vocab):
            assert seen.setdefault(d.user_data[DOC_ID_KEY], i) == i
            total += 1
    assert total == 24 and len(seen) == 12
    train, dev = split_dev(read_pool([pool], "en"), 0.25, 0)
    assert {d.user_data[DOC_ID_KEY] for d in train}.isdisjoint({d.user_data[DOC_ID_KEY] for d in dev})


def test_cross_validation_writes_results_and_resumes(pool, tmp_path):
    out = tmp_path / "cv"
    config = REPO / "configs" / "en_wordwise.cfg"
    summary = run_cv(config, [pool], ["baseline", "mtl_tag"], out, lang="en", folds=2, overrides=SMALL,
                     corpus="planted", paper="ace05-en")
    for v in ("baseline", "mtl_tag"):
        d = summary["variants"][v]["ratios"]["full"]
        assert set(d["f"]) == {"mean", "std"} and len(d["folds"]) == 2
        assert set(d["per_label"]) <= {"Work_For", "Live_In"}
    md = (out / "results.md").read_text()
    assert "Baseline+MTL+Tag" in md and "68.9" in md  # the paper's figure beside ours
    saved = json.loads((out / "results.json").read_text())
    assert saved["config_text"].startswith("# English") and saved["overrides"]["training.max_epochs"] == 2
    stamp = (out / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime
    run_cv(config, [pool], ["baseline"], out, lang="en", folds=2, overrides=SMALL)
    assert (out / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime == stamp  # resumed, not redone


def test_imbalance_curve_and_plot(pool, tmp_path):
    out = tmp_path / "imb"
    summary = run_cv(REPO / "configs" / "en_wordwise.cfg", [pool], ["baseline"], out, lang="en", folds=2,
                     max_folds=1, overrides=SMALL, ratios=[0.5, None], corpus="planted")
    ratios = summary["variants"]["baseline"]["ratios"]
    assert set(ratios) == {"0.5", "full"}
    counts = ratios["0.5"]["instances"][0]
    assert counts["negative"] <= round(0.5 * counts["positive"]) + 1
    assert (out / "imbalance.png").stat().st_size > 1000
    md = (out / "results.md").read_text(encoding="utf-8")
    f_half = 100 * ratios["0.5"]["f"]["mean"]
    assert "| negative:positive | Baseline F1 |" in md and f"| 0.5 | {f_half:.1f} ± " in md
    assert "Overrides of the config: " in md


def test_evaluate_cli(pool, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["cv", str(REPO / "configs" / "en_wordwise.cfg"), str(pool), "-o", str(tmp_path / "c"),
                            "--variants", "tag", "--folds", "2", "--max-folds", "1"]
                      + [x for k, v in SMALL.items() for x in ("--set", f"{k}={json.dumps(v)}")])
    assert r.exit_code == 0, r.output
    model = tmp_path / "c" / "runs" / "tag" / "fold0" / "model" / "model-best"
    r = runner.invoke(app, ["evaluate", str(model), str(pool), "-o", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    assert "micro  P" in r.output and json.loads((tmp_path / "s.json").read_text())["counts"]["instances"] > 0
    r = runner.invoke(app, ["cv", "x.cfg", str(pool), "-o", str(tmp_path / "d"), "--set", "nokey"])
    assert r.exit_code != 0
