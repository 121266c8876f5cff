"""θ chosen on one set of Docs, F1 measured on another (an honest figure for `calibrate`).

python scripts/calibrate_crosscheck.py MODEL CHOOSE.spacy EVAL.spacy [--output report.json]
python scripts/calibrate_crosscheck.py MODEL DEV.spacy --halves   # choose on one half of DEV, score the other, and back
Prints micro F1 (and per label) on the evaluation Docs at the model's θ, at the global θ and the per-label θ
chosen on the other Docs. Nothing is saved to the model.
"""
import argparse
import json
from pathlib import Path

import spacy

from spacy_bio_rel.calibrate import best_global_threshold, best_label_thresholds, collect, evaluate_thresholds
from spacy_bio_rel.evaluate import gold_entity_examples
from spacy_bio_rel.pipeline_info import relation_component


def choose_and_score(nlp, component, choose, evaluate):
    pipe = nlp.get_pipe(component)
    a, b = collect(nlp, choose, component), collect(nlp, evaluate, component)
    theta = best_global_threshold(a)
    per = best_label_thresholds(a, theta)
    C = len(a.labels)
    return {
        "theta": theta, "thresholds": dict(zip(a.labels, per)), "n_choose_docs": len(choose),
        "n_eval_docs": len(evaluate),
        "eval_at_model_theta": evaluate_thresholds(b, pipe.label_thresholds()),
        "eval_at_global_theta": evaluate_thresholds(b, [theta] * C),
        "eval_at_per_label_theta": evaluate_thresholds(b, per),
        "choose_at_global_theta": evaluate_thresholds(a, [theta] * C)["micro"],
        "choose_at_per_label_theta": evaluate_thresholds(a, per)["micro"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("choose", type=Path)
    ap.add_argument("evaluate", type=Path, nargs="?")
    ap.add_argument("--halves", action="store_true")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    nlp = spacy.load(args.model)
    component = relation_component(nlp)
    examples = gold_entity_examples(nlp, args.choose, component)
    runs = {}
    if args.halves:
        half = len(examples) // 2
        first, second = examples[:half], examples[half:]
        runs["choose_first_half_eval_second"] = choose_and_score(nlp, component, first, second)
        runs["choose_second_half_eval_first"] = choose_and_score(nlp, component, second, first)
    else:
        runs["choose_then_eval"] = choose_and_score(nlp, component, examples,
                                                    gold_entity_examples(nlp, args.evaluate, component))
    for name, r in runs.items():
        m0, g, p = (r[k]["micro"] for k in ("eval_at_model_theta", "eval_at_global_theta", "eval_at_per_label_theta"))
        print(f"{name}: θ {r['theta']:.3f}; eval F1 {100 * m0['f']:.2f} (model θ) -> {100 * g['f']:.2f} (global θ, "
              f"P {100 * g['p']:.1f} R {100 * g['r']:.1f}) -> {100 * p['f']:.2f} (per-label θ, P {100 * p['p']:.1f} "
              f"R {100 * p['r']:.1f}); on the choosing Docs {100 * r['choose_at_global_theta']['f']:.2f} / "
              f"{100 * r['choose_at_per_label_theta']['f']:.2f}")
        print("   per label (per-label θ): " + ", ".join(
            f"{lab} θ {r['thresholds'][lab]:.2f} F1 {100 * v['f']:.1f} ({v['tp']}/{v['n_gold']})"
            for lab, v in r["eval_at_per_label_theta"].items() if lab != "micro"))
    if args.output:
        args.output.write_text(json.dumps(runs, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
