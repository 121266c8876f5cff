"""Where a trained relation model loses: its training data against dev (issue 14).

:func:`score_candidates` runs the network once over Docs with gold entities
and keeps, per candidate, the class scores, P(relation) from the
identification head and the gold label; :func:`summarise` turns that into

- micro P/R/F1 when the argmax label is kept if its class score is at least
  θ, for several θ (the config's θ first; that row equals the pipeline's own
  scorer), and the best θ on that data (oracle: a diagnosis, not a result);
- the same with the identification head as the detector (argmax label kept
  if P(relation) >= t), which the paper trains but does not use to predict;
- how often the argmax label of a gold positive is right (classification
  alone, detection aside);
- label consistency: how many gold positives share their exact (head text,
  tail text, head type, tail type) with a negative candidate of the same
  data, which no model of the pair's own text can get right both ways.

``scripts/generalisation_gap.py`` runs it on the first N training Docs and on
dev, side by side.
"""
import collections
from typing import Dict, List

import numpy
from spacy.language import Language
from spacy.training import Example

from .candidates import OTHER, RelInput
from .e2e_scorer import prf as _prf
from .gold import gold_labels, relation_index
from .ml.threads import torch_threads
from .pipeline_info import relation_component

THETAS = (1.0, 0.5, 0.0, -0.5, -1.0)
IDENT = (0.5, 0.4, 0.3, 0.2, 0.1)


def score_candidates(nlp: Language, examples: List[Example], batch: int = 256) -> Dict:
    """Class scores, P(relation) and gold label index of every candidate, plus
    the number of gold relations and the label consistency figures."""
    pipe = nlp.get_pipe(relation_component(nlp))
    labels = list(pipe.labels)
    classes, ident, gold = [], [], []
    groups = collections.defaultdict(collections.Counter)
    n_gold = 0
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        docs = [eg.predicted for eg in chunk]
        cands = [pipe.candidates(d) for d in docs]
        with torch_threads(pipe.cfg.get("torch_threads", 1)):  # as the component predicts
            Y = pipe.model.predict(RelInput(docs, [list(d.ents) for d in docs], cands))
        classes.append(numpy.asarray(Y.classes)[:, : len(labels)])
        ident.append(numpy.asarray(Y.ident))
        for eg, doc, cs in zip(chunk, docs, cands):
            index = relation_index(eg.reference)
            n_gold += len(index)
            for c, lab in zip(cs, gold_labels(index, cs, pipe.cfg["directed"])):
                gold.append(labels.index(lab) if lab != OTHER else len(labels))
                key = (doc[c.head[0] : c.head[1]].text, doc[c.tail[0] : c.tail[1]].text, c.head_label, c.tail_label)
                groups[key][lab] += 1
    z = numpy.concatenate(ident) if ident else numpy.zeros((0, 2))
    p_rel = numpy.exp(z[:, 1] - numpy.logaddexp(z[:, 0], z[:, 1])) if len(z) else numpy.zeros((0,))
    positives = sum(sum(v for lab, v in c.items() if lab != OTHER) for c in groups.values())
    mixed = sum(sum(v for lab, v in c.items() if lab != OTHER) for c in groups.values() if c[OTHER])
    return dict(classes=numpy.concatenate(classes), p_rel=p_rel, gold=numpy.asarray(gold), n_gold=n_gold,
                labels=labels, theta=float(pipe.cfg["threshold"]),
                consistency={"positives": positives, "positives_also_negative": mixed})


def prf(pred: numpy.ndarray, gold: numpy.ndarray, C: int, n_gold: int) -> Dict[str, float]:
    """Micro P/R/F1 of predicted label indices (C = Other) against gold ones."""
    tp = int(((pred == gold) & (pred < C)).sum())
    n_pred = int((pred < C).sum())
    p, r, f = _prf(tp, n_pred, n_gold)
    return {"p": p, "r": r, "f": f, "tp": tp, "n_pred": n_pred}


def best_cut(rule: numpy.ndarray, right: numpy.ndarray, positive: numpy.ndarray, n_gold: int):
    """(F1, threshold) of the best rule ``value >= threshold`` over every distinct
    value (exact): a candidate kept counts as predicted, and as correct if its
    argmax label is ``right`` on a ``positive``."""
    if len(rule) == 0 or n_gold == 0:
        return 0.0, 0.0
    order = numpy.argsort(-rule, kind="stable")
    values = rule[order]
    tp = numpy.cumsum((right & positive)[order])
    n_pred = numpy.arange(1, len(rule) + 1)
    last = numpy.r_[values[1:] != values[:-1], True]  # a cut can only fall after the last of equal values
    f = numpy.where(last, 2 * tp / (n_pred + n_gold), -1.0)
    k = int(f.argmax())
    return float(f[k]), float(values[k])


def summarise(s: Dict) -> Dict:
    """The figures of the module doc from :func:`score_candidates`'s output."""
    C, g, n = len(s["labels"]), s["gold"], s["n_gold"]
    S = s["classes"]
    best = S.argmax(1) if len(S) else numpy.zeros((0,), dtype=int)
    top = S.max(1) if len(S) else numpy.zeros((0,))
    thetas = [s["theta"]] + [t for t in THETAS if t != s["theta"]]
    out = {"n_candidates": int(len(g)), "n_gold": n,
           "class_score": {f"{t:g}": prf(numpy.where(top >= t, best, C), g, C, n) for t in thetas},
           "identification": {f"{t:g}": prf(numpy.where(s["p_rel"] >= t, best, C), g, C, n) for t in IDENT}}
    for name, rule in (("class_score", top), ("identification", s["p_rel"])):
        f, cut = best_cut(rule, best == g, g < C, n)
        out[f"{name}_oracle"] = {"threshold": cut, "f": f}
    pos = g < C
    out["argmax_right_on_positives"] = float((best[pos] == g[pos]).mean()) if pos.any() else 0.0
    c = s["consistency"]
    out["label_consistency"] = dict(c, share=c["positives_also_negative"] / c["positives"] if c["positives"] else 0.0)
    return out
