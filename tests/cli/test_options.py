"""One meaning per option name across the command line, --gpu-id everywhere a model runs, spaCy-style
config overrides for cv/imbalance, predict's OUTPUT suffixes and ``-``, tqdm progress bars."""

import io
import json
import os
import subprocess
import sys

import pytest
import spacy
from conftest import REPO, planted_docs
from spacy.tokens import DocBin
from typer.main import get_command
from typer.testing import CliRunner
from util import ruler_pipeline_path, trained

import spacy_bio_rel.cli.experiments as experiments
from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.pipeline import progress_printer
from spacy_bio_rel.experiments.cv import Progress


def _commands(group=None, prefix=""):
    group = group or get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer carries its own click)
            yield from _commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def _options(cmd):
    return {opt: p for p in cmd.params if p.param_type_name == "option" for opt in p.opts}


def test_option_names_mean_one_thing_across_commands():
    commands = dict(_commands())
    assert {"predict", "evaluate", "calibrate", "cv", "imbalance", "convert prodigy"} <= set(commands)
    for name, cmd in commands.items():
        opts = _options(cmd)
        assert "--output" not in opts and "-o" not in opts, f"{name}: use OUTPUT, --output-dir or --report"
        if "--report" in opts:
            assert "JSON file" in opts["--report"].help, name
        if "--output-dir" in opts:
            assert "folder" in opts["--output-dir"].help, name
    assert "--report" in _options(commands["evaluate"]) and "--report" in _options(commands["calibrate"])
    assert "--output-dir" in _options(commands["cv"]) and "--output-dir" in _options(commands["calibrate"])
    for name in ("predict", "evaluate", "calibrate", "cv", "imbalance"):
        gpu = _options(commands[name]).get("--gpu-id")
        assert gpu is not None, f"{name} has no --gpu-id"
        assert gpu.default == -1 and "CuPy" in gpu.help and "spacy[cuda12x]" in gpu.help, name


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def gold_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("gold") / "model"
    trained().to_disk(path)
    return path


@pytest.fixture
def dev(tmp_path):
    db = DocBin(store_user_data=True)
    for doc in planted_docs(spacy.blank("en"), 8):
        db.add(doc)
    db.to_disk(tmp_path / "dev.spacy")
    return tmp_path / "dev.spacy"


@pytest.mark.parametrize("command", ["evaluate", "calibrate"])
def test_gpu_id_asks_spacy_for_that_gpu_before_loading(gold_model, dev, tmp_path, monkeypatch, command):
    calls = []
    monkeypatch.setattr(spacy, "require_gpu", lambda gpu_id=0: calls.append(gpu_id) or True)
    extra = ["--output-dir", str(tmp_path / "cal")] if command == "calibrate" else []
    res = CliRunner().invoke(app, [command, str(gold_model), str(dev), "--gpu-id", "1"] + extra)
    assert res.exit_code == 0, res.output
    assert calls == [1]

    def no_cupy(gpu_id=0):
        raise ValueError("GPU is not accessible. Was the library installed correctly?")

    monkeypatch.setattr(spacy, "require_gpu", no_cupy)
    extra = ["--output-dir", str(tmp_path / "cal2")] if command == "calibrate" else []
    res = CliRunner().invoke(app, [command, str(gold_model), str(dev), "--gpu-id", "0"] + extra)
    assert res.exit_code == 1
    (line,) = [x for x in res.output.splitlines() if x.strip()]
    assert line.startswith("Error: cannot use GPU 0") and "pip install spacy[cuda12x]" in line
    assert not (tmp_path / "cal2").exists()


@pytest.mark.parametrize("command", ["cv", "imbalance"])
def test_cv_and_imbalance_take_spacy_style_overrides(monkeypatch, tmp_path, command):
    seen = {}

    def fake_run_cv(config, pool, variants, output, **kw):
        seen.update(pool=[str(p) for p in pool], overrides=kw["overrides"])
        output.mkdir(parents=True)
        (output / "results.md").write_text("done\n", encoding="utf-8")

    monkeypatch.setattr(experiments, "run_cv", fake_run_cv)
    args = [command, "c.cfg", "a.spacy", "b.spacy", "--output-dir", str(tmp_path / "out")]
    args += ["--training.max_epochs", "3", "--lang", "zh", "--set", "training.seed=4"]
    args += ["--components.relation_extractor.model.n_filters=8"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert seen["pool"] == ["a.spacy", "b.spacy"]
    assert seen["overrides"] == {
        "training.max_epochs": 3,
        "training.seed": 4,
        "components.relation_extractor.model.n_filters": 8,
    }


@pytest.mark.parametrize("name", ["out.csv", "out", "out.json"])
def test_predict_refuses_an_unknown_output_suffix(model, tmp_path, name):
    (tmp_path / "in.txt").write_text("Anna works for Acme .\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["predict", str(model), str(tmp_path / "in.txt"), str(tmp_path / name)])
    assert res.exit_code == 1
    (line,) = [x for x in res.output.splitlines() if x.strip()]
    assert "unknown output suffix" in line and name in line and ".jsonl" in line
    assert not (tmp_path / name).exists()
    res = CliRunner().invoke(
        app, ["predict", str(model), str(tmp_path / "in.txt"), str(tmp_path / "o.spacy"), "-f", "prodigy"]
    )
    assert res.exit_code == 1 and "cannot hold prodigy" in res.output


def test_predict_dash_writes_records_to_standard_output(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme and visited Paris .\nBert lives in Oslo near Globex offices .\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    out = subprocess.run(
        [sys.executable, "-m", "spacy_bio_rel", "predict", str(model), str(src), "-"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["relations"][0]["label"] for r in records] == ["Work_For", "Live_In"]
    assert "to standard output" in out.stderr and "predict" in out.stderr  # summary and bar on stderr
    assert not (tmp_path / "-").exists()
    res = CliRunner().invoke(app, ["predict", str(model), str(src), "-", "-f", "spacy"])
    assert res.exit_code == 1 and "standard output" in res.output


def test_converters_and_cv_show_tqdm_bars():
    stream = io.StringIO()
    show = progress_printer("prodigy examples", every=2, stream=stream)
    for i in range(1, 6):
        show(i, 5)
    text = stream.getvalue()
    assert "prodigy examples: 100%" in text and "5/5" in text
    stream = io.StringIO()
    progress = Progress(2, stream=stream)
    for k in range(2):
        progress.start(f"run {k}")
        progress.finish(trained=True)
    text = stream.getvalue()
    assert "[1/2] run 0" in text and "[2/2] run 1" in text and "runs: 100%" in text and "2/2" in text
