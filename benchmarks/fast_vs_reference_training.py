"""Train the fast (shared-convolution) path and the per-pair reference path side by side.

Both start from the same weights and see the same batches in the same order
with the same optimiser; the script prints, per epoch, the largest difference
in the per-step losses, the largest parameter difference, and the dev micro
P/R/F1 of each path. The two paths compute the same mathematics, but float32
sums in a different order, so the weights drift apart by rounding; this shows
how far, and whether dev F1 is the same.

    python scripts/fast_vs_reference_training.py corpus/conll04/train.spacy corpus/conll04/dev.spacy \
        --epochs 3 --dropout 0 --json results/fast_vs_reference.json
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import build, load_examples  # noqa: E402

from spacy_bio_rel.ml.architectures import torch_module  # noqa: E402
from spacy_bio_rel.training.batchers import configure_batch_by_pairs  # noqa: E402
from spacy_bio_rel.training.optimizers import configure_rmsprop  # noqa: E402

PIPE = "relation_extractor"


def build_path(lang, examples, seed, dropout, fast):
    nlp = build(lang, examples, seed, -1, model={"dropout": dropout})
    torch_module(nlp.get_pipe(PIPE).model).shared_convolution = fast
    return nlp


def max_param_diff(a, b) -> float:
    pa = dict(torch_module(a.get_pipe(PIPE).model).named_parameters())
    pb = dict(torch_module(b.get_pipe(PIPE).model).named_parameters())
    return max(float((pa[k] - pb[k]).detach().abs().max()) for k in pa)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train", type=Path)
    ap.add_argument("dev", type=Path)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.0, help="model dropout (0: no random masks)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    train = load_examples(args.train, args.lang)
    dev = load_examples(args.dev, args.lang)
    nlps = {
        "fast": build_path(args.lang, train, args.seed, args.dropout, True),
        "reference": build_path(args.lang, train, args.seed, args.dropout, False),
    }
    ref = torch_module(nlps["reference"].get_pipe(PIPE).model)
    ref.load_state_dict(torch_module(nlps["fast"].get_pipe(PIPE).model).state_dict())  # the same start
    opts = {k: configure_rmsprop(learn_rate=0.001) for k in nlps}
    print(
        f"{args.train} -> {args.dev}; seed {args.seed}, dropout {args.dropout}; "
        f"initial max parameter difference {max_param_diff(nlps['fast'], nlps['reference']):.2e}",
        flush=True,
    )
    batcher = configure_batch_by_pairs(size=256, directed=True)
    rows = []
    for epoch in range(1, args.epochs + 1):
        batches = list(batcher(train))
        random.Random(args.seed + epoch).shuffle(batches)
        loss_diff, rel_diff, secs = 0.0, 0.0, {k: 0.0 for k in nlps}
        for step, batch in enumerate(batches):
            losses = {}
            for k, nlp in nlps.items():
                torch.manual_seed(
                    args.seed * 1_000_000 + epoch * 10_000 + step
                )  # the same dropout masks for both paths
                t0 = time.perf_counter()
                losses[k] = nlp.get_pipe(PIPE).update(batch, sgd=opts[k])[PIPE]
                secs[k] += time.perf_counter() - t0
            d = abs(losses["fast"] - losses["reference"])
            loss_diff = max(loss_diff, d)
            rel_diff = max(rel_diff, d / max(abs(losses["reference"]), 1e-9))
        scores = {k: nlp.evaluate(dev) for k, nlp in nlps.items()}
        row = {
            "epoch": epoch,
            "steps": len(batches),
            "max_step_loss_diff": loss_diff,
            "max_step_loss_rel_diff": rel_diff,
            "max_param_diff": max_param_diff(nlps["fast"], nlps["reference"]),
            "train_seconds": secs,
            "dev": {k: {m: s[f"rel_micro_{m}"] for m in "prf"} for k, s in scores.items()},
        }
        rows.append(row)
        f, r = row["dev"]["fast"], row["dev"]["reference"]
        print(
            f"epoch {epoch}: {len(batches)} steps; max step-loss diff {loss_diff:.3g} (relative {rel_diff:.2e}); "
            f"max parameter diff {row['max_param_diff']:.2e}; dev F1 fast {100 * f['f']:.2f} "
            f"(P {100 * f['p']:.2f} R {100 * f['r']:.2f}) reference {100 * r['f']:.2f} "
            f"(P {100 * r['p']:.2f} R {100 * r['r']:.2f}); train s fast {secs['fast']:.0f} "
            f"reference {secs['reference']:.0f}",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "epochs": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
