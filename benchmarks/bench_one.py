"""One measurement of the relation_extractor of whatever ``spacy_bio_rel`` is
importable (used by ``bench_commits.py`` with PYTHONPATH set to a checkout).

Builds the checkout's own ``configs/en_wordwise.cfg`` (or ``zh_charwise.cfg``)
with ordered pairs and seed 0, initialises it on the corpus, then times one
pass of ``pipe.update`` over the config's batches and one ``pipe.predict``
over all Docs. Prints one JSON line. Only public API common to all versions.
"""

import argparse
import json
import time
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example

import spacy_bio_rel

ROOT = Path(spacy_bio_rel.__file__).resolve().parents[1]
KEY = "spacy_bio_rel.relations"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    config = spacy.util.load_config(
        ROOT / "configs" / ("en_wordwise.cfg" if args.lang == "en" else "zh_charwise.cfg")
    )
    config["components"]["relation_extractor"]["directed"] = True
    config["training"]["batcher"]["directed"] = True
    spacy.util.fix_random_seed(0)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    refs = list(DocBin().from_disk(args.corpus).get_docs(nlp.vocab))
    examples = []
    for ref in refs:
        pred = ref.copy()
        pred.user_data.pop(KEY, None)
        examples.append(Example(pred, ref))
    optimizer = nlp.initialize(lambda: examples)
    batcher = spacy.util.registry.resolve({"b": config["training"]["batcher"]})["b"]
    batches = list(batcher(examples))
    pipe = nlp.get_pipe("relation_extractor")
    t0 = time.perf_counter()
    for batch in batches:
        pipe.update(batch, sgd=optimizer)
    train_s = time.perf_counter() - t0
    docs = [eg.predicted for eg in examples]
    t0 = time.perf_counter()
    pipe.predict(docs)
    predict_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "package": str(ROOT),
                "docs": len(docs),
                "batches": len(batches),
                "train_s": train_s,
                "predict_s": predict_s,
                "train_docs_per_s": len(docs) / train_s,
                "predict_docs_per_s": len(docs) / predict_s,
            }
        )
    )


if __name__ == "__main__":
    main()
