"""Throughput of ``predict`` on Ray against the local command, and Ray's start-up overhead.

Builds one input of ``--sentences`` lines by repeating the texts of INPUT
(a ``.txt``/``.jsonl`` file, or a ``.spacy`` DocBin such as CoNLL04 dev: its
Docs' texts), then, ``--repeats`` times each and every time in a fresh Python
process (so nothing is warm):

* ``local``: :func:`spacy_bio_rel.predict.run.predict` (model loading excluded),
  torch on its default threads and, with ``--local-threads 1``, on one;
* ``ray N``: for each N of ``--workers``: a local Ray instance with
  ``--cpus`` CPUs (``ray.init`` timed apart), then
  :func:`spacy_bio_rel.distributed.ray_predict.predict_ray` with N workers of one
  CPU each, timed from the call to the last record written (actors start and
  load the model inside this time: that is what a user waits for);
* ``overhead``: ``ray.init`` and a ``predict_ray`` run over ``--tiny``
  documents with one worker (scheduling, actor start, model load, writing:
  the fixed cost of a Ray run).

Prints medians (documents/s, seconds) as a table and writes every figure to
``--output`` (JSON). Run it on an otherwise idle machine; the figures are
wall-clock times::

    python scripts/benchmark_ray_predict.py training/conll04_e2e/model-best corpus/conll04/dev.spacy \\
        --sentences 20000 --workers 1,2 --repeats 3 --output docs/results/benchmark_ray_predict.json
"""

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

LOCAL = r"""
import json, sys, time
import spacy, torch
from spacy_bio_rel.predict.run import predict
model, src, out, threads, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
if threads > 0:
    torch.set_num_threads(threads)
nlp = spacy.load(model)
report = predict(nlp, src, out, batch_size=batch_size, overwrite=True, progress=False)
print(json.dumps({"docs": report.n_docs, "seconds": report.seconds, "threads": torch.get_num_threads()}))
"""

RAY = r"""
import json, logging, sys, time
import ray
from spacy_bio_rel.distributed.ray_predict import predict_ray
model, src, out, workers, cpus, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
t0 = time.perf_counter()
ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
init_s = time.perf_counter() - t0
t0 = time.perf_counter()
report = predict_ray(model, src, out, workers=workers, batch_size=batch_size, overwrite=True, progress=False)
seconds = time.perf_counter() - t0
ray.shutdown()
print(json.dumps({"docs": report.n_docs, "seconds": seconds, "ray_init_seconds": init_s}))
"""


def texts_of(path: Path, lang: str):
    if path.suffix == ".spacy":
        import spacy
        from spacy.tokens import DocBin

        return [" ".join(d.text.split()) for d in DocBin().from_disk(path).get_docs(spacy.blank(lang).vocab)]
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(x)["text"] for x in lines] if path.suffix == ".jsonl" else lines


def build_input(texts, n: int, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for text in itertools.islice(itertools.cycle(texts), n):
            f.write(text + "\n")
    return path


def run(code: str, *args) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmark run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(rows, key):
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("input", type=Path, help=".txt, .jsonl or .spacy (e.g. corpus/conll04/dev.spacy)")
    ap.add_argument("--sentences", type=int, default=20000, help="lines of the benchmark input")
    ap.add_argument("--workers", default="1,2", help="comma-separated Ray worker counts")
    ap.add_argument(
        "--local-threads", default="0", help="comma-separated torch threads for local (0: default)"
    )
    ap.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray instance")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--tiny", type=int, default=10, help="documents of the overhead run")
    ap.add_argument("--lang", default="en")
    ap.add_argument("--output", type=Path, help="write every figure to this JSON file")
    args = ap.parse_args()

    texts = texts_of(args.input, args.lang)
    if not texts:
        sys.exit(f"{args.input} has no texts")
    rows, table = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = build_input(texts, args.sentences, tmp / "input.txt")
        tiny = build_input(texts, args.tiny, tmp / "tiny.txt")
        for threads in (int(x) for x in args.local_threads.split(",")):
            runs = [
                run(LOCAL, args.model, src, tmp / "local.jsonl", threads, args.batch_size)
                for _ in range(args.repeats)
            ]
            name = f"local ({runs[0]['threads']} torch threads)"
            rows.append({"engine": "local", "threads": runs[0]["threads"], "runs": runs})
            table.append(
                (name, median(runs, "docs") / median(runs, "seconds"), median(runs, "seconds"), None)
            )
        for n in (int(x) for x in args.workers.split(",")):
            runs = [
                run(RAY, args.model, src, tmp / f"ray{n}", n, args.cpus, args.batch_size)
                for _ in range(args.repeats)
            ]
            rows.append({"engine": "ray", "workers": n, "cpus": args.cpus, "runs": runs})
            table.append(
                (
                    f"ray, {n} worker(s)",
                    median(runs, "docs") / median(runs, "seconds"),
                    median(runs, "seconds"),
                    median(runs, "ray_init_seconds"),
                )
            )
        runs = [
            run(RAY, args.model, tiny, tmp / "tiny_out", 1, args.cpus, args.batch_size)
            for _ in range(args.repeats)
        ]
        rows.append({"engine": "ray", "overhead": True, "docs": args.tiny, "runs": runs})
        overhead = (median(runs, "ray_init_seconds"), median(runs, "seconds"))

    print(f"{args.sentences:,} documents ({args.input}, repeated), medians of {args.repeats} runs")
    print(f"{'run':<32} {'docs/s':>10} {'seconds':>9} {'ray.init s':>11}")
    for name, rate, seconds, init in table:
        print(f"{name:<32} {rate:>10,.1f} {seconds:>9.2f} {'' if init is None else f'{init:.2f}':>11}")
    print(
        f"Ray start-up: ray.init {overhead[0]:.2f} s; a {args.tiny}-document run with 1 worker {overhead[1]:.2f} s "
        "(scheduling, actor start, model load, writing)"
    )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {
                    "model": args.model,
                    "input": str(args.input),
                    "sentences": args.sentences,
                    "repeats": args.repeats,
                    "batch_size": args.batch_size,
                    "cpus": args.cpus,
                    "machine": platform.platform(),
                    "cpu_count": os.cpu_count(),
                    "python": platform.python_version(),
                    "table": [
                        {"run": n, "docs_per_s": r, "seconds": s, "ray_init_seconds": i}
                        for n, r, s, i in table
                    ],
                    "overhead": {
                        "ray_init_seconds": overhead[0],
                        "tiny_run_seconds": overhead[1],
                        "tiny_docs": args.tiny,
                    },
                    "rows": rows,
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
