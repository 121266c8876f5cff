"""Speed of a trained pipeline and of one training epoch (encoder configs).

Prediction: ``nlp.pipe`` over the Docs of a DocBin with their gold entities
(the gold-entity setting; an ``ner`` in the pipeline is disabled), batch size
64, one warm-up pass, then the median of ``--repeats`` passes, for each torch
thread count in ``--threads`` (0 = torch's default). Epoch: wall time of
``python -m spacy train CONFIG`` for one epoch without dev evaluation
(initialisation included, reported separately by spaCy's log).

    python scripts/bench_pipeline.py --model results/encoders_conll04/en_trf__mtl_tag/model-best \\
        --data corpus/conll04/dev.spacy --threads 1 0 --repeats 5 \\
        --epoch-config configs/en_trf.cfg --train corpus/conll04/train.spacy --json docs/results/bench_trf.json

Run it on an otherwise idle machine: it measures wall-clock time.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import spacy
import torch

import spacy_bio_rel  # noqa: F401
from spacy_bio_rel.candidates import sentence_bounds
from spacy_bio_rel.training.readers import create_gold_ents_corpus


def predict_speed(model: str, data: str, threads: int, repeats: int) -> dict:
    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    nlp = spacy.load(model)
    disabled = [name for name in ("ner",) if name in nlp.pipe_names]
    docs = [eg.predicted for eg in create_gold_ents_corpus(Path(data))(nlp)]
    n_sents = sum(len(sentence_bounds(d)) for d in docs)
    times = []
    with nlp.select_pipes(disable=disabled):
        for i in range(repeats + 1):
            batch = [d.copy() for d in docs]
            t0 = time.perf_counter()
            list(nlp.pipe(batch, batch_size=64))
            if i:  # the first pass warms up
                times.append(time.perf_counter() - t0)
    torch.set_num_threads(default)
    median = statistics.median(times)
    return {
        "threads": threads or default,
        "docs": len(docs),
        "sentences": n_sents,
        "seconds": times,
        "sentences_per_s": n_sents / median,
    }


def epoch_time(config: str, train: str, dev: str, overrides) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "spacy",
            "train",
            config,
            "--output",
            tmp,
            "--paths.train",
            train,
            "--paths.dev",
            dev,
            "--training.max_epochs",
            "1",
            "--training.eval_frequency",
            "1000000",
        ] + overrides
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epoch-config")
    ap.add_argument("--train")
    ap.add_argument("--epoch-repeats", type=int, default=1)
    ap.add_argument(
        "--set", nargs="*", default=[], help="spacy train overrides for the epoch, e.g. --vars.directed true"
    )
    ap.add_argument("--json")
    args = ap.parse_args()
    out = {"model": args.model, "data": args.data, "torch": torch.__version__, "predict": []}
    for threads in args.threads:
        r = predict_speed(args.model, args.data, threads, args.repeats)
        out["predict"].append(r)
        print(
            f"predict, {r['threads']} thread(s): {r['sentences_per_s']:.1f} sentences/s "
            f"({r['sentences']} sentences, median of {args.repeats})"
        )
    if args.epoch_config:
        times = [
            epoch_time(args.epoch_config, args.train, args.data, args.set) for _ in range(args.epoch_repeats)
        ]
        out["epoch_seconds"] = times
        print(
            f"one epoch of spacy train {args.epoch_config}: {statistics.median(times):.1f} s (median of {len(times)})"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
