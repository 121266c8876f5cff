"""Training steps in float32 against bfloat16 mixed precision (``spacy-bio-rel.bfloat16.v1``).

Builds one pipeline per precision from the same config, seed and transformer, initialises both on the
same training Docs (each reads them into its own vocab), and times whole ``nlp.update`` steps (every component, the optimizer included) on
the same batches, the two precisions taking turns: ``--rounds`` rounds of ``--steps`` steps each.
Prints the median seconds a step of each and the ratio, measured in the same run.

    python benchmarks/benchmark_bf16_training.py --train train.spacy --transformer ENCODER \\
        --threads 1 2 --rounds 5 --steps 10 --output bench_bf16.json

The default config is ``configs/en_e2e_trf.cfg`` (ner + relation_extractor on a shared transformer);
``--freeze-embeddings`` keeps the word-piece embeddings fixed, as a multilingual encoder is trained
(docs/training.md). Run it on an otherwise idle machine; bfloat16 is fast only on a CPU with native
bfloat16 (AVX-512 BF16 or AMX), which the output states.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from spacy.util import fix_random_seed, load_config, load_model_from_config, registry

from spacy_bio_rel.ml.precision import native_bfloat16, use_bfloat16
from spacy_bio_rel.training.callbacks import freeze_weights

REPO = Path(__file__).resolve().parents[1]


def _pipeline(args, bf16: bool):
    config = load_config(
        args.config,
        overrides={"paths.transformer": args.transformer, "paths.train": str(args.train)},
        interpolate=True,
    )
    fix_random_seed(args.seed)
    nlp = load_model_from_config(config, auto_fill=True)
    reader = registry.resolve({"r": config["corpora"]["train"]})["r"]  # the config's own reader
    examples = list(reader(nlp))[: args.docs]
    nlp.initialize(lambda: examples)
    if args.freeze_embeddings:
        freeze_weights({"transformer": ["embeddings.word_embeddings"]})(nlp)
    if bf16:
        use_bfloat16(nlp, ["transformer"])
    optimizer = registry.resolve({"o": config["training"]["optimizer"]})["o"]
    return nlp, examples, optimizer


def _batches(examples, size):
    return [examples[i : i + size] for i in range(0, len(examples) - size + 1, size)]


def _time_steps(nlp, optimizer, batches, start, n) -> float:
    begin = time.perf_counter()
    for i in range(start, start + n):
        nlp.update(batches[i % len(batches)], sgd=optimizer, drop=0.1)
    return (time.perf_counter() - begin) / n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True, help="training DocBin (.spacy)")
    parser.add_argument("--transformer", required=True, help="Hugging Face name or folder")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "en_e2e_trf.cfg")
    parser.add_argument("--freeze-embeddings", action="store_true")
    parser.add_argument("--docs", type=int, default=400, help="first N training Docs")
    parser.add_argument(
        "--batch-docs", type=int, default=18, help="Docs a step (the config's batcher: about 18)"
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps a round, each precision")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps of each precision first")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    native = native_bfloat16("cpu")
    print(f"native bfloat16 on this CPU: {native}", flush=True)
    runs = {prec: _pipeline(args, prec == "bf16") for prec in ("fp32", "bf16")}
    batches = {prec: _batches(examples, args.batch_docs) for prec, (_, examples, _) in runs.items()}
    report = {
        "config": str(args.config),
        "transformer": args.transformer,
        "native_bf16": native,
        "threads": {},
    }
    for threads in args.threads:
        torch.set_num_threads(threads)
        for prec, (nlp, _, optimizer) in runs.items():
            _time_steps(nlp, optimizer, batches[prec], 0, args.warmup)
        seconds = {"fp32": [], "bf16": []}
        step = args.warmup
        for r in range(args.rounds):
            order = ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32")
            for prec in order:
                nlp, _, optimizer = runs[prec]
                seconds[prec].append(_time_steps(nlp, optimizer, batches[prec], step, args.steps))
            step += args.steps
        med = {prec: statistics.median(s) for prec, s in seconds.items()}
        ratio = med["fp32"] / med["bf16"]
        print(
            f"{threads} thread(s): s/step fp32 {med['fp32']:.3f}, bf16 {med['bf16']:.3f}; "
            f"bf16 is {ratio:.2f}x as fast (medians of {args.rounds} rounds of {args.steps} steps)",
            flush=True,
        )
        report["threads"][str(threads)] = {"seconds_per_step": seconds, "median": med, "speedup": ratio}
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
