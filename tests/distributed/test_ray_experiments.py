"""``cv --engine ray`` (spacy_bio_rel/distributed/experiments.py): the local run's scores, folders and
results.md; resume only when the manifests match."""

import json

import pytest
from conftest import REPO, TINY_MODEL_OVERRIDES, planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.experiments.cv import run_cv
from spacy_bio_rel.experiments.provenance import StaleOutputError

CONFIG = REPO / "configs" / "en_wordwise.cfg"
SMALL = {**TINY_MODEL_OVERRIDES, "training.max_steps": 6, "training.eval_frequency": 3}
VARIANTS = ["baseline", "mtl_tag"]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    import spacy

    docs = planted_docs(spacy.blank("en"), 24)
    for i, d in enumerate(docs):
        d.user_data[DOC_ID_KEY] = f"doc{i // 2}"
    path = tmp_path_factory.mktemp("pool") / "pool.spacy"
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def comparable(scores, out):
    """scores.json without the wall-clock time, paths relative to the output folder."""

    def rel(v):
        return v.replace(str(out.resolve()), "OUT").replace(str(out), "OUT") if isinstance(v, str) else v

    scores = {k: rel(v) for k, v in scores.items() if k != "train_seconds"}
    scores["overrides"] = {k: rel(v) for k, v in scores["overrides"].items()}
    return scores


def test_cv_on_ray_gives_the_local_scores_and_resumes_only_on_matching_manifests(ray_local, pool, tmp_path):
    local, distributed = tmp_path / "local", tmp_path / "ray"
    args = dict(lang="en", folds=2, seed=0, overrides=SMALL, corpus="planted")
    run_cv(CONFIG, [pool], VARIANTS, local, **args)
    run_cv(CONFIG, [pool], VARIANTS, distributed, engine="ray", cpus_per_run=1, **args)
    for v in VARIANTS:
        for i in range(2):
            a, b = local / "runs" / v / f"fold{i}", distributed / "runs" / v / f"fold{i}"
            sa = json.loads((a / "scores.json").read_text(encoding="utf-8"))
            sb = json.loads((b / "scores.json").read_text(encoding="utf-8"))
            assert comparable(sa, local) == comparable(sb, distributed), (v, i)
            assert (
                json.loads((a / "manifest.json").read_text())["inputs"]
                == json.loads((b / "manifest.json").read_text())["inputs"]
            )
            assert (b / "model" / "model-best").is_dir() and (b / "data" / "train.spacy").is_file()
    assert (local / "results.md").read_text(encoding="utf-8") == (distributed / "results.md").read_text(
        encoding="utf-8"
    )

    # resume: nothing is trained again; other overrides are refused as before
    stamp = (distributed / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime_ns
    run_cv(CONFIG, [pool], VARIANTS, distributed, engine="ray", **args)
    assert (distributed / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime_ns == stamp
    with pytest.raises(StaleOutputError, match="a run made from other inputs"):
        run_cv(
            CONFIG,
            [pool],
            VARIANTS,
            distributed,
            engine="ray",
            **dict(args, overrides=dict(SMALL, **{"training.max_steps": 7})),
        )


def test_ray_options_on_the_command_line(ray_local, pool, tmp_path):
    runner = CliRunner()
    r = runner.invoke(
        app, ["cv", str(CONFIG), str(pool), "--output-dir", str(tmp_path / "c"), "--cpus-per-run", "2"]
    )
    assert r.exit_code == 1 and "go with --engine ray" in r.output
    r = runner.invoke(
        app,
        [
            "cv",
            str(CONFIG),
            str(pool),
            "--output-dir",
            str(tmp_path / "c"),
            "--engine",
            "ray",
            "--gpu-id",
            "0",
        ],
    )
    assert r.exit_code == 1 and "--gpus-per-run" in r.output
    assert not (tmp_path / "c").exists()
