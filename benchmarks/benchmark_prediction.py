"""Prediction speed of a trained pipeline: this checkout, an older commit and
spaCy's tutorial relation component, side by side, idle and with a busy
neighbour; a profile; and the identical-predictions check.

Speed (``--old-src`` and ``--tutorial`` are optional)::

    git worktree add ../old f0e4156~1
    python scripts/benchmark_prediction.py speed --model MODEL --data corpus/conll04/dev.spacy \\
        --old-src ../old --tutorial --repeats 7 --json docs/results/benchmark_prediction.json

Each implementation runs in its own worker process (``PYTHONPATH`` picks the
checkout; the worker checks which package it imported), loaded once. For each
condition (1 or 2 torch threads; idle, or with a neighbour process spinning on
one core for the whole condition) every worker makes one warm-up pass, then
the workers take turns, ``--repeats`` passes each: ``nlp.pipe`` over fresh
copies of the Docs (gold entities), ``batch_size`` 64. Figures are medians of
sentences per second. The threads are torch's for the old commit and the
component's ``torch_threads`` for this checkout; the tutorial stand-in
(``scripts/tutorial_rel.py``) runs on Thinc's numpy ops, where they do not
apply. Run it on an otherwise idle machine: it measures wall-clock time.

Profile (this checkout, in process, one thread)::

    python scripts/benchmark_prediction.py profile --model MODEL --data corpus/conll04/dev.spacy

Where a batch's time goes: candidates, featurisation, the torch network,
setting the relations, and the rest (spaCy's loop, grouping, conversions).

Identical predictions (``--old-src`` required)::

    python scripts/benchmark_prediction.py compare --model MODEL --data corpus/conll04/dev.spacy --old-src ../old

The raw class scores of every candidate pair from both checkouts: the
largest absolute difference, and whether the relations set on the Docs are
the same.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONDITIONS = [("idle", 1), ("idle", 2), ("busy", 1), ("busy", 2)]


# -- worker (one per implementation) ------------------------------------------------------------
def load_docs(data: str, nlp):
    from spacy_bio_rel.training.readers import create_gold_ents_corpus

    return [eg.predicted for eg in create_gold_ents_corpus(Path(data))(nlp)]


def n_sentences(docs) -> int:
    from spacy_bio_rel.candidates import sentence_bounds

    return sum(len(sentence_bounds(d)) for d in docs)


def worker(args) -> None:
    import spacy
    import torch

    import spacy_bio_rel

    ours = spacy.load(args.model)
    docs = load_docs(args.data, ours)
    if args.worker == "tutorial":
        sys.path.insert(0, str(REPO / "scripts"))
        from tutorial_rel import tutorial_pipeline

        nlp = tutorial_pipeline(ours.lang, list(ours.get_pipe("relation_extractor").labels), docs)
        pipe = None
    else:
        nlp = ours
        pipe = nlp.get_pipe("relation_extractor")
    disabled = [n for n in nlp.pipe_names if n in ("ner", "entity_ruler")]
    package = str(Path(spacy_bio_rel.__file__).resolve().parents[1])
    print(
        json.dumps({"ready": True, "package": package, "sentences": n_sentences(docs), "docs": len(docs)}),
        flush=True,
    )
    for line in sys.stdin:
        cmd = json.loads(line)
        threads = int(cmd["threads"])
        torch.set_num_threads(threads)
        if pipe is not None and "torch_threads" in pipe.cfg:
            pipe.cfg["torch_threads"] = threads
        batch = [d.copy() for d in docs]
        with nlp.select_pipes(disable=disabled):
            t0 = time.perf_counter()
            for _ in nlp.pipe(batch, batch_size=args.batch_size):
                pass
            seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds}), flush=True)


class Worker:
    def __init__(self, name: str, kind: str, src: Path, args, extra_path: str = ""):
        self.name = name
        path = os.pathsep.join(p for p in (extra_path, str(src)) if p)
        env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")
        cmd = [
            sys.executable,
            __file__,
            "worker",
            "--worker",
            kind,
            "--model",
            args.model,
            "--data",
            args.data,
            "--batch-size",
            str(args.batch_size),
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.proc.stdout.readline())
        if Path(ready["package"]) != src.resolve():
            raise SystemExit(f"{name}: imported spacy_bio_rel from {ready['package']}, expected {src}")
        self.sentences = ready["sentences"]

    def run(self, threads: int) -> float:
        self.proc.stdin.write(json.dumps({"threads": threads}) + "\n")
        self.proc.stdin.flush()
        return self.sentences / json.loads(self.proc.stdout.readline())["seconds"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def speed(args) -> None:
    workers = [Worker("this checkout", "ours", REPO, args)]
    if args.old_src:
        workers.append(Worker(f"old ({args.old_src})", "ours", Path(args.old_src), args, args.old_path))
    if args.tutorial:
        workers.append(Worker("spaCy tutorial (stand-in)", "tutorial", REPO, args))
    results = {w.name: {} for w in workers}
    try:
        for load, threads in CONDITIONS:
            spinner = None
            if load == "busy":
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                for w in workers:
                    w.run(threads)  # warm-up
                runs = {w.name: [] for w in workers}
                for r in range(args.repeats):
                    order = workers[r % len(workers) :] + workers[: r % len(workers)]
                    for w in order:
                        runs[w.name].append(w.run(threads))
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
            key = f"{load}, {threads} thread{'s' if threads > 1 else ''}"
            for w in workers:
                results[w.name][key] = {"median": statistics.median(runs[w.name]), "runs": runs[w.name]}
            print(key, {n: round(results[n][key]["median"]) for n in results}, flush=True)
    finally:
        for w in workers:
            w.close()
    keys = [f"{c}, {t} thread{'s' if t > 1 else ''}" for c, t in CONDITIONS]
    print(f"\nsentences/s, median of {args.repeats} ({args.data}: {workers[0].sentences} sentences)")
    print("| implementation | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name in results:
        print(f"| {name} | " + " | ".join(f"{results[name][k]['median']:,.0f}" for k in keys) + " |")
    first = workers[0].name
    for other in list(results)[1:]:
        print(
            f"| ratio this / {other} | "
            + " | ".join(f"{results[first][k]['median'] / results[other][k]['median']:.2f}" for k in keys)
            + " |"
        )
    if args.json:
        out = {
            "model": args.model,
            "data": args.data,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "sentences": workers[0].sentences,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


# -- profile -------------------------------------------------------------------------------------
def profile(args) -> None:
    import spacy
    import torch

    from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN
    from spacy_bio_rel.ml.features import Featurizer
    from spacy_bio_rel.pipeline_component import RelationExtractor

    torch.set_num_threads(1)
    nlp = spacy.load(args.model)
    docs = load_docs(args.data, nlp)
    spent = {"candidates": 0.0, "featurisation": 0.0, "torch network": 0.0, "set relations": 0.0}

    def timed(cls, name, part):
        original = getattr(cls, name)

        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                spent[part] += time.perf_counter() - t0

        setattr(cls, name, wrapper)

    timed(RelationExtractor, "candidates", "candidates")
    timed(Featurizer, "__call__", "featurisation")
    timed(BioTagCNN, "forward", "torch network")
    timed(RelationExtractor, "set_annotations", "set relations")
    disabled = [n for n in nlp.pipe_names if n in ("ner", "entity_ruler")]
    with nlp.select_pipes(disable=disabled):
        list(nlp.pipe([d.copy() for d in docs], batch_size=args.batch_size))  # warm-up
        for k in spent:
            spent[k] = 0.0
        total = 0.0
        for _ in range(args.repeats):
            batch = [d.copy() for d in docs]
            t0 = time.perf_counter()
            list(nlp.pipe(batch, batch_size=args.batch_size))
            total += time.perf_counter() - t0
    batches = args.repeats * -(-len(docs) // args.batch_size)
    spent["rest (spaCy loop, grouping, conversions)"] = total - sum(spent.values())
    print(
        f"{len(docs)} Docs, {n_sentences(docs)} sentences, batch size {args.batch_size}, one thread, "
        f"{args.repeats} passes: {n_sentences(docs) * args.repeats / total:,.0f} sentences/s"
    )
    print("| part | ms per batch | share |\n|---|---|---|")
    for k, v in spent.items():
        print(f"| {k} | {1000 * v / batches:.2f} | {100 * v / total:.0f}% |")


# -- identical predictions ----------------------------------------------------------------------
def scores_worker(args) -> None:
    import numpy
    import spacy
    import torch

    import spacy_bio_rel
    from spacy_bio_rel.relations import get_relations

    torch.set_num_threads(1)
    nlp = spacy.load(args.model)
    pipe = nlp.get_pipe("relation_extractor")
    docs = load_docs(args.data, nlp)
    rows, rels = [], []
    for i in range(0, len(docs), args.batch_size):
        batch = docs[i : i + args.batch_size]
        X, scores = pipe.predict(batch)
        pipe.set_annotations(batch, (X, scores))
        for doc, s in zip(batch, scores):
            rows.append(numpy.asarray(s, dtype="float32"))
            rels.append(sorted((r.head.start_char, r.tail.start_char, r.label) for r in get_relations(doc)))
    numpy.savez(args.out, *rows)
    Path(args.out + ".relations.json").write_text(json.dumps(rels), encoding="utf-8")
    print(str(Path(spacy_bio_rel.__file__).resolve().parents[1]))


def compare(args) -> None:
    import tempfile

    import numpy

    with tempfile.TemporaryDirectory() as tmp:
        outs = {}
        for name, src in (("new", REPO), ("old", Path(args.old_src))):
            out = str(Path(tmp) / name)
            extra = args.old_path if name == "old" else ""
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (extra, str(src)) if p))
            cmd = [
                sys.executable,
                __file__,
                "scores",
                "--model",
                args.model,
                "--data",
                args.data,
                "--out",
                out,
                "--batch-size",
                str(args.batch_size),
            ]
            package = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip()
            assert Path(package.splitlines()[-1]) == src.resolve(), (package, src)
            with numpy.load(out + ".npz") as z:
                rows = [z[f"arr_{i}"] for i in range(len(z.files))]
            outs[name] = (rows, json.loads(Path(out + ".relations.json").read_text(encoding="utf-8")))
    (new_rows, new_rels), (old_rows, old_rels) = outs["new"], outs["old"]
    assert [r.shape for r in new_rows] == [r.shape for r in old_rows], "different candidates"
    pairs = sum(len(r) for r in new_rows)
    worst = max((float(numpy.abs(a - b).max()) for a, b in zip(new_rows, old_rows) if a.size), default=0.0)
    same = sum(a == b for a, b in zip(new_rels, old_rels))
    n_rels = sum(len(r) for r in new_rels)
    print(
        json.dumps(
            {
                "data": args.data,
                "docs": len(new_rows),
                "pairs": pairs,
                "max_abs_score_difference": worst,
                "docs_with_identical_relations": same,
                "relations": n_rels,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["speed", "profile", "compare", "worker", "scores"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--old-src", default=None, help="checkout of the commit to compare with")
    ap.add_argument(
        "--old-path",
        default="",
        help="folders put before --old-src on the old worker's PYTHONPATH (e.g. one with a sitecustomize.py "
        "that loads the old checkout's registrations when its modules differ from the installed entry points)",
    )
    ap.add_argument("--tutorial", action="store_true", help="include the tutorial stand-in")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", default=None)
    ap.add_argument("--worker", default="ours", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode in ("compare",) and not args.old_src:
        ap.error("compare needs --old-src")
    {"speed": speed, "profile": profile, "compare": compare, "worker": worker, "scores": scores_worker}[
        args.mode
    ](args)


if __name__ == "__main__":
    main()
