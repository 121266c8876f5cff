"""`spacy-bio-rel predict` (spacy_bio_rel/predict.py, predict_cli.py): records, formats, processes, bad input."""

import json
import subprocess
import sys
import textwrap

import pytest
import spacy
from conftest import REPO, planted_docs
from spacy.tokens import DocBin
from typer.testing import CliRunner
from util import ruler_pipeline_path

from spacy_bio_rel import get_relations
from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.predict.run import InputError, OutputExistsError, predict, scan_input
from spacy_bio_rel.util import PipelineError

TEXTS = [
    "Anna works for Acme and visited Paris .",
    "Bert lives in Oslo near Globex offices .",
    "Hana works for Initech and visited Lima .",
    "Nobody is here .",
]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def nlp(model):
    return spacy.load(model)


def _read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _write(path, lines):
    if isinstance(lines, bytes):
        path.write_bytes(lines)
    else:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_txt_to_jsonl_records(nlp, tmp_path):
    src = _write(tmp_path / "in.txt", [TEXTS[0], "", TEXTS[1], "   ", TEXTS[3]])
    report = predict(nlp, src, tmp_path / "out.jsonl", progress=False)
    records = _read_jsonl(tmp_path / "out.jsonl")
    assert [r["text"] for r in records] == [TEXTS[0], TEXTS[1], TEXTS[3]]
    first = records[0]
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in first["entities"]] == [
        (0, 4, "PER", "Anna"),
        (15, 19, "ORG", "Acme"),
        (32, 37, "LOC", "Paris"),
    ]
    (rel,) = first["relations"]
    assert (rel["head"], rel["tail"], rel["label"]) == (0, 1, "Work_For") and isinstance(rel["score"], float)
    assert records[1]["relations"][0]["label"] == "Live_In" and records[2]["relations"] == []
    assert report.n_docs == 3 and report.n_relations == 2
    assert "skipped 2 empty line(s)" in report.skipped and "line 2, 4" in report.skipped


def test_jsonl_keeps_other_keys_and_spacy_output(nlp, tmp_path):
    src = _write(
        tmp_path / "in.jsonl",
        [json.dumps({"text": t, "id": i, "meta": {"src": "x"}}) for i, t in enumerate(TEXTS)],
    )
    predict(nlp, src, tmp_path / "out.jsonl", progress=False)
    records = _read_jsonl(tmp_path / "out.jsonl")
    assert [(r["id"], r["meta"]) for r in records] == [(i, {"src": "x"}) for i in range(4)]
    predict(nlp, src, tmp_path / "out.spacy", progress=False)
    docs = list(DocBin().from_disk(tmp_path / "out.spacy").get_docs(nlp.vocab))
    assert [d.text for d in docs] == TEXTS
    assert [(r.head.text, r.label, r.tail.text) for r in get_relations(docs[0])] == [
        ("Anna", "Work_For", "Acme")
    ]


def test_spacy_input_with_entities_needs_no_ner(model, tmp_path):
    bare = spacy.load(model, exclude=["entity_ruler"])
    src = tmp_path / "in.spacy"
    DocBin(docs=planted_docs(bare, 6), store_user_data=True).to_disk(src)
    report = predict(bare, src, tmp_path / "out.jsonl", progress=False)
    records = _read_jsonl(tmp_path / "out.jsonl")
    assert report.n_docs == 6 and all(len(r["entities"]) == 3 for r in records)
    assert sum(len(r["relations"]) for r in records) >= 5
    txt = _write(tmp_path / "in.txt", TEXTS)
    with pytest.raises(PipelineError, match="The pipeline sets no entities: add an ner"):
        predict(bare, txt, tmp_path / "out2.jsonl", progress=False)
    assert not (tmp_path / "out2.jsonl").exists()


def test_prodigy_tasks_read_back_to_the_same_docs(nlp, tmp_path):
    src = _write(tmp_path / "in.txt", TEXTS)
    predict(nlp, src, tmp_path / "pred.spacy", progress=False)
    predict(nlp, src, tmp_path / "tasks.jsonl", fmt="prodigy", progress=False)
    tasks = _read_jsonl(tmp_path / "tasks.jsonl")
    span = tasks[0]["relations"][0]["head_span"]
    assert tasks[0]["tokens"][3] == {"text": "Acme", "start": 15, "end": 19, "id": 3, "ws": True}
    assert span == {"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "PER"}
    # as an annotator accepts them in Prodigy
    _write(tmp_path / "accepted.jsonl", [json.dumps(dict(t, answer="accept")) for t in tasks])
    back = [
        doc
        for _, docs in read_prodigy(tmp_path / "accepted.jsonl", ConversionReport(), nlp.vocab)
        for doc in docs
    ]
    pred = list(DocBin().from_disk(tmp_path / "pred.spacy").get_docs(nlp.vocab))
    assert len(back) == len(pred) == 4

    def view(doc):
        return (
            [t.text for t in doc],
            [t.whitespace_ for t in doc],
            [(e.start, e.end, e.label_) for e in doc.ents],
            sorted((r.head.start, r.head.end, r.tail.start, r.tail.end, r.label) for r in get_relations(doc)),
        )

    assert [view(d) for d in back] == [view(d) for d in pred]


def _view(doc):
    return (
        doc.text,
        [(e.start_char, e.end_char, e.label_) for e in doc.ents],
        sorted(
            (r.head.start_char, r.head.end_char, r.tail.start_char, r.tail.end_char, r.label)
            for r in get_relations(doc)
        ),
    )


def test_convert_prodigy_reads_back_the_tasks_predict_writes(model, tmp_path):
    src = _write(tmp_path / "in.txt", TEXTS)
    runner = CliRunner()
    for out in ("tasks.jsonl", "pred.spacy"):
        fmt = ["--format", "prodigy"] if out.endswith(".jsonl") else []
        res = runner.invoke(app, ["predict", str(model), str(src), str(tmp_path / out), "-q"] + fmt)
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["convert", "prodigy", str(tmp_path / "tasks.jsonl"), str(tmp_path / "back")])
    assert res.exit_code == 0, res.output
    vocab = spacy.blank("en").vocab
    back = list(DocBin().from_disk(tmp_path / "back" / "tasks.spacy").get_docs(vocab))
    pred = list(DocBin().from_disk(tmp_path / "pred.spacy").get_docs(vocab))
    assert len(back) == len(TEXTS) and [_view(d) for d in back] == [_view(d) for d in pred]
    assert sum(len(get_relations(d)) for d in back) >= 2
    report = json.loads((tmp_path / "back" / "tasks.report.json").read_text(encoding="utf-8"))
    assert report["notes"]["unannotated_task"] == len(TEXTS)


def test_bad_input_is_a_clear_error_naming_the_line(nlp, tmp_path):
    out = tmp_path / "out.jsonl"
    cases = [
        (
            "no_text.jsonl",
            [json.dumps({"text": TEXTS[0]}), json.dumps({"body": "x"})],
            r"no_text.jsonl:2: .*no \"text\" key",
        ),
        ("bad.jsonl", [json.dumps({"text": TEXTS[0]}), "", "{not json"], r"bad.jsonl:3: invalid JSON"),
        ("list.jsonl", ["[1, 2]"], r"list.jsonl:1: expected a JSON object"),
        ("nums.jsonl", [json.dumps({"text": 5})], r"nums.jsonl:1: \"text\" must be a string"),
        (
            "latin1.txt",
            TEXTS[0].encode() + b"\nCaf\xe9 au lait\n",
            r"latin1.txt:2: not valid UTF-8 \(byte 0xe9 at column 4\)",
        ),
        ("notes.csv", ["a,b"], r"unknown input type '.csv'"),
    ]
    for name, lines, message in cases:
        with pytest.raises(InputError, match=message):
            predict(nlp, _write(tmp_path / name, lines), out, progress=False)
        assert not out.exists()
    assert list(tmp_path.glob(".*tmp")) == []


def test_existing_output_refused_unless_overwrite_and_nothing_half_written(nlp, tmp_path, monkeypatch):
    src = _write(tmp_path / "in.txt", TEXTS)
    out = _write(tmp_path / "out.jsonl", ["old"])
    with pytest.raises(OutputExistsError, match="--overwrite"):
        predict(nlp, src, out, progress=False)
    assert out.read_text() == "old\n"
    predict(nlp, src, out, overwrite=True, progress=False)
    assert len(_read_jsonl(out)) == 4
    # a failure in the middle leaves the old file as it was and no temporary file
    import spacy_bio_rel.predict.run as predict_module

    calls = []

    def failing(doc, extra):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return {"text": doc.text}

    monkeypatch.setattr(predict_module, "doc_to_record", failing)
    fresh = tmp_path / "fresh.jsonl"
    with pytest.raises(RuntimeError):
        predict(nlp, src, fresh, progress=False)
    assert not fresh.exists() and list(tmp_path.glob(".*tmp")) == []


def test_an_output_written_by_another_run_meanwhile_is_kept(nlp, tmp_path, monkeypatch):
    """Two runs into one new path: the output appears after this run's up-front check, before it
    publishes. The other run's file stays, this run raises naming the path and leaves no temporary."""
    import spacy_bio_rel.predict.run as predict_module

    src = _write(tmp_path / "in.txt", TEXTS)
    out, page = tmp_path / "out.jsonl", tmp_path / "out.html"
    real = predict_module.doc_to_record

    def other_run_finishes(doc, extra):
        if not out.exists():
            out.write_text("the other run's records\n", encoding="utf-8")
        return real(doc, extra)

    monkeypatch.setattr(predict_module, "doc_to_record", other_run_finishes)
    with pytest.raises(OutputExistsError, match="another process") as e:
        predict(nlp, src, out, progress=False)
    assert str(out) in str(e.value) and "--overwrite" in str(e.value)
    assert out.read_text(encoding="utf-8") == "the other run's records\n"
    assert list(tmp_path.glob(".*tmp")) == []

    def other_html(doc, extra):  # the same for the --html file
        if not page.exists():
            page.write_text("their page", encoding="utf-8")
        return real(doc, extra)

    monkeypatch.setattr(predict_module, "doc_to_record", other_html)
    fresh = tmp_path / "fresh.jsonl"
    with pytest.raises(OutputExistsError, match=str(page)):
        predict(nlp, src, fresh, html=page, progress=False)
    assert page.read_text(encoding="utf-8") == "their page" and list(tmp_path.glob(".*tmp")) == []

    monkeypatch.setattr(predict_module, "doc_to_record", other_run_finishes)
    out.unlink()
    predict(nlp, src, out, overwrite=True, progress=False)  # --overwrite replaces it
    assert len(_read_jsonl(out)) == 4


def test_without_hard_links_a_new_output_is_a_clear_error(nlp, tmp_path, monkeypatch):
    import errno
    import os

    def no_links(src, dst):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM), src, None, dst)

    monkeypatch.setattr(os, "link", no_links)
    src = _write(tmp_path / "in.txt", TEXTS)
    out = tmp_path / "out.jsonl"
    with pytest.raises(OSError, match="--overwrite") as e:
        predict(nlp, src, out, progress=False)
    assert e.value.filename == str(out) and "hard links" in e.value.strerror
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]
    predict(nlp, src, out, overwrite=True, progress=False)
    assert len(_read_jsonl(out)) == 4


def test_html_that_is_the_output_is_refused(nlp, tmp_path):
    src = _write(tmp_path / "in.txt", TEXTS)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match="same file"):
        predict(nlp, src, out, html=tmp_path / "." / "out.jsonl", progress=False)
    assert not out.exists()


def test_cli_predict_html_and_errors(model, tmp_path):
    runner = CliRunner()
    src = _write(tmp_path / "in.txt", TEXTS)
    out, page = tmp_path / "out.jsonl", tmp_path / "out.html"
    res = runner.invoke(
        app,
        [
            "predict",
            str(model),
            str(src),
            str(out),
            "--html",
            str(page),
            "--html-limit",
            "2",
            "--batch-size",
            "2",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote 4 documents" in res.output and len(_read_jsonl(out)) == 4
    assert page.read_text(encoding="utf-8").count('class="doc"') == 2
    res = runner.invoke(app, ["predict", str(model), str(src), str(out)])
    assert res.exit_code == 1 and "exists" in res.output and "--overwrite" in res.output
    bad = _write(tmp_path / "bad.jsonl", ["{}"])
    res = runner.invoke(app, ["predict", str(model), str(bad), str(tmp_path / "o.jsonl")])
    assert res.exit_code == 1 and "bad.jsonl:1" in res.output


def test_threads_option(model, tmp_path):
    """--threads sets the relation component's torch threads; the records do not change."""
    runner = CliRunner()
    src = _write(tmp_path / "in.txt", TEXTS)
    outs = []
    for threads in ("1", "0", "2"):
        out = tmp_path / f"out{threads}.jsonl"
        res = runner.invoke(app, ["predict", str(model), str(src), str(out), "--threads", threads, "--quiet"])
        assert res.exit_code == 0, res.output
        outs.append(
            [
                [(r["head"], r["tail"], r["label"], round(r["score"], 4)) for r in rec["relations"]]
                for rec in _read_jsonl(out)
            ]
        )
    assert outs[0] == outs[1] == outs[2] and any(outs[0])
    res = runner.invoke(app, ["predict", str(model), str(src), str(tmp_path / "x.jsonl"), "--threads", "-1"])
    assert res.exit_code == 1 and "--threads must be 0" in res.output
    res = runner.invoke(
        app, ["predict", str(model), str(src), str(tmp_path / "y"), "--threads", "2", "--engine", "ray"]
    )
    assert res.exit_code == 1 and "--cpus-per-worker" in res.output


def test_scan_input_counts_without_storing(tmp_path):
    src = _write(tmp_path / "in.txt", ["a", ""] * 8 + ["b"])
    s = scan_input(src)
    assert (s.n_docs, s.n_empty, s.empty_lines, s.kind) == (9, 8, [2, 4, 6, 8, 10], "txt")
    assert s.skipped_message().endswith("(line 2, 4, 6, 8, 10, ...)")


N_PROCESS_SCRIPT = textwrap.dedent("""
    import json, sys, torch, spacy
    from spacy_bio_rel.predict.run import predict
    x = torch.randn(1500, 1500); (x @ x).sum()  # the parent has used torch's thread pool before forking
    nlp = spacy.load(sys.argv[1])
    for n in (1, 2):
        predict(nlp, sys.argv[2], f"{sys.argv[3]}.{n}.jsonl", n_process=n, batch_size=8, progress=False)
""")


def test_two_processes_finish_and_agree_with_one(model, tmp_path):
    src = _write(tmp_path / "in.jsonl", [json.dumps({"text": TEXTS[i % 4], "n": i}) for i in range(120)])
    script = _write(tmp_path / "run.py", [N_PROCESS_SCRIPT])
    # torch's OpenMP pool in a forked worker used to deadlock: a hang is a failure here, not a stuck suite
    subprocess.run(
        [sys.executable, str(script), str(model), str(src), str(tmp_path / "out")],
        check=True,
        timeout=180,
        cwd=REPO,
    )
    one, two = _read_jsonl(tmp_path / "out.1.jsonl"), _read_jsonl(tmp_path / "out.2.jsonl")
    assert len(one) == 120 and one == two and [r["n"] for r in two] == list(range(120))
