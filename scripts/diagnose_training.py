"""Train from a config and record per-epoch dev diagnostics (spacy_bio_rel.diagnose).

OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python scripts/diagnose_training.py configs/zh_charwise.cfg \
    --paths.train corpus/sanwen/train.spacy --paths.dev corpus/sanwen/dev.spacy \
    --epochs 6 --seed 0 --output training/sanwen_diag
Extra config overrides: --set training.optimizer.learn_rate=0.0005 (repeatable) or --section.key value.
"""
import argparse
import sys
from pathlib import Path

from spacy.cli._util import parse_config_overrides

import spacy_bio_rel  # noqa: F401  (registers the factory and functions)
from spacy_bio_rel.diagnose import diagnose


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", type=Path)
    ap.add_argument("--output", "-o", type=Path, required=True, help="folder for epoch_NNN.json, PNGs and models")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-train-docs", type=int, default=0, help="train (and initialize) on the first N docs only")
    ap.add_argument("--holdout-fraction", type=float, default=0.0,
                    help="keep the last share of the train Docs out of training (OUTPUT/data/holdout.spacy)")
    ap.add_argument("--set", dest="set_", action="append", default=[], help="config override KEY=VALUE")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--evaluate-only", type=Path, default=None, metavar="MODEL",
                    help="no training: the dev figures of a saved pipeline on --paths.dev (OUTPUT/eval.json)")
    args, rest = ap.parse_known_args(argv)
    extra = []
    for item in args.set_:
        if "=" not in item:
            ap.error(f"--set takes KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        extra += [f"--{key}", value]
    overrides = parse_config_overrides(rest + extra)
    if args.evaluate_only:
        from spacy_bio_rel.diagnose import evaluate_saved

        r = evaluate_saved(args.evaluate_only, Path(overrides["paths.dev"]), args.output)
        print(f"dev F1 {100 * r['micro']['f']:.2f} (P {100 * r['micro']['p']:.1f}, R {100 * r['micro']['r']:.1f}); "
              f"wrote {args.output / 'eval.json'}")
        return
    diagnose(args.config, args.output, epochs=args.epochs, seed=args.seed, overrides=overrides,
             max_train_docs=args.max_train_docs, holdout_fraction=args.holdout_fraction, plots=not args.no_plots)


if __name__ == "__main__":
    main(sys.argv[1:])
