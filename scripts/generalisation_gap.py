"""Where a trained relation model loses: training data against dev (issue 14).

python scripts/generalisation_gap.py MODEL TRAIN.spacy DEV.spacy [--train-docs 4400] [--output gap.json]

Runs :mod:`spacy_bio_rel.gap` on the first ``--train-docs`` Docs of TRAIN
(data the model was trained on) and on DEV, both with gold entities, and
prints its figures side by side (see that module's doc).
"""
import argparse
import json
import tempfile
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from spacy_bio_rel.evaluate import gold_entity_examples
from spacy_bio_rel.gap import score_candidates, summarise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("train", type=Path)
    ap.add_argument("dev", type=Path)
    ap.add_argument("--train-docs", type=int, default=4400, help="first N training Docs (the model saw them)")
    ap.add_argument("--output", type=Path, help="write the figures as JSON")
    a = ap.parse_args()
    nlp = spacy.load(a.model)
    docs = list(DocBin().from_disk(a.train).get_docs(nlp.vocab))[: a.train_docs]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "train_head.spacy"
        DocBin(docs=docs, store_user_data=True).to_disk(head)
        for name, path in ((f"train[:{len(docs)}]", head), ("dev", a.dev)):
            results[name] = summarise(score_candidates(nlp, gold_entity_examples(nlp, path)))
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    for name, r in results.items():
        print(f"== {name}: {r['n_candidates']} candidates, {r['n_gold']} gold relations")
        for t, m in r["class_score"].items():
            print(f"  class score >= {t:>5}: P {pct(m['p'])} R {pct(m['r'])} F1 {pct(m['f'])}")
        for t, m in r["identification"].items():
            print(f"  P(relation) >= {t:>4}: P {pct(m['p'])} R {pct(m['r'])} F1 {pct(m['f'])}")
        for k in ("class_score_oracle", "identification_oracle"):
            print(f"  {k}: F1 {pct(r[k]['f'])} at {r[k]['threshold']:.3f}")
        print(f"  argmax right on gold positives: {pct(r['argmax_right_on_positives'])}%")
        c = r["label_consistency"]
        print(f"  positives whose text+types also occur as a negative: {c['positives_also_negative']} of "
              f"{c['positives']} ({pct(c['share'])}%)")
    if a.output:
        a.output.write_text(json.dumps({"model": str(a.model), **results}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
