"""One error line for bad output locations, broken models, bad options; SIGTERM and stale temporaries."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import spacy
from conftest import REPO, planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner
from util import ruler_pipeline_path, trained

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.cli.errors import OutputLocationError, check_writable, cli_errors, fail
from spacy_bio_rel.tempfiles import pid_alive

CONLL04 = REPO / "tests" / "fixtures" / "conll04"
CONFIG = REPO / "configs" / "en_wordwise.cfg"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ruler_pipeline_path(str(tmp_path_factory.mktemp("pipe")))


@pytest.fixture(scope="module")
def gold_model(tmp_path_factory):
    """A relation_extractor alone, scored in the gold-entity setting."""
    path = tmp_path_factory.mktemp("gold_pipe") / "pipe"
    trained().to_disk(path)
    return path


@pytest.fixture(scope="module")
def gold(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "dev.spacy"
    DocBin(docs=planted_docs(spacy.blank("en"), 60), store_user_data=True).to_disk(path)
    return path


def _one_error_line(res, *needles):
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit), res.exception  # no other exception: no traceback
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), res.output
    assert "Traceback" not in res.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _conll04_file():
    return next(CONLL04.glob("*.json"))


# -- the helpers -------------------------------------------------------------------------
def test_fail_and_cli_errors_give_one_red_line_and_exit_1(capsys):
    import typer

    with pytest.raises(typer.Exit) as e:
        fail("broken")
    assert e.value.exit_code == 1
    assert capsys.readouterr().err.strip() == "Error: broken"
    with pytest.raises(typer.Exit):
        with cli_errors(ValueError):
            raise ValueError("bad\nvalue")
    assert capsys.readouterr().err.strip() == "Error: bad value"
    with pytest.raises(typer.Exit):
        with cli_errors(OSError):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/x/out.jsonl")
    assert capsys.readouterr().err.strip() == f"Error: /x/out.jsonl: {os.strerror(errno.ENOSPC)}"
    with pytest.raises(KeyError):  # other types pass through
        with cli_errors(ValueError):
            raise KeyError("k")


def test_check_writable(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    check_writable(tmp_path / "new.jsonl", "file")
    check_writable(tmp_path / "a" / "b" / "new.jsonl", "file")  # parents can be created
    check_writable(tmp_path / "out", "folder")
    assert not (tmp_path / "a").exists() and not (tmp_path / "out").exists()  # nothing created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # the probe file is gone
    with pytest.raises(OutputLocationError, match="it is a folder"):
        check_writable(tmp_path, "file")
    with pytest.raises(OutputLocationError, match="it is a file"):
        check_writable(afile, "folder")
    with pytest.raises(OutputLocationError, match="afile is a file, not a folder"):
        check_writable(afile / "sub" / "out.jsonl", "file")


def _read_only(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):  # the superuser: chmod does not stop it
        folder.chmod(0o755)
        pytest.skip("running as root: a read-only folder is still writable")
    return folder


def test_check_writable_read_only_folder(tmp_path):
    folder = _read_only(tmp_path)
    try:
        with pytest.raises(OutputLocationError, match="not writable"):
            check_writable(folder / "out.jsonl", "file")
        with pytest.raises(OutputLocationError, match="cannot create folders"):
            check_writable(folder / "sub" / "out.jsonl", "file")
    finally:
        folder.chmod(0o755)


# -- bad output locations, before the work -----------------------------------------------------
def _bad_locations(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    return afile


def test_convert_bad_output_locations(tmp_path):
    afile = _bad_locations(tmp_path)
    src = str(_conll04_file())
    _one_error_line(CliRunner().invoke(app, ["convert", "conll04", src, str(afile)]), str(afile), "is a file")
    _one_error_line(
        CliRunner().invoke(app, ["convert", "conll04", src, str(afile / "out")]),
        "afile is a file, not a folder",
    )


def test_convert_read_only_output_folder(tmp_path):
    folder = _read_only(tmp_path)
    try:
        res = CliRunner().invoke(
            app, ["convert", "conll04", str(_conll04_file()), str(folder), "--progress-every", "0"]
        )
        _one_error_line(res, str(folder), "not writable")
    finally:
        folder.chmod(0o755)


def test_predict_bad_output_locations(model, tmp_path, monkeypatch):
    afile = _bad_locations(tmp_path)
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    loads = []
    monkeypatch.setattr(spacy, "load", lambda *a, **k: loads.append(a) or pytest.fail("loaded"))
    for out in (afile / "out.jsonl", tmp_path):
        res = CliRunner().invoke(app, ["predict", str(model), str(src), str(out), "--overwrite", "-q"])
        _one_error_line(res, str(out))
    res = CliRunner().invoke(
        app, ["predict", str(model), str(src), str(tmp_path / "o.jsonl"), "--html", str(afile / "x.html")]
    )
    _one_error_line(res, "x.html", "afile is a file")
    assert not loads  # checked before the model loads


def test_predict_html_naming_the_output_is_refused(model, tmp_path, monkeypatch):
    """--html must not be OUTPUT itself: the same path, another spelling of it, a symbolic or a hard link."""
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    loads = []
    monkeypatch.setattr(spacy, "load", lambda *a, **k: loads.append(a) or pytest.fail("loaded"))
    res = CliRunner().invoke(app, ["predict", str(model), str(src), str(out), "--html", str(out), "-q"])
    _one_error_line(res, "--html", str(out), "same file")
    assert not out.exists()

    out.write_text("records\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "soft.jsonl").symlink_to(out)
    os.link(out, tmp_path / "hard.jsonl")
    for html in (tmp_path / "sub" / ".." / "out.jsonl", tmp_path / "soft.jsonl", tmp_path / "hard.jsonl"):
        res = CliRunner().invoke(
            app, ["predict", str(model), str(src), str(out), "--html", str(html), "--overwrite", "-q"]
        )
        _one_error_line(res, str(html), "same file")
    assert out.read_text(encoding="utf-8") == "records\n" and not loads


def test_evaluate_and_cv_bad_output_locations(gold_model, gold, tmp_path):
    afile = _bad_locations(tmp_path)
    for out in (tmp_path, afile / "scores.json"):
        res = CliRunner().invoke(app, ["evaluate", str(gold_model), str(gold), "--report", str(out)])
        _one_error_line(res, str(out))
    res = CliRunner().invoke(app, ["cv", str(CONFIG), str(gold), "--output-dir", str(afile)])
    _one_error_line(res, str(afile), "is a file")
    assert afile.read_text() == "x"


def test_full_disk_at_write_time_is_one_line(model, tmp_path, monkeypatch):
    """Disk full while writing: one line naming the path, no temporary left."""
    import spacy_bio_rel.predict.run as run

    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\nBert lives in Oslo .\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"

    def full(doc, extra=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out))

    monkeypatch.setattr(run, "doc_to_record", full)
    res = CliRunner().invoke(app, ["predict", str(model), str(src), str(out), "-q"])
    _one_error_line(res, str(out), os.strerror(errno.ENOSPC))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]

    import spacy_bio_rel.converters.pipeline as pipeline

    def full_disk(self, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(pipeline.DocBin, "to_disk", full_disk)
    res = CliRunner().invoke(
        app, ["convert", "conll04", str(_conll04_file()), str(tmp_path / "conv"), "--progress-every", "0"]
    )
    _one_error_line(res, os.strerror(errno.ENOSPC), str(tmp_path / "conv" / "small.spacy"))
    assert list((tmp_path / "conv").iterdir()) == []  # the temporary folder is gone


# -- tracebacks become one line -----------------------------------------------------------
def test_predict_truncated_model_is_one_line(model, tmp_path):
    broken = tmp_path / "pipe"
    shutil.copytree(model, broken)
    weights = broken / "relation_extractor" / "model"
    weights.write_bytes(weights.read_bytes()[:1000])
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["predict", str(broken), str(src), str(tmp_path / "out.jsonl"), "-q"])
    _one_error_line(res, "cannot load the pipeline", "relation_extractor")


def test_evaluate_without_relation_extractor_is_one_line(gold, tmp_path):
    path = tmp_path / "blank"
    spacy.blank("en").to_disk(path)
    for extra in ([], ["--sweep"], ["--entities", "predicted"]):
        res = CliRunner().invoke(app, ["evaluate", str(path), str(gold), *extra])
        _one_error_line(res, "relation_extractor")


@pytest.mark.parametrize(
    "option, needle",
    [
        (["--variants", "nonsense"], "nonsense"),
        (["--folds", "1"], "--folds"),
        (["--folds", "200"], "60 documents cannot fill 200 folds"),
        (["--lang", "klingon"], "klingon"),
    ],
)
def test_cv_bad_options_are_one_line(gold, tmp_path, option, needle):
    res = CliRunner().invoke(
        app, ["cv", str(CONFIG), str(gold), "--output-dir", str(tmp_path / "cv"), *option]
    )
    _one_error_line(res, needle)


def test_imbalance_bad_ratios_are_one_line(gold, tmp_path):
    res = CliRunner().invoke(
        app, ["imbalance", str(CONFIG), str(gold), "--output-dir", str(tmp_path / "cv"), "--ratios", "1,x"]
    )
    _one_error_line(res, "--ratios")


# -- Docs without entities ------------------------------------------------------------------
def test_evaluate_and_predict_warn_without_entities(gold_model, tmp_path):
    docs = planted_docs(spacy.blank("en"), 6)
    for d in docs:
        d.ents = []
        d.user_data.clear()
    data = tmp_path / "noents.spacy"
    DocBin(docs=docs, store_user_data=True).to_disk(data)
    res = CliRunner().invoke(app, ["evaluate", str(gold_model), str(data)])
    assert res.exit_code == 0, res.output
    assert "warning: no entities in the 6 docs" in res.output
    res = CliRunner().invoke(app, ["predict", str(gold_model), str(data), str(tmp_path / "out.jsonl"), "-q"])
    assert res.exit_code == 0, res.output
    assert "warning: no entities in the 6 documents" in res.output


# -- SIGTERM and stale temporaries --------------------------------------------------------------
SLOW_PREDICT = """
import sys, time
import spacy_bio_rel.predict.run as run
original = run.doc_to_record
def slow(doc, extra=None):
    print("READY", flush=True)
    time.sleep(60)
    return original(doc, extra)
run.doc_to_record = slow
from spacy_bio_rel.cli.app import app
app(sys.argv[1:], prog_name="spacy-bio-rel")
"""

SLOW_CONVERT = """
import sys, time
from spacy_bio_rel.converters.report import ConversionReport
original = ConversionReport.add_split
def slow(self, *a, **k):
    print("READY", flush=True)
    time.sleep(60)
    return original(self, *a, **k)
ConversionReport.add_split = slow
from spacy_bio_rel.cli.app import app
app(sys.argv[1:], prog_name="spacy-bio-rel")
"""


def _terminate_when_ready(script, args, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests")]))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "READY", proc.stderr.read()
        before = sorted(p.name for p in tmp_path.rglob("*"))
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, before, err


def test_sigterm_removes_the_predict_temporary(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    rc, before, err = _terminate_when_ready(
        SLOW_PREDICT, ["predict", model, src, "out.jsonl", "-q"], tmp_path
    )
    assert any(name.endswith(".tmp") for name in before)  # it was there while running
    assert rc == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "Stopped by SIGTERM" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_sigterm_removes_the_convert_temporary(tmp_path):
    out = tmp_path / "out"
    rc, before, err = _terminate_when_ready(
        SLOW_CONVERT, ["convert", "conll04", _conll04_file(), out], tmp_path
    )
    assert any(".convert-" in name for name in before)
    assert rc == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert list(out.iterdir()) == []


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid


def test_stale_temporaries_of_dead_processes_are_removed(model, tmp_path):
    dead = _dead_pid()
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    stale = tmp_path / f".out.jsonl.{dead}.tmp"
    stale.write_text("half")
    alive = tmp_path / f".out.jsonl.{os.getppid()}.tmp"  # a running process: maybe a concurrent run
    alive.write_text("busy")
    other = tmp_path / f".other.jsonl.{dead}.tmp"  # another output's: not ours to judge
    other.write_text("x")
    res = CliRunner().invoke(app, ["predict", str(model), str(src), str(tmp_path / "out.jsonl"), "-q"])
    assert res.exit_code == 0, res.output
    assert not stale.exists() and alive.exists() and other.exists()
    assert f"Removed {stale}" in res.output

    out = tmp_path / "conv"
    out.mkdir()
    stale_dir = out / f".convert-{dead}-abc123"
    (stale_dir / "x").mkdir(parents=True)
    busy_dir = out / f".convert-{os.getppid()}-abc123"
    busy_dir.mkdir()
    res = CliRunner().invoke(app, ["convert", "conll04", str(_conll04_file()), str(out)])
    assert res.exit_code == 0, res.output
    assert not stale_dir.exists() and busy_dir.exists()
    assert json.loads(next(out.glob("*.report.json")).read_text())["documents"] > 0


def test_bf16_with_several_processes_or_ray_is_one_error_line(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    out = str(tmp_path / "out.jsonl")
    res = CliRunner().invoke(app, ["predict", str(model), str(src), out, "--bf16", "--n-process", "2"])
    _one_error_line(res, "--bf16 runs one process")
    res = CliRunner().invoke(app, ["predict", str(model), str(src), out, "--bf16", "--engine", "ray"])
    _one_error_line(res, "--bf16 goes with --engine local")


def test_bf16_on_a_pipeline_without_a_transformer_is_one_error_line(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Anna works for Acme .\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["predict", str(model), str(src), str(tmp_path / "out.jsonl"), "--bf16"])
    _one_error_line(res, "has none (components:")
