"""Training diagnostics: what the relation model learns, epoch by epoch.

:func:`diagnose` trains a pipeline from a config the way ``spacy train``
does (``init_nlp`` on the config, its train corpus, batcher and optimizer,
``nlp.update`` per batch) and after every epoch records, on the dev corpus
(gold entities):

* per-label P/R/F1 with the protocol's key (:func:`.gold.relation_set`, as
  :mod:`.scorer`), and the scorer's micro figures as a cross-check;
* a confusion matrix over the candidate pairs that pass the type filter:
  gold label (``Other`` included) -> predicted label (``Other`` included);
* direction: for each gold positive (h, t, L), what is predicted on the
  reverse pair (t, h), and how often a missed positive was predicted with
  its label in the reverse order instead;
* the best class score ``max_c s_c`` of positive candidates per gold label,
  of negatives per argmax label and of "reverse" negatives, against θ
  (quantiles, share >= θ, histogram); and micro F1 at the best global θ on
  dev (an oracle, for diagnosis only);
* the epoch's training loss split into identification, L+, L- and
  cross-entropy per gold label (:func:`.losses.loss_terms`), and the L1 norm
  of each term's gradient on the network outputs summed per gold label
  (:func:`.losses.loss_term_gradients`: who pulls on the scores how hard).

Each epoch is written to ``OUTPUT/epoch_NNN.json``, all of them to
``OUTPUT/diagnosis.json`` and plots to ``OUTPUT/*.png``;
``OUTPUT/model-last`` and ``OUTPUT/model-best`` (by dev micro F1) are the
pipelines.
"""
import json
import math
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy
import torch
from spacy.training import Example
from spacy.util import fix_random_seed

from .candidates import OTHER
from .gold import relation_set
from .losses import TERMS, loss_term_gradients, loss_terms
from .scorer import _prf, score_relations

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HIST_EDGES = [x / 2 for x in range(-24, 25)]  # -12 .. 12 in steps of 0.5
LOSS_TERMS = TERMS  # the keys of losses.loss_terms


def relation_pipe_name(nlp) -> str:
    for name, pipe in nlp.pipeline:
        if type(pipe).__name__ == "RelationExtractor":
            return name
    raise ValueError(f"the pipeline has no relation_extractor (pipes: {nlp.pipe_names})")


# -- training-loss bookkeeping -------------------------------------------------------
class LossRecorder:
    """Wraps ``pipe.get_loss`` to sum the loss terms per gold label (the pipe is unchanged otherwise)."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.original = pipe.get_loss
        self.reset()
        pipe.get_loss = self._get_loss

    def reset(self) -> None:
        self.sums: Dict[str, Dict[str, float]] = defaultdict(lambda: dict.fromkeys(LOSS_TERMS, 0.0))
        self.grad_sums: Dict[str, Dict[str, float]] = defaultdict(lambda: dict.fromkeys(LOSS_TERMS, 0.0))
        self.counts: Counter = Counter()

    def _get_loss(self, examples, scores):
        examples = list(examples)
        loss, grads = self.original(examples, scores)
        X, out = scores
        gold = self.pipe._gold(examples, X.cands)
        ops = self.pipe.model.ops
        classes = torch.as_tensor(ops.to_numpy(out.classes))
        ident = torch.as_tensor(ops.to_numpy(out.ident))
        gold_t = torch.as_tensor(gold, dtype=torch.long)
        terms = loss_terms(classes, ident, gold_t, self.pipe._loss_settings())
        grad_terms = loss_term_gradients(classes, ident, gold_t, self.pipe._loss_settings())
        names = list(self.pipe.labels) + [OTHER]
        for g in numpy.unique(gold):
            mask = gold == g
            label = names[int(g)]
            self.counts[label] += int(mask.sum())
            for k in LOSS_TERMS:
                self.sums[label][k] += float(terms[k][mask].sum())
                self.grad_sums[label][k] += float(grad_terms[k][mask].sum())
        return loss, grads

    def summary(self) -> Dict[str, Any]:
        s = self.pipe._loss_settings()
        per_label = {}
        for label, sums in sorted(self.sums.items()):
            n = self.counts[label]
            per_label[label] = {"n": n, "sum": dict(sums), "mean": {k: v / n if n else 0.0 for k, v in sums.items()},
                                "grad_l1_sum": dict(self.grad_sums[label])}
        total = {k: sum(v["sum"][k] for v in per_label.values()) for k in LOSS_TERMS}
        weighted = s.alpha * total["identification"] + s.beta * (
            total["ranking_pos"] + total["ranking_neg"] + total["cross_entropy"])
        return {"per_label": per_label, "total": total, "weighted_total": weighted, "alpha": s.alpha, "beta": s.beta}


# -- dev evaluation ---------------------------------------------------------------------
def _quantiles(values: Sequence[float], theta: float) -> Dict[str, Any]:
    a = numpy.asarray(values, dtype="float64")
    if len(a) == 0:
        return {"n": 0}
    hist, _ = numpy.histogram(numpy.clip(a, HIST_EDGES[0], HIST_EDGES[-1]), bins=HIST_EDGES)
    return {
        "n": int(len(a)),
        "quantiles": {str(q): float(numpy.quantile(a, q)) for q in QUANTILES},
        "mean": float(a.mean()),
        "share_ge_theta": float((a >= theta).mean()),
        "hist": hist.tolist(),
    }


def candidate_scores(nlp, examples: Sequence[Example], component: Optional[str] = None, batch_docs: int = 512):
    """Per candidate of the dev Docs (gold entities on ``eg.predicted``): Doc index, key
    ``(head_chars, tail_chars)``, gold class index, argmax class and its raw score.

    Returns ``(labels, rows)`` with rows a dict of numpy arrays and a list of keys.
    """
    pipe = nlp.get_pipe(component or relation_pipe_name(nlp))
    C = len(pipe.labels)
    doc_idx: List[int] = []
    keys: List[tuple] = []
    gold: List[int] = []
    best: List[int] = []
    top: List[float] = []
    for start in range(0, len(examples), batch_docs):
        part = examples[start : start + batch_docs]
        docs = [eg.predicted for eg in part]
        X, scores = pipe.predict(docs)
        g = pipe._gold(part, X.cands)
        gold.extend(g.tolist())
        for d, (cands, s) in enumerate(zip(X.cands, scores)):
            if len(cands) == 0:
                continue
            if pipe.cfg["classification_loss"] == "cross_entropy":
                b, conf = pipe.decode(s)
                t = conf
            else:
                b = s[:, :C].argmax(1)
                t = s[numpy.arange(len(s)), b]
            for c, bi, ti in zip(cands, b, t):
                doc_idx.append(start + d)
                keys.append((c.head_chars, c.tail_chars))
                best.append(int(bi))
                top.append(float(ti))
    return list(pipe.labels), {
        "doc": numpy.asarray(doc_idx, dtype="int64"), "gold": numpy.asarray(gold, dtype="int64"),
        "best": numpy.asarray(best, dtype="int64"), "top": numpy.asarray(top, dtype="float64"), "keys": keys,
    }


def evaluate_epoch(nlp, examples: Sequence[Example], component: Optional[str] = None) -> Dict[str, Any]:
    """All dev figures of one epoch (see the module docstring)."""
    name = component or relation_pipe_name(nlp)
    pipe = nlp.get_pipe(name)
    directed = bool(pipe.cfg["directed"])
    theta = float(pipe.cfg["threshold"])
    labels, rows = candidate_scores(nlp, examples, name)
    C = len(labels)
    names = labels + [OTHER]
    thetas = numpy.append(pipe.label_thresholds(), math.inf)
    if pipe.cfg["classification_loss"] == "cross_entropy":
        pred = rows["best"]
    else:
        pred = numpy.where(rows["top"] >= thetas[rows["best"]], rows["best"], C)

    # scores with the protocol's key: annotate the Docs as the pipeline would
    docs = [eg.predicted for eg in examples]
    for start in range(0, len(docs), 512):
        part = docs[start : start + 512]
        pipe.set_annotations(part, pipe.predict(part))
    scorer = score_relations(examples, directed=directed)
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    for eg in examples:
        g, p = relation_set(eg.reference, directed), relation_set(eg.predicted, directed)
        n_gold.update(k[2] for k in g)
        n_pred.update(k[2] for k in p)
        tp.update(k[2] for k in p if k in g)
    per_label = {}
    for label in labels:
        p_, r_, f_ = _prf(tp[label], n_pred[label], n_gold[label])
        per_label[label] = {"p": p_, "r": r_, "f": f_, "tp": tp[label], "n_pred": n_pred[label], "n_gold": n_gold[label]}
    mp, mr, mf = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))

    # confusion over candidates
    conf = numpy.zeros((C + 1, C + 1), dtype="int64")
    numpy.add.at(conf, (rows["gold"], pred), 1)
    conf_argmax = numpy.zeros((C + 1, C + 1), dtype="int64")  # θ ignored: the label the model ranks first
    numpy.add.at(conf_argmax, (rows["gold"], rows["best"]), 1)
    reachable = Counter(names[g] for g in rows["gold"] if g < C)

    # direction: what is predicted on the reverse pair of each gold positive
    where = {(int(d), k): i for i, (d, k) in enumerate(zip(rows["doc"], rows["keys"]))}
    direction: Dict[str, Counter] = {lab: Counter() for lab in labels}
    reverse_neg = numpy.zeros(len(pred), dtype=bool)
    for i in numpy.nonzero(rows["gold"] < C)[0]:
        lab = int(rows["gold"][i])
        d, (h, t) = int(rows["doc"][i]), rows["keys"][i]
        j = where.get((d, (t, h)))
        ok = pred[i] == lab
        if j is None:
            direction[names[lab]]["reverse_not_a_candidate"] += 1
            continue
        if rows["gold"][j] == C:
            reverse_neg[j] = True
        rev = int(pred[j])
        rev_kind = "same_label" if rev == lab else ("Other" if rev == C else "other_label")
        direction[names[lab]][f"{'hit' if ok else 'miss'}__reverse_{rev_kind}"] += 1
        if rows["gold"][j] != C:
            direction[names[lab]]["reverse_is_also_gold"] += 1
        # argmax on the reverse pair, whatever θ
        if int(rows["best"][j]) == lab:
            direction[names[lab]]["reverse_argmax_same_label"] += 1

    # score distributions
    top = rows["top"]
    pos_scores = {names[c]: _quantiles(top[rows["gold"] == c], theta) for c in range(C)}
    pos_argmax_right = {names[c]: float((rows["best"][rows["gold"] == c] == c).mean()) if (rows["gold"] == c).any()
                        else 0.0 for c in range(C)}
    neg = rows["gold"] == C
    neg_scores = {"all": _quantiles(top[neg], theta), "reverse_of_a_positive": _quantiles(top[neg & reverse_neg], theta)}
    for c in range(C):
        neg_scores[f"argmax={names[c]}"] = _quantiles(top[neg & (rows["best"] == c)], theta)

    # oracle global θ on this data (diagnosis only): candidate-level counts
    n_gold_total = sum(n_gold.values())
    order = numpy.argsort(-top, kind="stable")
    correct = (rows["best"][order] == rows["gold"][order]) & (rows["gold"][order] < C)
    cum_tp = numpy.cumsum(correct)
    n = numpy.arange(1, len(order) + 1)
    f_curve = 2 * cum_tp / (n + n_gold_total) if len(order) else numpy.zeros(0)
    k = int(f_curve.argmax()) if len(order) else 0
    oracle = {"theta": float(top[order][k]) if len(order) else theta, "f": float(f_curve[k]) if len(order) else 0.0,
              "p": float(cum_tp[k] / n[k]) if len(order) else 0.0,
              "r": float(cum_tp[k] / n_gold_total) if len(order) and n_gold_total else 0.0}

    oracle_per_label = _oracle_per_label(labels, rows, n_gold) if pipe.cfg["classification_loss"] != "cross_entropy" else None

    return {
        "theta": theta,
        "oracle_per_label_theta": oracle_per_label,
        "micro": {"p": mp, "r": mr, "f": mf, "tp": sum(tp.values()), "n_pred": sum(n_pred.values()),
                  "n_gold": n_gold_total},
        "scorer_micro": {"p": scorer["rel_micro_p"], "r": scorer["rel_micro_r"], "f": scorer["rel_micro_f"]},
        "per_label": per_label,
        "labels_with_a_hit": sum(1 for v in per_label.values() if v["tp"] > 0),
        "confusion": {"labels": names, "matrix": conf.tolist()},
        "confusion_argmax": {"labels": names, "matrix": conf_argmax.tolist()},
        "gold_candidates": {lab: int(conf[i].sum()) for i, lab in enumerate(names)},
        "gold_unreachable": {lab: n_gold[lab] - reachable[lab] for lab in labels},
        "direction": {lab: dict(v) for lab, v in direction.items()},
        "score_hist_edges": HIST_EDGES,
        "scores_positive": pos_scores,
        "positive_argmax_right": pos_argmax_right,
        "scores_negative": neg_scores,
        "oracle_global_theta": oracle,
    }


def _oracle_per_label(labels: List[str], rows: Dict[str, Any], n_gold: Counter) -> Dict[str, Any]:
    """Micro F1 with per-label θ chosen on these very candidates (:mod:`.calibrate`'s coordinate
    ascent): an optimistic bound of what per-label thresholds can do with this model."""
    from .calibrate import Scored, best_global_threshold, best_label_thresholds, evaluate_thresholds

    C = len(labels)
    correct = (rows["best"] == rows["gold"]) & (rows["gold"] < C)
    scored = Scored(labels, set(range(sum(n_gold.values()))), list(range(len(rows["top"]))), rows["best"],
                    rows["top"], correct, {lab: n_gold[lab] for lab in labels})
    ths = best_label_thresholds(scored, best_global_threshold(scored))
    res = evaluate_thresholds(scored, ths)
    return {"thresholds": dict(zip(labels, ths)), "micro": res["micro"],
            "per_label": {lab: res[lab] for lab in labels}}


# -- training -------------------------------------------------------------------------------
def load_for_training(config_path: Path, overrides: Dict[str, Any]):
    """``(nlp, train_corpus, dev_corpus, batcher, optimizer, T)`` as ``spacy train`` sets them up."""
    from spacy import util
    from spacy.schemas import ConfigSchemaTraining
    from spacy.training.initialize import init_nlp
    from spacy.util import registry, resolve_dot_names

    config = util.load_config(config_path, overrides=overrides, interpolate=False)
    nlp = init_nlp(config, use_gpu=-1)
    config = nlp.config.interpolate()
    T = registry.resolve(config["training"], schema=ConfigSchemaTraining)
    train_corpus, dev_corpus = resolve_dot_names(config, [T["train_corpus"], T["dev_corpus"]])
    return nlp, train_corpus, dev_corpus, T["batcher"], T["optimizer"], T


def split_holdout(train_path: Path, fraction: float, folder: Path) -> Path:
    """Write the first Docs of ``train_path`` to ``folder/train_part.spacy`` and the
    last ``fraction`` to ``folder/holdout.spacy``; return the first path."""
    from spacy.tokens import DocBin
    from spacy.vocab import Vocab

    from .readers import docs_from_docbin

    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction must be between 0 and 1, got {fraction}")
    docs = docs_from_docbin(train_path, Vocab())
    cut = len(docs) - max(1, int(round(fraction * len(docs))))
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train_part", docs[:cut]), ("holdout", docs[cut:])):
        db = DocBin(store_user_data=True)
        for d in part:
            db.add(d)
        db.to_disk(folder / f"{name}.spacy")
    return folder / "train_part.spacy"


def diagnose(config_path: Path, output: Path, *, epochs: int = 6, seed: int = 0, overrides: Optional[Dict] = None,
             max_train_docs: int = 0, holdout_fraction: float = 0.0, plots: bool = True,
             log: Callable[[str], None] = None) -> List[Dict[str, Any]]:
    """Train for ``epochs`` epochs and record the dev figures after each (see module docstring).

    ``holdout_fraction``: train on the first Docs of ``paths.train`` only,
    keeping the last share out of training (``OUTPUT/data/holdout.spacy``,
    e.g. to choose θ on with ``calibrate``).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    torch.set_num_threads(1)
    over = dict(overrides or {})
    over.setdefault("system.seed", seed)
    over.setdefault("training.seed", seed)
    if max_train_docs:
        over["corpora.train.limit"] = int(max_train_docs)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    if holdout_fraction:
        over["paths.train"] = str(split_holdout(Path(over["paths.train"]), holdout_fraction, output / "data"))
    fix_random_seed(seed)
    t0 = time.time()
    nlp, train_corpus, dev_corpus, batcher, optimizer, T = load_for_training(Path(config_path), over)
    name = relation_pipe_name(nlp)
    pipe = nlp.get_pipe(name)
    dev = list(dev_corpus(nlp))
    log(f"initialized in {time.time() - t0:.0f}s: labels {list(pipe.labels)}, {len(dev)} dev docs")
    recorder = LossRecorder(pipe)
    history: List[Dict[str, Any]] = []
    best_f = -1.0
    for epoch in range(1, epochs + 1):
        t0 = time.time()
        recorder.reset()
        losses: Dict[str, float] = {}
        n_docs = n_steps = 0
        for batch in batcher(train_corpus(nlp)):
            nlp.update(batch, sgd=optimizer, losses=losses, drop=T["dropout"])
            n_docs += len(batch)
            n_steps += 1
        train_s = time.time() - t0
        t1 = time.time()
        record = evaluate_epoch(nlp, dev, name)
        record.update({"epoch": epoch, "steps": n_steps, "train_docs": n_docs, "train_loss": losses.get(name, 0.0),
                       "loss_terms": recorder.summary(), "seconds_train": train_s, "seconds_dev": time.time() - t1})
        history.append(record)
        (output / f"epoch_{epoch:03d}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        m = record["micro"]
        log(f"epoch {epoch}: loss {record['train_loss']:.0f}  dev P {100 * m['p']:.1f} R {100 * m['r']:.1f} "
            f"F1 {100 * m['f']:.1f}  labels hit {record['labels_with_a_hit']}/{len(pipe.labels)}  "
            f"oracle θ {record['oracle_global_theta']['theta']:.2f} -> F1 {100 * record['oracle_global_theta']['f']:.1f}"
            f"  per-label θ (oracle) -> F1 {100 * (record['oracle_per_label_theta'] or {}).get('micro', {}).get('f', 0):.1f}"
            f"  ({train_s:.0f}s + {record['seconds_dev']:.0f}s)")
        log("   " + "  ".join(f"{lab} {100 * v['f']:.0f}({v['tp']}/{v['n_gold']})"
                              for lab, v in record["per_label"].items()))
        pipe.get_loss = recorder.original  # save without the wrapper
        try:
            nlp.to_disk(output / "model-last")
            if m["f"] > best_f:
                best_f = m["f"]
                nlp.to_disk(output / "model-best")
        finally:
            pipe.get_loss = recorder._get_loss
    pipe.get_loss = recorder.original
    summary = {"config": str(config_path), "overrides": {k: v for k, v in over.items()}, "seed": seed,
               "epochs": history}
    (output / "diagnosis.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    if plots:
        from .diagnose_plots import plot_all
        plot_all(history, output)
    return history


def evaluate_saved(model: Path, dev_path: Path, output: Path, epoch: int = 0) -> Dict[str, Any]:
    """:func:`evaluate_epoch` for a saved pipeline on a DocBin (gold entities); writes
    ``OUTPUT/eval.json`` and the confusion and score plots."""
    import spacy

    from .evaluate import gold_entity_examples
    from .pipeline_info import relation_component

    torch.set_num_threads(1)
    nlp = spacy.load(model)
    name = relation_component(nlp)
    record = evaluate_epoch(nlp, gold_entity_examples(nlp, dev_path, name), name)
    record["epoch"] = epoch
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "eval.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    from .diagnose_plots import plot_confusion, plot_scores

    plot_confusion(record, output / "eval_confusion.png")
    plot_confusion(record, output / "eval_confusion_argmax.png", key="confusion_argmax")
    plot_scores(record, output / "eval_scores.png")
    return record
