"""Speed and memory of the relation_extractor: fast path vs per-pair reference.

For each corpus (a DocBin with gold entities and relations) it prints, for the
fast (shared sentence work) path and the reference path in the same run:
training pairs/s (forward + loss + backward + RMSprop step, batches of about
256 pairs as in the paper), prediction pairs/s and sentences/s, the ratio
fast/reference, and peak memory (process RSS, which includes the loaded
corpus; CUDA peak on a GPU). Figures are medians over ``--repeats`` runs.
With ``--spacy-train`` it also times one epoch of ``python -m spacy train``
end to end (featuriser and spaCy's loop included) with each path. With
``--stress`` it measures, in a fresh process per path, the peak resident
memory (``VmHWM``, Linux) before and after one training step on a 200-unit
sentence with 40 entities (1,560 ordered pairs).

    python scripts/benchmark.py --corpus conll04=corpus/conll04/train.spacy:en \
        --corpus sanwen=corpus/sanwen/train.spacy:zh --spacy-train --json results/bench.json

Run it on an otherwise idle machine: it measures wall-clock time.
"""

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example

import spacy_bio_rel  # noqa: F401
from spacy_bio_rel.candidates import sentence_bounds
from spacy_bio_rel.ml.architectures import torch_module
from spacy_bio_rel.relations import USER_DATA_KEY
from spacy_bio_rel.training.batchers import configure_batch_by_pairs
from spacy_bio_rel.training.optimizers import configure_rmsprop
from spacy_bio_rel.training.readers import docs_from_docbin

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"en": REPO / "configs" / "en_wordwise.cfg", "zh": REPO / "configs" / "zh_charwise.cfg"}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_examples(path: Path, lang: str) -> List[Example]:
    nlp = spacy.blank(lang)
    out = []
    for ref in docs_from_docbin(path, nlp.vocab):
        pred = ref.copy()
        pred.user_data.pop(USER_DATA_KEY, None)
        out.append(Example(pred, ref))
    return out


def build(lang: str, examples: List[Example], seed: int, gpu: int, model: Optional[Dict] = None):
    """An initialised pipeline of the shipped config with ordered pairs; ``model`` overrides model settings."""
    if gpu >= 0:
        spacy.require_gpu(gpu)
    config = spacy.util.load_config(CONFIGS[lang])
    config["components"]["relation_extractor"]["directed"] = True  # the protocol: ordered pairs
    config["components"]["relation_extractor"]["model"].update(model or {})
    spacy.util.fix_random_seed(seed)  # before building: the network's weights are drawn there
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize(lambda: examples)
    return nlp


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def train_throughput(nlp, batches: List[List[Example]], fast: bool) -> float:
    pipe = nlp.get_pipe("relation_extractor")
    torch_module(pipe.model).shared_convolution = fast
    opt = configure_rmsprop(learn_rate=0.001)
    pairs = 0
    sync()
    t0 = time.perf_counter()
    for batch in batches:
        pipe.update(batch, sgd=opt)
        pairs += pipe.training_input(batch).n_pairs
    sync()
    return pairs / (time.perf_counter() - t0)


def predict_throughput(nlp, docs, fast: bool):
    pipe = nlp.get_pipe("relation_extractor")
    torch_module(pipe.model).shared_convolution = fast
    sync()
    t0 = time.perf_counter()
    X, _ = pipe.predict(docs)
    sync()
    dt = time.perf_counter() - t0
    n_pairs = X.n_pairs
    n_sents = sum(len(sentence_bounds(d)) for d in docs)
    return n_pairs / dt, n_sents / dt


def spacy_train_epoch(lang: str, train: Path, dev: Path, fast: bool, gpu: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "spacy",
            "train",
            str(CONFIGS[lang]),
            "--output",
            tmp,
            "--paths.train",
            str(train),
            "--paths.dev",
            str(dev),
            "--vars.directed",
            "true",
            "--training.max_epochs",
            "1",
            "--training.eval_frequency",
            "1000000",
            "--components.relation_extractor.model.shared_convolution",
            "true" if fast else "false",
            "--gpu-id",
            str(gpu),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return time.perf_counter() - t0


def small_dev(examples: List[Example], path: Path, n: int = 50) -> None:
    db = DocBin(store_user_data=True)
    for eg in examples[:n]:
        db.add(eg.reference)
    db.to_disk(path)


def bench_corpus(name: str, path: Path, lang: str, args) -> Dict:
    examples = load_examples(path, lang)
    nlp = build(lang, examples, args.seed, args.gpu)
    pipe = nlp.get_pipe("relation_extractor")
    batcher = configure_batch_by_pairs(size=256, directed=True)
    rng = random.Random(args.seed)
    batches = list(batcher(examples))
    rng.shuffle(batches)
    batches = batches[: args.train_batches]
    pred_docs = [eg.predicted for eg in examples[: args.predict_docs]]
    n_cands = sum(len(pipe.candidates(eg.predicted)) for eg in examples)
    res = {
        "corpus": name,
        "path": str(path),
        "docs": len(examples),
        "candidates_after_filter": n_cands,
        "train_batches_timed": len(batches),
        "predict_docs": len(pred_docs),
    }
    for label, fast in (("fast", True), ("reference", False)):
        tr, pp, ps = [], [], []
        for _ in range(args.repeats):
            tr.append(train_throughput(nlp, batches, fast))
            a, b = predict_throughput(nlp, pred_docs, fast)
            pp.append(a)
            ps.append(b)
            print(
                f"  {name} {label}: train {tr[-1]:.0f} pairs/s, predict {pp[-1]:.0f} pairs/s {ps[-1]:.0f} sents/s",
                file=sys.stderr,
                flush=True,
            )
        res[label] = {
            "train_pairs_per_s": statistics.median(tr),
            "predict_pairs_per_s": statistics.median(pp),
            "predict_sents_per_s": statistics.median(ps),
            "runs": len(tr),
        }
    res["ratio_train"] = res["fast"]["train_pairs_per_s"] / res["reference"]["train_pairs_per_s"]
    res["ratio_predict"] = res["fast"]["predict_pairs_per_s"] / res["reference"]["predict_pairs_per_s"]
    res["peak_rss_mb"] = peak_rss_mb()
    if torch.cuda.is_available() and args.gpu >= 0:
        res["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if args.spacy_train:
        with tempfile.TemporaryDirectory() as tmp:
            dev = Path(tmp) / "dev.spacy"
            small_dev(examples, dev)
            res["spacy_train_epoch_s"] = {
                label: spacy_train_epoch(lang, path, dev, fast, args.gpu)
                for label, fast in (("fast", True), ("reference", False))
                if fast or not args.skip_reference_epoch
            }
    return res


def stress_memory(args) -> Dict:
    """Peak memory of one training step on a 200-unit sentence with 40 entities (1,560 pairs)."""
    nlp = spacy.blank("en")
    from spacy.tokens import Doc, Span

    from spacy_bio_rel import set_relations

    words = [f"w{i % 50}" for i in range(200)]
    doc = Doc(nlp.vocab, words=words)
    ents = [Span(doc, i * 5, i * 5 + 2, label="E%d" % (i % 3)) for i in range(40)]
    doc.ents = ents
    set_relations(doc, [(ents[i], ents[i + 1], "R") for i in range(0, 39, 2)])
    pred = doc.copy()
    pred.user_data.clear()
    eg = Example(pred, doc)
    config = spacy.util.load_config(CONFIGS["en"])
    config["components"]["relation_extractor"]["directed"] = True
    config["components"]["relation_extractor"]["model"]["min_freq"] = 1
    out = {}
    for fast in (True, False):
        code = (
            "import spacy,spacy_bio_rel,sys,pickle;from spacy_bio_rel.ml.architectures import torch_module;"
            "from spacy_bio_rel.training.optimizers import configure_rmsprop;"
            "hwm=lambda:[float(l.split()[1])/1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0];"
            "nlp,eg,fast=pickle.load(sys.stdin.buffer);p=nlp.get_pipe('relation_extractor');"
            "torch_module(p.model).shared_convolution=fast;a=hwm();p.update([eg],sgd=configure_rmsprop());"
            "print(a,hwm())"
        )
        nlp2 = spacy.util.load_model_from_config(config, auto_fill=True)
        nlp2.initialize(lambda: [eg])
        import pickle

        r = subprocess.run(
            [sys.executable, "-c", code],
            input=pickle.dumps((nlp2, eg, fast)),
            capture_output=True,
            check=True,
        )
        before, after = map(float, r.stdout.decode().strip().splitlines()[-1].split())
        out["fast" if fast else "reference"] = {
            "peak_rss_mb": after,
            "before_step_mb": before,
            "step_increase_mb": after - before,
        }
    return {
        "stress": "1 sentence, 200 units, 40 entities, 1560 ordered pairs, max_pairs_per_step=1024; "
        "peak resident memory (VmHWM) of a fresh process before and after one training step",
        **out,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", action="append", default=[], help="NAME=PATH.spacy:LANG (LANG en or zh)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--train-batches", type=int, default=30, help="batches of ~256 pairs timed per run")
    ap.add_argument("--predict-docs", type=int, default=1000)
    ap.add_argument("--spacy-train", action="store_true", help="also time one spacy train epoch per path")
    ap.add_argument("--skip-reference-epoch", action="store_true")
    ap.add_argument("--stress", action="store_true", help="peak memory on a long, entity-dense sentence")
    ap.add_argument("--gpu", type=int, default=-1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "spacy": spacy.__version__,
        "cpu_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "device": torch.cuda.get_device_name(args.gpu) if args.gpu >= 0 else "cpu",
    }
    results = {"info": info, "corpora": []}
    for spec in args.corpus:
        name, rest = spec.split("=", 1)
        path, lang = rest.rsplit(":", 1)
        print(f"== {name}", file=sys.stderr, flush=True)
        results["corpora"].append(bench_corpus(name, Path(path), lang, args))
    if args.stress:
        results["stress"] = stress_memory(args)
    print(json.dumps(results, indent=2))
    for r in results["corpora"]:
        f, ref = r["fast"], r["reference"]
        print(
            f"{r['corpus']}: train {f['train_pairs_per_s']:.0f} vs {ref['train_pairs_per_s']:.0f} pairs/s "
            f"(x{r['ratio_train']:.1f}); predict {f['predict_pairs_per_s']:.0f} vs {ref['predict_pairs_per_s']:.0f} "
            f"pairs/s (x{r['ratio_predict']:.1f}), {f['predict_sents_per_s']:.0f} vs {ref['predict_sents_per_s']:.0f} "
            f"sents/s; peak RSS {r['peak_rss_mb']:.0f} MB; epoch {r.get('spacy_train_epoch_s')}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
