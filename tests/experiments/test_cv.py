import json

import pytest
from conftest import REPO, TINY_MODEL_OVERRIDES, planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.experiments.cv import run_cv
from spacy_bio_rel.experiments.folds import make_folds, read_pool, split_dev
from spacy_bio_rel.experiments.variants import ABLATION, LOSS_TABLE, VARIANTS, resolve

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
    summary = run_cv(
        config,
        [pool],
        ["baseline", "mtl_tag"],
        out,
        lang="en",
        folds=2,
        overrides=SMALL,
        corpus="planted",
        paper="ace05-en",
    )
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
    assert (
        out / "runs" / "baseline" / "fold0" / "scores.json"
    ).stat().st_mtime == stamp  # resumed, not redone


def test_imbalance_curve_and_plot(pool, tmp_path):
    out = tmp_path / "imb"
    summary = run_cv(
        REPO / "configs" / "en_wordwise.cfg",
        [pool],
        ["baseline"],
        out,
        lang="en",
        folds=2,
        max_folds=1,
        overrides=SMALL,
        ratios=[0.5, None],
        corpus="planted",
    )
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
    r = runner.invoke(
        app,
        [
            "cv",
            str(REPO / "configs" / "en_wordwise.cfg"),
            str(pool),
            "--output-dir",
            str(tmp_path / "c"),
            "--variants",
            "tag",
            "--folds",
            "2",
            "--max-folds",
            "1",
        ]
        + [x for k, v in SMALL.items() for x in ("--set", f"{k}={json.dumps(v)}")],
    )
    assert r.exit_code == 0, r.output
    model = tmp_path / "c" / "runs" / "tag" / "fold0" / "model" / "model-best"
    r = runner.invoke(app, ["evaluate", str(model), str(pool), "--report", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    assert "micro  P" in r.output and json.loads((tmp_path / "s.json").read_text())["counts"]["instances"] > 0
    r = runner.invoke(app, ["cv", "x.cfg", str(pool), "--output-dir", str(tmp_path / "d"), "--set", "nokey"])
    assert r.exit_code != 0


def test_fold_vectors_are_learned_from_each_runs_training_part_only(tmp_path):
    """`cv --fold-vectors`: every run learns its own unit vectors from its training part, so a character that
    occurs only in the test fold (or in the run's checkpoint dev part) has no vector in that run."""
    import spacy
    from conftest import make_doc

    nlp = spacy.blank("zh")
    unique = "甲乙丙丁戊己庚辛壬癸子丑"  # one character per document, seen twice in it and nowhere else
    db = DocBin(store_user_data=True)
    for i in range(24):
        name, org = ["张三", "李四", "王五"][i % 3], ["北京大学", "清华大学"][i % 2]
        chars = list(f"{name}在{org}工作。") + [unique[i // 2]] * 2
        doc = make_doc(
            nlp,
            chars,
            [(0, 2, "PER"), (3, 7, "ORG")],
            [(0, 1, "ORG-AFF")],
            sent_starts=[True] + [False] * (len(chars) - 1),
        )
        doc.user_data[DOC_ID_KEY] = f"doc{i // 2}"
        db.add(doc)
    db.to_disk(tmp_path / "pool.spacy")
    out = tmp_path / "cv"
    sets = [f"--set={k}={json.dumps(v)}" for k, v in {**SMALL, "vars.vectors_width": 8}.items()]
    res = CliRunner().invoke(
        app,
        [
            "cv",
            str(REPO / "configs" / "zh_vectors.cfg"),
            str(tmp_path / "pool.spacy"),
            "--output-dir",
            str(out),
            "--lang",
            "zh",
            "--variants",
            "mtl_tag",
            "--folds",
            "2",
            "--fold-vectors",
            "6",
            *sets,
        ],
    )
    assert res.exit_code == 0, res.output
    for fold in (0, 1):
        run = out / "runs" / "mtl_tag" / f"fold{fold}"
        report = json.loads((run / "vectors" / "unit_vectors.json").read_text())
        train_docs = list(DocBin().from_disk(run / "data" / "train.spacy").get_docs(nlp.vocab))
        assert report["docs"] == len(train_docs) and report["data"] == str(run / "data" / "train.spacy")
        assert report["width"] == 6
        scores = json.loads((run / "scores.json").read_text())
        assert scores["overrides"]["paths.vectors"] == str(run / "vectors")
        keys = set(spacy.load(run / "vectors").vocab.vectors.keys())
        with_vector = {nlp.vocab.strings[k] for k in keys}
        seen_in_training = {c for d in train_docs for c in d.text if not c.isspace()}
        assert with_vector == {c for c in seen_in_training if sum(d.text.count(c) for d in train_docs) >= 2}
        assert with_vector & set(unique) and not (set(unique) - seen_in_training) & with_vector
    saved = json.loads((out / "results.json").read_text())
    assert saved["overrides"]["paths.vectors"] == "<fold-training-text:6>"
