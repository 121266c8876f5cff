"""Experiments never report stale results."""

import json
import shutil

import pytest
from conftest import REPO
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.ace import AceSettings
from spacy_bio_rel.converters.docs import DocSettings
from spacy_bio_rel.converters.pipeline import OutputSettings, convert_ace
from spacy_bio_rel.experiments.folds import make_folds
from spacy_bio_rel.experiments.provenance import StaleOutputError

SAMPLE = REPO / "assets" / "ace_sample"
CONFIG = REPO / "configs" / "en_wordwise.cfg"


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    out = {}
    for lang in ("en", "zh"):
        folder = tmp_path_factory.mktemp(f"sample_{lang}")
        convert_ace(
            SAMPLE, OutputSettings(folder, name=lang), AceSettings(language=lang), DocSettings(lang=lang)
        )
        out[lang] = folder / f"{lang}.spacy"
    return out


@pytest.fixture(scope="module")
def english(pools, tmp_path_factory):
    """The issue's first command: the English sample into res/ (copied by each test)."""
    res = tmp_path_factory.mktemp("english") / "res"
    r = cv(pools["en"], res, "en", 2)
    assert r.exit_code == 0, r.output
    return res


def cv(pool, res, lang, steps, *extra):
    return CliRunner().invoke(
        app,
        [
            "cv",
            str(CONFIG),
            str(pool),
            "--output-dir",
            str(res),
            "--lang",
            lang,
            "--variants",
            "baseline",
            "--folds",
            "2",
            "--max-folds",
            "1",
            "--set",
            f"training.max_steps={steps}",
            *extra,
        ],
    )


def test_second_pool_into_the_same_folder_stops_instead_of_reporting_stale_scores(pools, english, tmp_path):
    res = tmp_path / "res"
    shutil.copytree(english, res)
    english_md = (res / "results.md").read_text(encoding="utf-8")
    manifest = json.loads((res / "runs" / "baseline" / "fold0" / "manifest.json").read_text())
    assert manifest["inputs"]["overrides"]["training.max_steps"] == 2
    assert manifest["inputs"]["folds"]["lang"] == "en" and len(manifest["inputs"]["config_sha256"]) == 64

    r = cv(pools["zh"], res, "zh", 50)  # the second command
    assert r.exit_code == 1
    assert isinstance(r.exception, SystemExit)
    assert (
        "folds made from other inputs" in r.output and "--overwrite" in r.output and "pool_sha256" in r.output
    )
    assert (res / "results.md").read_text(encoding="utf-8") == english_md  # nothing was mixed

    r = cv(pools["zh"], res, "zh", 2, "--overwrite")
    assert r.exit_code == 0, r.output
    md = (res / "results.md").read_text(encoding="utf-8")
    assert "zh.spacy" in md and "en.spacy" not in md
    assert json.loads((res / "folds" / "manifest.json").read_text())["inputs"]["lang"] == "zh"


def test_changed_overrides_config_or_seed_are_stale(pools, english, tmp_path):
    res = tmp_path / "res"
    shutil.copytree(english, res)
    stamp = (res / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime
    assert cv(pools["en"], res, "en", 2).exit_code == 0  # the same inputs: reused
    assert (res / "runs" / "baseline" / "fold0" / "scores.json").stat().st_mtime == stamp
    r = cv(pools["en"], res, "en", 3)
    assert r.exit_code == 1 and "a run made from other inputs" in r.output and "overrides" in r.output
    r = cv(pools["en"], res, "en", 2, "--seed", "1")
    assert r.exit_code == 1 and "seed" in r.output
    with pytest.raises(StaleOutputError, match="folds: 2 -> 3"):
        make_folds([pools["en"]], "en", 3, 0, res / "folds")


def test_folds_without_manifest_are_not_trusted(pools, tmp_path):
    folder = tmp_path / "folds"
    folder.mkdir()
    (folder / "fold0.spacy").write_bytes(b"old")
    with pytest.raises(StaleOutputError, match="no manifest"):
        make_folds([pools["en"]], "en", 2, 0, folder)
    files = make_folds([pools["en"]], "en", 2, 0, folder, overwrite=True)
    assert [f.name for f in files] == ["fold0.spacy", "fold1.spacy"] and (folder / "manifest.json").exists()
