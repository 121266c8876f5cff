"""``predict --engine ray`` (spacy_bio_rel/distributed/predict.py): the local command's records,
a worker killed mid-run, bad input named by file and line."""

import json

import pytest
import spacy
from typer.testing import CliRunner
from util import ruler_pipeline_path

import spacy_bio_rel.distributed.ray_predict as ray_predict
from spacy_bio_rel.cli.app import app
from spacy_bio_rel.distributed.ray_predict import ID_KEY, predict_ray, scan_inputs
from spacy_bio_rel.predict.run import InputError, OutputExistsError, predict

PEOPLE = ["Anna", "Bert", "Carl", "Dora", "Emil", "Fina", "Gus", "Hana"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella"]
LOCS = ["Paris", "Oslo", "Lima", "Kyiv"]


def texts(n):
    out = []
    for i in range(n):
        p, o, loc = PEOPLE[i % 8], ORGS[i % 4], LOCS[(i // 3) % 4]
        out.append(
            f"{p} works for {o} and visited {loc} ." if i % 2 else f"{p} lives in {loc} near {o} offices ."
        )
    return out


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))


def read_folder(folder):
    """Records of every shard, in shard-name order."""
    return [
        json.loads(line)
        for f in sorted(folder.glob("part-*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]


def without_id(records):
    return [{k: v for k, v in r.items() if k != ID_KEY} for r in records]


def rounded(records):
    """Scores to 4 decimals: a pair's score can differ in the last float bits with
    the size of the model call it is in (matrix kernels chosen by shape), and
    Ray batches the documents differently from a local run."""
    out = []
    for r in records:
        r = dict(r)
        r["relations"] = [{**rel, "score": round(rel["score"], 4)} for rel in r.get("relations", [])]
        out.append(r)
    return out


def test_ray_records_equal_local_records(ray_local, model, tmp_path):
    """jsonl shards with blank lines and extra keys, a .txt file, a Parquet file: the local records."""
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    src = tmp_path / "in"
    src.mkdir()
    lines = [json.dumps({"id": i, "meta": {"n": [i, None]}, "text": t}) for i, t in enumerate(texts(30))]
    lines[4:4] = ["", "   "]
    (src / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (src / "b.txt").write_text("\ufeff" + "\n".join(texts(7)[::-1]) + "\n", encoding="utf-8")
    pq.write_table(
        pa.table({"text": texts(9), "doc": [f"d{i}" for i in range(9)]}), src / "c.parquet", row_group_size=4
    )
    nlp = spacy.load(model)
    local = {}
    for name in ("a.jsonl", "b.txt"):
        predict(nlp, src / name, tmp_path / f"local_{name}.jsonl", progress=False)
        local[name] = [
            json.loads(x) for x in (tmp_path / f"local_{name}.jsonl").read_text("utf-8").splitlines()
        ]
    (tmp_path / "c.jsonl").write_text(
        "\n".join(json.dumps({"text": t, "doc": f"d{i}"}) for i, t in enumerate(texts(9))) + "\n",
        encoding="utf-8",
    )
    predict(nlp, tmp_path / "c.jsonl", tmp_path / "local_c.jsonl", progress=False)
    local["c.parquet"] = [json.loads(x) for x in (tmp_path / "local_c.jsonl").read_text("utf-8").splitlines()]

    report = predict_ray(
        model, src, tmp_path / "out", batch_size=4, workers=2, shard_size=10, chunk_docs=4, progress=False
    )
    records = read_folder(tmp_path / "out")
    assert report.n_docs == len(records) == 30 + 7 + 9
    assert len(list((tmp_path / "out").glob("part-*.jsonl"))) == 5  # 46 records, 10 per shard
    # input order, and every record is the local one plus "_input": FILE:LINE (or Parquet row)
    assert rounded(without_id(records)) == rounded(local["a.jsonl"] + local["b.txt"] + local["c.parquet"])
    ids = [r[ID_KEY] for r in records]
    assert ids[:6] == ["a.jsonl:1", "a.jsonl:2", "a.jsonl:3", "a.jsonl:4", "a.jsonl:7", "a.jsonl:8"]
    assert ids[30] == "b.txt:1" and ids[-1] == "c.parquet:9" and len(set(ids)) == len(ids)
    assert list(records[0]) == list(local["a.jsonl"][0]) + [ID_KEY]  # same keys, same order
    assert "skipped 2 empty line(s)" in report.skipped

    # Parquet output: the same records as columns
    predict_ray(model, src / "b.txt", tmp_path / "out.parquet", batch_size=4, progress=False)
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert rounded([{k: r[k] for k in ("text", "entities", "relations")} for r in table]) == rounded(
        local["b.txt"]
    )


def test_a_worker_killed_mid_run_loses_and_repeats_nothing(ray_local, model, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(
        "\n".join(json.dumps({"text": t, "n": i}) for i, t in enumerate(texts(60))) + "\n", "utf-8"
    )
    marker = tmp_path / "killed"
    report = predict_ray(
        model,
        src,
        tmp_path / "out",
        batch_size=5,
        workers=2,
        chunk_docs=5,
        progress=False,
        fail_once=str(marker),
    )
    assert marker.exists()  # one actor did die (os._exit on its second chunk) and was restarted
    records = read_folder(tmp_path / "out")
    print(
        f"fault test: {60} input records, {len(records)} output records, "
        f"{len({r['n'] for r in records})} distinct"
    )
    assert report.n_docs == len(records) == 60
    assert [r["n"] for r in records] == list(range(60))  # none lost, none twice, in input order


def test_bad_line_is_named_before_any_work(ray_local, model, tmp_path):
    src = tmp_path / "shards"
    src.mkdir()
    (src / "a.jsonl").write_text(json.dumps({"text": "Anna works for Acme ."}) + "\n", encoding="utf-8")
    (src / "b.jsonl").write_text(
        "\n".join([json.dumps({"text": "x"}), "", "{broken"]) + "\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"b.jsonl:3: invalid JSON"):
        scan_inputs(src)
    r = CliRunner().invoke(app, ["predict", str(model), str(src), str(tmp_path / "out"), "--engine", "ray"])
    assert r.exit_code == 1 and "b.jsonl:3: invalid JSON" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()
    r = CliRunner().invoke(
        app, ["predict", str(model), str(src / "a.jsonl"), str(tmp_path / "o"), "--workers", "2"]
    )
    assert r.exit_code == 1 and "go with --engine ray" in r.output


def test_command_line(ray_local, model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n".join(texts(5)) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "predict",
        str(model),
        str(src),
        str(out),
        "--engine",
        "ray",
        "--workers",
        "1",
        "--chunk-size",
        "2",
        "-q",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "wrote 5 documents" in r.output and [x[ID_KEY] for x in read_folder(out)] == [
        f"in.txt:{i}" for i in range(1, 6)
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and "exists" in r.output  # refused without --overwrite, as the local command
    r = CliRunner().invoke(app, args + ["--overwrite", "--format", "spacy"])
    assert r.exit_code == 1 and "--engine ray writes jsonl, prodigy, parquet" in r.output


def test_empty_input_gives_an_empty_folder(model, tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("\n  \n", encoding="utf-8")
    report = predict_ray(model, src, tmp_path / "out", progress=False)
    assert report.n_docs == 0 and list((tmp_path / "out").iterdir()) == []
    assert "skipped 2 empty line(s)" in report.skipped


def test_an_output_folder_written_by_another_run_meanwhile_is_kept(model, tmp_path, monkeypatch):
    """The folder appears after the up-front check, before this run puts its own in place."""
    src = tmp_path / "in.txt"
    src.write_text("\n", encoding="utf-8")  # no documents: no Ray session needed
    out = tmp_path / "out"
    real = ray_predict._check_pipeline

    def other_run_finishes(*args):
        real(*args)
        out.mkdir()
        (out / "part-00000.jsonl").write_text("theirs\n", encoding="utf-8")

    monkeypatch.setattr(ray_predict, "_check_pipeline", other_run_finishes)
    with pytest.raises(OutputExistsError, match=str(out)):
        predict_ray(model, src, out, progress=False)
    assert [p.name for p in out.iterdir()] == ["part-00000.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out"]
