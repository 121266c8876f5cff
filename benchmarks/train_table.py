"""Train configs x paper variants on one train/dev split and tabulate dev F1.

Each (config, variant) is one ``python -m spacy train`` (model-best by dev,
seed from the config), run ``--jobs`` at a time with ``--threads`` torch
threads each, then scored with ``python -m spacy_bio_rel evaluate`` (the
protocol's gold-entity setting) or, for an end-to-end config (``e2e`` in its
name), with ``--entities predicted``. Logs, models and ``table.md`` /
``table.json`` go under ``--output``; finished runs are skipped on a rerun.

    python scripts/train_table.py --configs en_wordwise en_tok2vec en_trf --variants ablation \\
        --train corpus/conll04/train.spacy --dev corpus/conll04/dev.spacy --output results/encoders \\
        --set vars.directed=true
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from spacy_bio_rel.experiments.variants import TITLES, VARIANTS, resolve  # noqa: E402


def run(job, args):
    config, variant = job
    out = Path(args.output) / f"{config}__{variant}"
    metrics = out / "metrics.json"
    if metrics.exists():
        return json.loads(metrics.read_text())
    out.mkdir(parents=True, exist_ok=True)
    overrides = []
    for key, value in list(VARIANTS.get(variant, {}).items()) + [s.split("=", 1) for s in args.set]:
        overrides += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    cmd = [
        sys.executable,
        "-m",
        "spacy",
        "train",
        str(REPO / "configs" / f"{config}.cfg"),
        "--output",
        str(out),
        "--paths.train",
        args.train,
        "--paths.dev",
        args.dev,
    ] + overrides
    t0 = time.time()
    with open(out / "train.log", "w") as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    train_s = time.time() - t0
    evaluate = [
        sys.executable,
        "-m",
        "spacy_bio_rel",
        "evaluate",
        str(out / "model-best"),
        args.dev,
        "--report",
        str(out / "scores.json"),
    ]
    if "e2e" in config:
        evaluate += ["--entities", "predicted"]
    subprocess.run(evaluate, check=True, stdout=subprocess.DEVNULL, env=env)
    scores = json.loads((out / "scores.json").read_text())
    result = {
        "config": config,
        "variant": variant,
        "train_seconds": train_s,
        "overrides": overrides,
        "scores": scores,
    }
    metrics.write_text(json.dumps(result, indent=2))
    print(f"done {config} {variant} in {train_s / 60:.1f} min", file=sys.stderr, flush=True)
    return result


def cell(scores, key):
    value = scores.get(key)
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", required=True, help="config names in configs/ (without .cfg)")
    ap.add_argument(
        "--variants", default="mtl_tag", help="comma-separated variants or 'ablation'; 'none' = as configured"
    )
    ap.add_argument("--train", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--set", action="append", default=[], help="extra override KEY=VALUE (repeatable)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    variants = ["none"] if args.variants == "none" else resolve(args.variants.split(","))
    jobs = [(c, v) for c in args.configs for v in variants]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda j: run(j, args), jobs))
    lines = [
        f"train {args.train}, dev {args.dev}, overrides {args.set}",
        "",
        "| config | variant | P | R | F1 | train min |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["scores"]
        keys = (
            ("rel_micro_p", "rel_micro_r", "rel_micro_f")
            if "rel_micro_f" in s
            else ("rel_e2e_micro_p", "rel_e2e_micro_r", "rel_e2e_micro_f")
        )
        lines.append(
            f"| {r['config']} | {TITLES.get(r['variant'], r['variant'])} | "
            + " | ".join(cell(s, k) for k in keys)
            + f" | {r['train_seconds'] / 60:.1f} |"
        )
    table = "\n".join(lines)
    Path(args.output, "table.md").write_text(table + "\n")
    Path(args.output, "table.json").write_text(json.dumps(results, indent=2))
    print(table)


if __name__ == "__main__":
    main()
