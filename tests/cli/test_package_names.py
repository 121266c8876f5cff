"""``predict``, ``evaluate`` and ``calibrate`` take an installed pipeline package's name wherever they take
a model folder (:func:`spacy_bio_rel.util.load_pipeline`)."""

import json

import pytest
import spacy
from conftest import planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner
from util import build_ruler_pipeline

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.util import PipelineError, load_pipeline

NAME = "en_bio_rel_test_pkg"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """The layout ``spacy package`` + ``pip install`` leave in site-packages: a module whose ``load()``
    reads the data folder beside it, and a ``.dist-info`` so that ``spacy.util.is_package`` finds it."""
    site = tmp_path_factory.mktemp("site")
    nlp = build_ruler_pipeline()
    nlp.meta.update(name="bio_rel_test_pkg", version="0.0.1")
    root = site / NAME
    root.mkdir()
    nlp.to_disk(root / f"{NAME}-0.0.1")
    (root / "meta.json").write_text(json.dumps(nlp.meta), encoding="utf-8")
    (root / "__init__.py").write_text(
        "from spacy.util import load_model_from_init_py\n\n\n"
        "def load(**overrides):\n    return load_model_from_init_py(__file__, **overrides)\n",
        encoding="utf-8",
    )
    info = site / f"{NAME}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {NAME}\nVersion: 0.0.1\n", encoding="utf-8")
    return site


@pytest.fixture
def installed(package, monkeypatch):
    monkeypatch.syspath_prepend(str(package))
    assert spacy.util.is_package(NAME)
    return NAME


def _dev(tmp_path):
    db = DocBin(store_user_data=True)
    for doc in planted_docs(spacy.blank("en"), 16):
        db.add(doc)
    db.to_disk(tmp_path / "dev.spacy")
    return tmp_path / "dev.spacy"


def test_load_pipeline_takes_a_folder_a_package_or_says_neither(installed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    assert "relation_extractor" in load_pipeline(installed).pipe_names
    with pytest.raises(PipelineError, match="nowhere_model does not exist .*neither a pipeline folder"):
        load_pipeline("nowhere_model")


def test_predict_evaluate_and_calibrate_take_a_package_name(installed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    (tmp_path / "in.txt").write_text("Anna works for Acme and visited Paris .\n", encoding="utf-8")
    res = runner.invoke(app, ["predict", installed, "in.txt", "out.jsonl", "-q"])
    assert res.exit_code == 0, res.output
    (record,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["label"] for r in record["relations"]] == ["Work_For"]
    dev = _dev(tmp_path)
    res = runner.invoke(app, ["evaluate", installed, str(dev)])
    assert res.exit_code == 0, res.output
    assert "Work_For" in res.output
    res = runner.invoke(app, ["calibrate", installed, str(dev)])
    assert res.exit_code == 1 and "installed package: pass --output-dir" in res.output
    res = runner.invoke(app, ["calibrate", installed, str(dev), "--output-dir", str(tmp_path / "cal")])
    assert res.exit_code == 0, res.output
    assert "relation_extractor" in spacy.load(tmp_path / "cal").pipe_names
