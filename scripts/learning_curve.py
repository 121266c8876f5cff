"""Dev F1 against training-set size: the first N Docs of a train DocBin, one
``spacy train`` per (config, N) (model-best by dev, via scripts/train_table.py),
then model-best and model-last described on dev (P/R/F1, predicted relations,
distinct labels predicted, degenerate or not, unknown-unit rate), the steps
the run made and the step model-best comes from. Runs one training at a time;
finished runs are skipped on a rerun. Writes ``NAME.json``, ``NAME.md`` and
``NAME.png`` (``--name``) under ``--report`` and the runs under ``--output``.

    OMP_NUM_THREADS=1 python scripts/learning_curve.py --configs en_wordwise en_tok2vec \\
        --sizes 50 100 200 400 0 --train corpus/conll04/train.spacy --dev corpus/conll04/dev.spacy \\
        --output results/learning_curve/before --report docs/results --name learning_curve_before \\
        --set vars.directed=true
    # then one table and plot of several reports (series named with --label CONFIG+eval10 when made):
    python scripts/learning_curve.py --combine learning_curve_before learning_curve_after --name learning_curve \
        --configs - --train corpus/conll04/train.spacy --dev corpus/conll04/dev.spacy --output - --report docs/results
"""
import argparse
import json
import sys
from argparse import Namespace
from pathlib import Path

import spacy
from spacy.util import load_config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))
import train_table  # noqa: E402
from spacy_bio_rel.experiments.learning_curve import (  # noqa: E402
    best_step, degeneracy, describe_predictions, eval_rows, steps_per_epoch, total_steps, write_subset)
from spacy_bio_rel.readers import create_gold_ents_corpus, read_docbin_docs  # noqa: E402
from spacy_bio_rel.relations import get_relations  # noqa: E402


def overrides_of(sets):
    out = {}
    for s in sets:
        key, value = s.split("=", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
        out[key] = value
    return out


def run_one(config, n, subset, args):
    out = Path(args.output) / f"n{n}"
    result = train_table.run((config, "none"), Namespace(output=str(out), set=args.set, train=str(subset),
                                                         dev=args.select_dev or args.dev, threads=args.threads))
    run_dir = out / f"{config}__none"
    summary = run_dir / "curve_point.json"
    if summary.exists():
        return json.loads(summary.read_text())
    cfg = load_config(REPO / "configs" / f"{config}.cfg", overrides=overrides_of(args.set), interpolate=True)
    training, batcher = cfg["training"], cfg["training"]["batcher"]
    nlp = spacy.blank(cfg["nlp"]["lang"])
    examples = create_gold_ents_corpus(Path(subset), directed=batcher["directed"])(nlp)
    per_epoch = steps_per_epoch(examples, batcher["size"], batcher["tolerance"], batcher["directed"])
    rows = eval_rows((run_dir / "train.log").read_text())
    point = {
        "config": config, "size": n, "overrides": args.set, "select_dev": args.select_dev or args.dev,
        "train_seconds": result["train_seconds"],
        "steps_per_epoch": per_epoch, "max_epochs": training["max_epochs"], "max_steps": training["max_steps"],
        "eval_frequency": training["eval_frequency"],
        "steps": total_steps(per_epoch, training["max_epochs"], training["max_steps"]),
        "evaluations": rows, "best_step": best_step(rows),
        "best": describe_predictions(spacy.load(run_dir / "model-best"), args.dev),
        "last": describe_predictions(spacy.load(run_dir / "model-last"), args.dev),
    }
    summary.write_text(json.dumps(point, indent=2))
    print(f"{config} n={n}: F1 {100 * point['best']['f']:.1f} best step {point['best_step']} "
          f"degenerate {point['best']['degenerate']}", file=sys.stderr, flush=True)
    return point


def table(points, title):
    lines = [title, "",
             "| config (settings) | train docs | steps (per epoch) | eval every | best step | P | R | F1 | predicted / gold "
             "| labels predicted | degenerate | model-last F1 (degenerate) | dev unknown words |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        b, last = p["best"], p["last"]
        lines.append(
            f"| {p.get('label', p['config'])} | {p['docs']} | {p['steps']} ({p['steps_per_epoch']}) | {p['eval_frequency']} "
            f"| {p['best_step']}{' (untrained)' if p['best_step'] == 0 else ''} "
            f"| {100 * b['p']:.1f} | {100 * b['r']:.1f} | **{100 * b['f']:.1f}** | {b['n_pred']} / {b['n_gold']} "
            f"| {b['labels_predicted']} | {b['degenerate'] or 'no'} "
            f"| {100 * last['f']:.1f} ({last['degenerate'] or 'no'}) | {100 * b['unknown_unit_rate']:.0f}% |")
    return "\n".join(lines)


def plot(points, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for config in dict.fromkeys(p.get("label", p["config"]) for p in points):
        ps = sorted((p for p in points if p.get("label", p["config"]) == config), key=lambda p: p["docs"])
        ax.plot([p["docs"] for p in ps], [100 * p["best"]["f"] for p in ps], marker="o", label=config,
                linestyle="--" if "shipped" in config else "-")
        for p in ps:
            if p["best"]["degenerate"]:  # a red x
                ax.annotate("x", (p["docs"], 100 * p["best"]["f"]), color="red", ha="center", va="center",
                            fontsize=14)
    ax.set_xscale("log")
    sizes = sorted({p["docs"] for p in points})
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("training sentences (first N of CoNLL04 train)")
    ax.set_ylabel("dev micro F1 (model-best)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", required=True, help="config names in configs/ (without .cfg)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[50, 100, 200, 400, 0], help="0 = all")
    ap.add_argument("--train", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--output", required=True, help="runs and subsets")
    ap.add_argument("--report", required=True, help="folder for NAME.json/.md/.png")
    ap.add_argument("--name", default="learning_curve")
    ap.add_argument("--title", default="")
    ap.add_argument("--select-dev", default=None,
                    help="dev set that picks model-best (default --dev); the figures are on --dev")
    ap.add_argument("--set", action="append", default=[], help="extra override KEY=VALUE (repeatable)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--label", default="", help="series name in the table and plot (CONFIG = the config name)")
    ap.add_argument("--combine", nargs="+", default=[], help="only merge these reports (NAME.json in --report)")
    args = ap.parse_args()
    docs = read_docbin_docs(args.train, spacy.blank("en"))
    points = [p for name in args.combine for p in json.loads((Path(args.report) / f"{name}.json").read_text())]
    for n in [] if args.combine else args.sizes:
        subset = Path(args.output) / "subsets" / f"train_{n or 'all'}.spacy"
        n_docs = write_subset(docs, n, subset) if not subset.exists() else (n or len(docs))
        for config in args.configs:
            point = run_one(config, n, subset, args)
            point["docs"] = n_docs
            point["label"] = args.label.replace("CONFIG", config) if args.label else config
            points.append(point)
    gold_labels = len({r.label for d in read_docbin_docs(args.dev, spacy.blank("en")) for r in get_relations(d)})
    for point in points:  # the verdict again, in case its rule changed since the run
        for which in ("best", "last"):
            d = point[which]
            d["degenerate"] = degeneracy(d["label_counts"], d["n_gold"], gold_labels, d["candidates"])
    report = Path(args.report)
    report.mkdir(parents=True, exist_ok=True)
    title = args.title or f"train {args.train} (first N), dev {args.dev}, overrides {args.set}"
    (report / f"{args.name}.json").write_text(json.dumps(points, indent=2))
    md = table(points, title)
    (report / f"{args.name}.md").write_text(md + "\n")
    plot(points, report / f"{args.name}.png", title)
    print(md)


if __name__ == "__main__":
    main()
