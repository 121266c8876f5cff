"""Throughput and peak memory of ``spacy-bio-rel predict``.

For every input size and process count, a fresh Python process loads the
pipeline, runs :func:`spacy_bio_rel.predict.run.predict` over the input (written
to a temporary .jsonl output) and reports:

* documents/s of the prediction itself (model loading excluded; input check
  and output writing included);
* peak resident memory of the main process (``VmHWM`` from
  ``/proc/self/status``, Linux) and of the largest worker
  (``getrusage(RUSAGE_CHILDREN).ru_maxrss``; 0 with one process).

``--lines`` builds inputs of that many documents by cycling the lines of
INPUT (a .txt or .jsonl file), e.g. ``--lines 1000,1000000`` shows whether
memory stays flat as the input grows.

    python scripts/benchmark_predict.py training/conll04_e2e/model-best corpus/conll04/dev.txt \
        --processes 1,2 --lines 0,1000000 --output docs/results/benchmark_predict.json

(``--lines 0`` uses INPUT as it is.) Run it on an otherwise idle machine:
every figure is a wall-clock time.
"""

import argparse
import itertools
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

RUNNER = r"""
import json, os, resource, sys, time
import spacy
from spacy_bio_rel.predict.run import predict
model, src, out, n_process, batch_size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
t0 = time.perf_counter()
nlp = spacy.load(model)
load_s = time.perf_counter() - t0
report = predict(nlp, src, out, n_process=n_process, batch_size=batch_size, overwrite=True, progress=False)
hwm = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) * 1024
print(json.dumps({"docs": report.n_docs, "relations": report.n_relations, "seconds": report.seconds,
                  "docs_per_s": report.n_docs / report.seconds if report.seconds else None,
                  "load_seconds": load_s, "peak_rss_main_bytes": hwm,
                  "peak_rss_largest_worker_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def cycled_input(src: Path, n: int, folder: Path) -> Path:
    """A file of ``n`` non-empty lines taken cyclically from ``src``."""
    lines = [line for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"{src} has no non-empty lines")
    path = folder / f"input_{n}{src.suffix}"
    with open(path, "w", encoding="utf-8") as f:
        for line in itertools.islice(itertools.cycle(lines), n):
            f.write(line + "\n")
    return path


def run_one(model: str, src: Path, n_process: int, batch_size: int, folder: Path) -> dict:
    out = folder / f"out_{n_process}.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, model, str(src), str(out), str(n_process), str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model")
    parser.add_argument("input", type=Path, help=".txt or .jsonl (or .spacy with --lines 0)")
    parser.add_argument("--processes", default="1,2", help="comma-separated n_process values")
    parser.add_argument("--lines", default="0", help="comma-separated input sizes (0: INPUT as it is)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n_lines in (int(x) for x in args.lines.split(",")):
            src = args.input if n_lines == 0 else cycled_input(args.input, n_lines, folder)
            for n_process in (int(x) for x in args.processes.split(",")):
                row = {
                    "input": str(args.input),
                    "lines": n_lines or None,
                    "n_process": n_process,
                    "batch_size": args.batch_size,
                }
                row.update(run_one(args.model, src, n_process, args.batch_size, folder))
                results.append(row)
                print(
                    f"lines {n_lines or 'all':>9}  n_process {n_process}  {row['docs']:>9,} docs  "
                    f"{row['docs_per_s']:8.1f} docs/s  main peak {row['peak_rss_main_bytes'] / 2**20:7.1f} MiB  "
                    f"largest worker {row['peak_rss_largest_worker_bytes'] / 2**20:7.1f} MiB",
                    flush=True,
                )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(
            json.dumps(
                {
                    "machine": platform.platform(),
                    "python": platform.python_version(),
                    "model": args.model,
                    "results": results,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
