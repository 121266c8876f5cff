"""Without the ray extra: every command works as before, ``--engine ray`` says how to install it."""

import subprocess
import sys

from conftest import REPO
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app

INSTALL = 'pip install "spacy-bio-rel[ray]"'


def test_engine_ray_without_ray_is_one_line_saying_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if it were not installed: `import ray` fails
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["predict", "no_model", str(src), str(tmp_path / "out"), "--engine", "ray"])
    assert r.exit_code == 1 and INSTALL in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = runner.invoke(
        app,
        [
            "cv",
            str(REPO / "configs" / "en_wordwise.cfg"),
            str(tmp_path / "pool.spacy"),
            "--output-dir",
            str(tmp_path / "res"),
            "--engine",
            "ray",
        ],
    )
    assert r.exit_code == 1 and INSTALL in r.output and not (tmp_path / "res").exists()
    r = runner.invoke(app, ["predict", "no_model", str(src), str(tmp_path / "out"), "--engine", "spark"])
    assert r.exit_code == 1 and "--engine must be one of local, ray" in r.output


def test_ray_is_imported_only_for_engine_ray():
    code = (
        "import sys, spacy_bio_rel, spacy_bio_rel.cli.convert, spacy_bio_rel.experiments.cv, "
        "spacy_bio_rel.distributed, spacy_bio_rel.distributed.ray_predict, spacy_bio_rel.distributed.ray_experiments; "
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
