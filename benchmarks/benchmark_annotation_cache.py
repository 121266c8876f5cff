"""A frozen encoder with and without its annotation cache: training time and scores.

Trains ``configs/zh_trf.cfg`` in the frozen-encoder mode (docs/encoders.md, "A frozen encoder") twice
on the same Docs, seed and schedule, ``cache = true`` and ``cache = false``, one after the other, then
scores both ``model-last`` pipelines on a dev file with ``evaluate``. Prints each run's wall time, the
ratio, and whether the two score reports agree (micro P/R/F1, per-label F1, predicted counts).

    python benchmarks/benchmark_annotation_cache.py --train TRAIN.spacy --dev DEV.spacy \\
        --encoder E5_FOLDER --docs 3000 --epochs 3 --output bench_cache.json

``--docs`` takes the first N Docs of ``--train``, ``--dev-docs`` the first N of ``--dev`` for the
in-training dev checks; the final scores read all of ``--dev``. Run it on an otherwise idle machine.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "zh_trf.cfg"
SANWEN_DOCS_PER_STEP = 46236 / 1752  # SanWen sentences per batch of the config's batcher


def _slice(src: Path, n: int, dest: Path) -> int:
    nlp = spacy.blank("zh")
    docs = list(DocBin().from_disk(src).get_docs(nlp.vocab))[:n]
    DocBin(store_user_data=True, docs=docs).to_disk(dest)
    return len(docs)


def _train(args, train: Path, dev: Path, out: Path, cache: bool) -> float:
    callback = json.dumps(
        {"@callbacks": "spacy-bio-rel.frozen_encoder.v1", "components": ["transformer"], "cache": cache}
    )
    cmd = [
        sys.executable, "-m", "spacy", "train", str(CONFIG), "--output", str(out),
        "--paths.train", str(train), "--paths.dev", str(dev), "--paths.transformer", args.encoder,
        "--components.relation_extractor.model.use_words", "true",
        "--training.frozen_components", '["transformer"]', "--training.annotating_components", '["transformer"]',
        "--initialize.after_init", callback, "--training.seed", str(args.seed),
        "--training.max_epochs", str(args.epochs), "--training.max_steps", "0",
        "--training.optimizer.learn_rate.total_steps", str(args.total_steps),
        "--training.eval_frequency", str(args.eval_frequency),
    ]  # fmt: skip
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if res.returncode != 0:
        sys.exit(f"spacy train (cache = {cache}) failed:\n{res.stderr[-3000:]}")
    print(f"cache = {str(cache).lower():5}  {seconds:8.1f} s", flush=True)
    return seconds


def _evaluate(model: Path, dev: Path, report: Path) -> dict:
    cmd = [sys.executable, "-m", "spacy_bio_rel", "evaluate", str(model), str(dev), "--report", str(report)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"evaluate {model} failed:\n{res.stderr[-3000:]}")
    return json.loads(report.read_text())


def _scores(report: dict) -> dict:
    return {
        "micro": [report[f"rel_micro_{k}"] for k in "prf"],
        "per_label_f": {label: v["f"] for label, v in sorted(report["rel_per_type"].items())},
        "n_pred": report["rel_n_pred"],
        "n_correct": report["rel_n_correct"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--dev", type=Path, required=True)
    parser.add_argument("--encoder", required=True, help="a Hugging Face folder or name")
    parser.add_argument("--docs", type=int, default=3000, help="the first N training Docs")
    parser.add_argument(
        "--dev-docs", type=int, default=400, help="the first N dev Docs for the in-training checks"
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-frequency", type=int, default=200)
    parser.add_argument("--output", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    if args.docs < 1 or args.epochs < 1:
        parser.error("--docs and --epochs must be positive")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_train = _slice(args.train, args.docs, tmp / "train.spacy")
        n_dev = _slice(args.dev, args.dev_docs, tmp / "dev_slice.spacy")
        # the schedule ends with the run (SanWen's sentences a batch); it is the same for both runs
        args.total_steps = max(round(args.epochs * n_train / SANWEN_DOCS_PER_STEP), 1)
        print(f"{n_train} training Docs, {args.epochs} epochs, seed {args.seed}; dev checks on {n_dev} Docs")
        times = {}
        for cache in (True, False):
            times[cache] = _train(
                args, tmp / "train.spacy", tmp / "dev_slice.spacy", tmp / f"c{cache}", cache
            )
        reports = {
            cache: _scores(_evaluate(tmp / f"c{cache}" / "model-last", args.dev, tmp / f"r{cache}.json"))
            for cache in (True, False)
        }
    same = reports[True] == reports[False]
    ratio = times[False] / times[True]
    print(f"without / with the cache: {ratio:.2f}x")
    print(
        f"dev ({args.dev.name}) micro P/R/F1 with: {reports[True]['micro']}, without: {reports[False]['micro']}"
    )
    print(f"score reports identical: {same}")
    if args.output:
        args.output.write_text(
            json.dumps(
                {
                    "config": "configs/zh_trf.cfg, frozen encoder (frozen_encoder.v1), use_words true",
                    "encoder": args.encoder,
                    "train_docs": n_train,
                    "epochs": args.epochs,
                    "seed": args.seed,
                    "seconds": {"cache": times[True], "no_cache": times[False]},
                    "ratio_without_over_with": ratio,
                    "dev": str(args.dev),
                    "scores": {"cache": reports[True], "no_cache": reports[False]},
                    "identical": same,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
