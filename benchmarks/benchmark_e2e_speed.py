"""Raw text -> relations: sentences/s and peak memory of ``predict`` for end-to-end pipelines.

Each measurement is one fresh ``python -m spacy_bio_rel predict MODEL TEXT OUT`` process, with
``OMP_NUM_THREADS=N`` (torch's threads for the encoder and ner) and ``--threads N`` (the relation
component's), for every N of ``--threads``. The rate is what ``predict`` reports (documents/s over
the prediction, the model's loading excluded; one text line is one sentence here); peak memory is
the process's maximum resident set size. Quoted: the median and the range of ``--repeats`` runs.

    python benchmarks/benchmark_e2e_speed.py --text dev.txt --threads 1 2 --repeats 3 \\
        --model en_e2e=training/conll04_e2e/model-best --json benchmarks/e2e_speed.json

``--precision fp32 bf16`` also measures the transformer in bfloat16 (``predict --bf16``), the two
taking turns within each repeat.

Make the text with ``python scripts/docbin_text.py corpus/conll04/dev.spacy dev.txt --limit 100000``.
Run it on an otherwise idle machine: it measures wall-clock time.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RATE = re.compile(r"in ([0-9.]+) s \(([0-9,.]+) documents/s\)")


def run_once(model: str, text: str, threads: int, precision: str = "fp32") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        cmd = [
            sys.executable,
            "-m",
            "spacy_bio_rel",
            "predict",
            model,
            text,
            str(out),
            "--threads",
            str(threads),
        ] + (["--bf16"] if precision == "bf16" else [])
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        proc = subprocess.Popen(
            cmd + ["-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
        )
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{output[-2000:]}")
        m = RATE.search(output)
        if m is None:
            raise RuntimeError(f"no rate in the output of {' '.join(cmd)}:\n{output[-2000:]}")
        n_lines = sum(1 for _ in open(out, encoding="utf-8"))
        relations = sum(len(json.loads(line).get("relations", [])) for line in open(out, encoding="utf-8"))
        return {
            "seconds": float(m.group(1)),
            "sentences_per_s": float(m.group(2).replace(",", "")),
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "sentences": n_lines,
            "relations": relations,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH (repeat)")
    ap.add_argument("--text", required=True, help="one sentence per line")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--precision",
        nargs="+",
        choices=["fp32", "bf16"],
        default=["fp32"],
        help="the transformer's (predict --bf16); several take turns in each repeat, and bf16/fp32 is printed",
    )
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    rows = []
    for spec in args.model:
        name, path = spec.split("=", 1)
        for threads in args.threads:
            runs = {p: [] for p in args.precision}
            for _ in range(args.repeats):  # the precisions take turns, so a busy spell hits both
                for precision in args.precision:
                    runs[precision].append(run_once(path, args.text, threads, precision))
            medians = {}
            for precision, done in runs.items():
                rates = [r["sentences_per_s"] for r in done]
                mem = [r["peak_rss_mb"] for r in done]
                row = {
                    "model": name,
                    "path": path,
                    "threads": threads,
                    "precision": precision,
                    "sentences": done[0]["sentences"],
                    "relations": done[0]["relations"],
                    "sentences_per_s_median": statistics.median(rates),
                    "sentences_per_s_range": [min(rates), max(rates)],
                    "peak_rss_mb_median": statistics.median(mem),
                    "runs": done,
                }
                rows.append(row)
                medians[precision] = row["sentences_per_s_median"]
                print(
                    f"{name:<12} {precision} threads {threads}: {row['sentences_per_s_median']:8.1f} sentences/s "
                    f"(range {min(rates):.1f}-{max(rates):.1f}, {args.repeats} runs), peak memory "
                    f"{row['peak_rss_mb_median']:.0f} MB, {row['sentences']} sentences, {row['relations']} relations",
                    flush=True,
                )
            if len(medians) == 2:
                print(
                    f"{name:<12} threads {threads}: bf16 / fp32 = {medians['bf16'] / medians['fp32']:.2f}",
                    flush=True,
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
