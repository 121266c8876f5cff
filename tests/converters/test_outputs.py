"""Converters leave no stale outputs."""

from conftest import REPO
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app

runner = CliRunner()
SAMPLE = REPO / "assets" / "ace_sample"


def convert(*args):
    res = runner.invoke(app, ["convert", *map(str, args)])
    return res


def test_refolding_removes_the_folds_it_does_not_write(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "other.spacy").write_bytes(b"mine")
    assert convert("ace", SAMPLE, tmp_path, "--folds", "5").exit_code == 0
    assert sorted(p.name for p in tmp_path.glob("fold*.spacy")) == [f"fold{i}.spacy" for i in range(5)]
    res = convert("ace", SAMPLE, tmp_path, "--folds", "3")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("fold*.spacy")) == [f"fold{i}.spacy" for i in range(3)]
    assert "Removed" in res.output and "fold4.spacy" in res.output
    # unrelated files stay; no temporary folder is left behind
    assert (tmp_path / "notes.txt").read_text() == "mine" and (
        tmp_path / "other.spacy"
    ).read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "all.report.json",
        "fold0.spacy",
        "fold1.spacy",
        "fold2.spacy",
        "notes.txt",
        "other.spacy",
    ]
    # no folds now: the folds of the previous conversion under this name go
    assert convert("ace", SAMPLE, tmp_path).exit_code == 0
    assert not list(tmp_path.glob("fold*.spacy")) and (tmp_path / "all.spacy").exists()


def test_two_names_share_a_folder_and_a_failed_run_changes_nothing(tmp_path, fixtures):
    small = fixtures / "conll04" / "small.json"
    assert convert("conll04", small, tmp_path, "--name", "train").exit_code == 0
    assert convert("conll04", small, tmp_path, "--name", "dev").exit_code == 0
    assert (tmp_path / "train.spacy").exists() and (tmp_path / "dev.spacy").exists()
    before = (tmp_path / "dev.spacy").read_bytes(), (tmp_path / "dev.report.json").read_text()
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff")
    res = convert("conll04", bad, tmp_path, "--name", "dev")
    assert res.exit_code == 1 and "bad.json" in res.output
    assert ((tmp_path / "dev.spacy").read_bytes(), (tmp_path / "dev.report.json").read_text()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".convert-")]


def test_failure_while_writing_keeps_the_previous_outputs(tmp_path, fixtures, monkeypatch):
    from spacy.tokens import DocBin

    from spacy_bio_rel.converters.pipeline import OutputSettings, convert_conll04

    small = fixtures / "conll04" / "small.json"
    convert_conll04(small, OutputSettings(tmp_path, folds=2))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []

    def fail_second(self, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, path)

    real = DocBin.to_disk
    monkeypatch.setattr(DocBin, "to_disk", fail_second)
    try:
        convert_conll04(small, OutputSettings(tmp_path, folds=3))
    except OSError:
        pass
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
