"""Fast vs reference path on real batches: loss and gradients from the same weights.

For the first ``--batches`` shuffled training batches (about 256 pairs) of a
corpus, computes the multi-task loss and every parameter gradient with both
network paths (model dropout 0) and prints the largest relative loss
difference, the largest absolute gradient difference, and that difference
relative to the parameter's largest gradient.

    python scripts/compare_paths_on_batches.py corpus/conll04/train.spacy en
"""

import argparse
import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchmark  # noqa: E402

from spacy_bio_rel.ml.architectures import BATCH_FIELDS, torch_module  # noqa: E402
from spacy_bio_rel.training.batchers import configure_batch_by_pairs  # noqa: E402
from spacy_bio_rel.training.losses import total_loss  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("lang", choices=["en", "zh"])
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    examples = benchmark.load_examples(args.corpus, args.lang)
    nlp = benchmark.build(args.lang, examples, args.seed, -1, model={"dropout": 0.0})
    pipe = nlp.get_pipe("relation_extractor")
    module = torch_module(pipe.model)
    featurize = pipe.model.get_ref("featurize")
    settings = pipe._loss_settings()  # the component's own loss settings
    batches = list(configure_batch_by_pairs(size=256, directed=True)(examples))
    random.Random(args.seed).shuffle(batches)
    loss_rel = grad_abs = grad_rel = 0.0
    for batch in batches[: args.batches]:
        rel_input = pipe.training_input(batch)
        X = featurize.predict(rel_input)
        inputs = [torch.from_numpy(getattr(X, f)) for f in BATCH_FIELDS]
        gold = torch.from_numpy(pipe._gold(batch, rel_input.cands))
        out = []
        for fast in (True, False):
            module.zero_grad()
            loss = total_loss(*module(*inputs, shared_convolution=fast), gold, settings)
            loss.backward()
            out.append(
                (loss.item(), {n: p.grad.clone() for n, p in module.named_parameters() if p.grad is not None})
            )
        (l_fast, g_fast), (l_ref, g_ref) = out
        loss_rel = max(loss_rel, abs(l_fast - l_ref) / max(abs(l_ref), 1e-12))
        for name, g in g_ref.items():
            diff = (g_fast[name] - g).abs().max().item()
            grad_abs = max(grad_abs, diff)
            grad_rel = max(grad_rel, diff / max(g.abs().max().item(), 1e-12))
    print(
        f"{args.corpus}: {min(args.batches, len(batches))} batches, seed {args.seed}: "
        f"max relative loss difference {loss_rel:.2e}; max absolute gradient difference {grad_abs:.2e}; "
        f"max difference / largest gradient of the parameter {grad_rel:.2e}"
    )


if __name__ == "__main__":
    main()
