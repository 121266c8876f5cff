"""How far thresholds alone can take cross-sentence relations: θ per label against θ per label and part.

A pipeline trained with ``sentence_window`` of 2 or more scores in-sentence and cross-sentence
candidates with the same network. Cross-sentence pairs are far rarer positives (SanWen: about 1:63
against 1:31 in-sentence), so a θ shared with the in-sentence pairs may sit in the wrong place for
them. This script scores every candidate of HELD and DEV once (gold entities, no threshold), then
prints dev micro P/R/F1 of the in-sentence, cross-sentence and all relations for:

- ``theta_1``: θ = 1 for every label;
- ``global_held``, ``per_label_held``: one θ, and one θ per label, chosen on HELD as
  ``calibrate`` / ``calibrate --per-label`` choose them;
- ``per_label_and_part_held``: one θ per (label, in- or cross-sentence), chosen on HELD by the same
  coordinate ascent over twice the labels;
- ``per_label_and_part_oracle_dev``: the same chosen on DEV itself. It is optimistic by
  construction: an upper bound on what any per-label, per-part threshold can reach on DEV.

A part is read as :mod:`spacy_bio_rel.scoring.distance` reads it: the sentences of the reference Doc
(0 boundaries apart: in-sentence). HELD must not be DEV (a train fold held out from training).

    python benchmarks/thresholds_by_distance.py MODEL HELD.spacy DEV.spacy --json OUT.json
"""

import argparse
import json
from pathlib import Path

import numpy

from spacy_bio_rel.scoring.calibrate import (
    Scored,
    best_global_threshold,
    best_label_thresholds,
    collect,
    load_examples,
    load_pipeline,
)
from spacy_bio_rel.scoring.counts import prf
from spacy_bio_rel.scoring.distance import SentenceOf
from spacy_bio_rel.util import relation_component

PARTS = ("in", "cross")


def by_part(scored: Scored, examples):
    """``scored`` with one group per (label, part), the part of each candidate and of each gold key."""
    sentence_of = [SentenceOf(eg.reference) for eg in examples]

    def part(key) -> int:  # key: (doc index, head chars, tail chars, label)
        return int(sentence_of[key[0]].distance(key[1], key[2]) > 0)

    parts = numpy.asarray([part(k) for k in scored.keys], dtype="int64")
    gold = sorted(scored.gold)
    gold_parts = numpy.asarray([part(k) for k in gold], dtype="int64")
    labels = [f"{label}|{p}" for label in scored.labels for p in PARTS]
    n_gold = {label: 0 for label in labels}
    for key, p in zip(gold, gold_parts):
        n_gold[f"{key[-1]}|{PARTS[p]}"] += 1
    group = 2 * scored.label + parts if len(parts) else scored.label
    split = Scored(labels, scored.gold, scored.keys, group, scored.score, scored.correct, n_gold)
    return split, parts, gold_parts


def scores(scored: Scored, parts, gold_parts, theta_per_candidate) -> dict:
    keep = scored.score >= theta_per_candidate
    out = {}
    for name, mask, n_gold in (
        ("in_sentence", parts == 0, int((gold_parts == 0).sum())),
        ("cross_sentence", parts == 1, int((gold_parts == 1).sum())),
        ("all", parts >= 0, len(gold_parts)),
    ):
        tp, n_pred = int((keep & mask & scored.correct).sum()), int((keep & mask).sum())
        p, r, f = prf(tp, n_pred, n_gold)
        out[name] = {"p": p, "r": r, "f": f, "n_correct": tp, "n_pred": n_pred, "n_gold": n_gold}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("held", help="gold-entity DocBin the thresholds are chosen on (not dev)")
    parser.add_argument("dev")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    nlp = load_pipeline(args.model)
    component = relation_component(nlp)
    data = {}
    for name, path in (("held", args.held), ("dev", args.dev)):
        examples = load_examples(nlp, path, component)
        scored = collect(nlp, examples, component)
        data[name] = (scored,) + by_part(scored, examples)
        print(
            f"{name}: {len(examples)} docs, {len(scored.keys)} scored candidates, {scored.n_gold} gold relations"
        )
    held, held_split = data["held"][0], data["held"][1]
    dev, dev_split, parts, gold_parts = data["dev"]
    theta = best_global_threshold(held)
    per_label = numpy.asarray(best_label_thresholds(held, theta))
    per_part = numpy.asarray(best_label_thresholds(held_split, best_global_threshold(held_split)))
    oracle = numpy.asarray(best_label_thresholds(dev_split, best_global_threshold(dev_split)))
    rows = {
        "theta_1": scores(dev, parts, gold_parts, numpy.ones(len(dev.score))),
        "global_held": scores(dev, parts, gold_parts, numpy.full(len(dev.score), theta)),
        "per_label_held": scores(dev, parts, gold_parts, per_label[dev.label]),
        "per_label_and_part_held": scores(dev_split, parts, gold_parts, per_part[dev_split.label]),
        "per_label_and_part_oracle_dev": scores(dev_split, parts, gold_parts, oracle[dev_split.label]),
    }
    print(
        f"{'thresholds':<32}"
        + "".join(f"{p:>24}" for p in ("in-sentence P/R/F1", "cross P/R/F1", "all P/R/F1"))
    )
    for name, row in rows.items():
        cells = "".join(
            f"{'/'.join(f'{100 * row[p][k]:.1f}' for k in ('p', 'r', 'f')):>24}"
            for p in ("in_sentence", "cross_sentence", "all")
        )
        print(f"{name:<32}{cells}")
    if args.json:
        thresholds = dict(zip(held_split.labels, per_part.tolist()))
        args.json.write_text(
            json.dumps(
                {
                    "model": args.model,
                    "held": args.held,
                    "dev": args.dev,
                    "rows": rows,
                    "per_label_and_part_thresholds": thresholds,
                },
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
