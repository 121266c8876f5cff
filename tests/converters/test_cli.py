import json

from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app

runner = CliRunner()


def test_help_lists_converters():
    res = runner.invoke(app, ["convert", "--help"])
    assert res.exit_code == 0
    for cmd in ("ace", "brat", "conll04", "prodigy"):
        assert cmd in res.output
    res = runner.invoke(app, ["convert", "ace", "--help"])
    assert res.exit_code == 0 and "--metonymy" in res.output and "--span" in res.output


def test_convert_ace_folds(fixtures, tmp_path):
    res = runner.invoke(
        app,
        [
            "convert",
            "ace",
            str(fixtures / "ace"),
            str(tmp_path),
            "--folds",
            "0",
            "--name",
            "fx",
            "--metonymy",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "fx.spacy").exists()
    data = json.loads((tmp_path / "fx.report.json").read_text())
    assert data["relations"]["METONYMY"] == 1 and data["documents"] == 1
    assert "ordered" in data["splits"]["fx"]["candidates"]


def test_convert_brat_conll_prodigy(fixtures, tmp_path):
    for args, out in (
        (["brat", str(fixtures / "brat")], "brat.spacy"),
        (["conll04", str(fixtures / "conll04/small.json")], "small.spacy"),
        (["prodigy", str(fixtures / "prodigy/rel.jsonl")], "rel.spacy"),
    ):
        res = runner.invoke(app, ["convert", *args, str(tmp_path)])
        assert res.exit_code == 0, res.output
        assert (tmp_path / out).exists()
        assert "Left out, by reason" in res.output


def test_no_documents_exit_code(tmp_path):
    res = runner.invoke(app, ["convert", "ace", str(tmp_path), str(tmp_path / "out")])
    assert res.exit_code == 1
    assert "No documents" in res.output
    res = runner.invoke(app, ["convert", "brat", str(tmp_path), str(tmp_path / "out")])
    assert res.exit_code == 1


def test_exclude_and_encoding_on_every_converter():
    for cmd in ("ace", "brat", "conll04", "prodigy"):
        res = runner.invoke(app, ["convert", cmd, "--help"])
        assert "--exclude" in res.output and "--encoding" in res.output, cmd


def test_exclude_conll04_and_prodigy(fixtures, tmp_path):
    res = runner.invoke(
        app,
        [
            "convert",
            "conll04",
            str(fixtures / "conll04/small.json"),
            str(tmp_path),
            "--exclude",
            "Kill",
            "--exclude",
            "Live_In",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "small.report.json").read_text())
    assert data["dropped"]["kill_excluded"] == 1 and data["dropped"]["live_in_excluded"] == 2
    assert "Kill" not in data["relations"] and "Live_In" not in data["relations"]
    res = runner.invoke(
        app,
        ["convert", "prodigy", str(fixtures / "prodigy/rel.jsonl"), str(tmp_path), "--exclude", "VISITED"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "rel.report.json").read_text())
    assert data["dropped"]["visited_excluded"] == 1 and data["relations"] == {"total": 1, "WORKS_FOR": 1}


def test_max_sentence_distance_on_brat_and_ace(fixtures, tmp_path):
    for cmd, source, name in (("brat", fixtures / "brat", "brat"), ("ace", fixtures / "ace", "all")):
        out = tmp_path / cmd
        args = ["convert", cmd, str(source), str(out), "--unit", "document", "--max-sentence-distance", "1"]
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        data = json.loads((out / f"{name}.report.json").read_text())
        assert data["settings"]["max_sentence_distance"] == 1
        assert data["stats"]["cross_sentence_relations_kept_at_distance_1"] == 1, cmd
        assert "cross_sentence_relation" not in data["dropped"]
        assert "cross_sentence_relations_kept_at_distance_1" in res.output
    res = runner.invoke(
        app, ["convert", "brat", str(fixtures / "brat"), str(tmp_path / "x"), "--max-sentence-distance", "1"]
    )
    assert res.exit_code == 1 and "--unit document" in res.output
