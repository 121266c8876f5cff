"""θ chosen on dev data: the threshold(s) that maximise micro F1.

The paper's rule predicts the argmax label c of a candidate iff its class
score s_c is at least θ (θ = 1 for Chinese). θ is a hyperparameter; a model
trained on other data, for another number of epochs or with other margins
puts its scores elsewhere, so a θ picked on held-out data often does much
better. This module:

1. runs the pipeline once on Docs with gold entities and scores every
   candidate (:func:`.sweep.collect_scored`, through
   :meth:`RelationExtractor.score_candidates`): its argmax label and raw
   class score, no threshold;
2. :func:`best_global_threshold`: the θ that maximises micro F1 (exact:
   every distinct score is tried; θ is put halfway to the next lower score,
   so float rounding cannot move a candidate across it);
3. :func:`best_label_thresholds`: one θ per label by coordinate ascent on
   micro F1: starting from the global θ, each label's θ in turn is set to its
   best value with the others fixed (exact for that coordinate), round after
   round until nothing changes. Micro F1 never decreases.

The result is stored in the component's ``cfg``: ``threshold`` (the global
θ) and, with per-label thresholds, ``thresholds`` ({label: θ}), which
the decision rule (:meth:`RelationExtractor.select`) honours. ``Relation.score`` stays the confidence of the raw score.

Choosing θ on dev and reporting dev F1 is optimistic: report F1 on data the
θ was not chosen on.
"""

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Hashable, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.language import Language

from spacy_bio_rel.relations import relation_keys
from spacy_bio_rel.scoring.counts import prf
from spacy_bio_rel.scoring.evaluate import gold_entity_examples
from spacy_bio_rel.scoring.sweep import collect_scored
from spacy_bio_rel.tempfiles import publish
from spacy_bio_rel.util import PipelineError, relation_component
from spacy_bio_rel.util import load_pipeline as _load_pipeline

Key = Tuple  # (doc index, head chars, tail chars, label)


class CalibrationError(ValueError):
    """The model or the data cannot be calibrated (one-line message)."""


@dataclass
class Scored:
    """Every candidate's argmax label and raw score, and the gold keys."""

    labels: List[str]
    gold: set
    keys: List[Key]
    label: numpy.ndarray  # label index of each prediction
    score: numpy.ndarray  # raw class score
    correct: numpy.ndarray  # bool: key in gold
    n_gold_per_label: Dict[str, int] = field(default_factory=dict)

    @property
    def n_gold(self) -> int:
        return len(self.gold)


def collect(nlp: Language, examples, component: Optional[str] = None) -> Scored:
    """Run ``nlp`` once on ``examples`` (gold entities) with thresholds lowered."""
    component = component or relation_component(nlp)
    pipe = nlp.get_pipe(component)
    if pipe.cfg["classification_loss"] == "cross_entropy":
        raise CalibrationError(
            "classification_loss = 'cross_entropy' predicts Other by argmax, not by a "
            "threshold: there is nothing to calibrate"
        )
    gold, predicted = collect_scored(nlp, examples, component=component, predicted_entities=False, raw=True)
    best: Dict[Hashable, float] = {}
    for key, raw in predicted:
        if key not in best or raw > best[key]:
            best[key] = raw
    labels = list(pipe.labels)
    index = {lab: i for i, lab in enumerate(labels)}
    keys = list(best)
    gold_set = set(gold)
    n_gold_per_label = {lab: 0 for lab in labels}
    for key in gold_set:
        n_gold_per_label[key[-1]] = n_gold_per_label.get(key[-1], 0) + 1
    return Scored(
        labels,
        gold_set,
        keys,
        numpy.asarray([index[k[-1]] for k in keys], dtype="int64"),
        numpy.asarray([best[k] for k in keys], dtype="float64"),
        numpy.asarray([k in gold_set for k in keys], dtype=bool),
        n_gold_per_label,
    )


def _cut_below(sorted_desc: numpy.ndarray, k: int) -> float:
    """A θ that keeps the first ``k`` scores of ``sorted_desc`` (descending) and drops the rest."""
    if k == 0:
        return float(sorted_desc[0]) + 1.0 if len(sorted_desc) else math.inf
    if k >= len(sorted_desc):
        return float(sorted_desc[-1]) - 1.0
    return (float(sorted_desc[k - 1]) + float(sorted_desc[k])) / 2


def _options(
    score: numpy.ndarray, correct: numpy.ndarray
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """For the predictions of one group: θ options (keep the top k, k at distinct-score
    boundaries, including none) with their predicted and correct counts."""
    order = numpy.argsort(-score, kind="stable")
    s, c = score[order], correct[order]
    n = len(s)
    # positions k where the top k can be separated from the rest: k = 0, n, or s[k-1] > s[k]
    ks = [0] + [k for k in range(1, n) if s[k - 1] > s[k]] + ([n] if n else [])
    cum = numpy.concatenate([[0], numpy.cumsum(c)])
    thetas = numpy.asarray([_cut_below(s, k) for k in ks]) if n else numpy.asarray([math.inf])
    return thetas, numpy.asarray(ks if n else [0]), cum[ks] if n else numpy.asarray([0])


def evaluate_thresholds(scored: Scored, thresholds: Sequence[float]) -> Dict[str, Dict[str, float]]:
    """Micro and per-label P/R/F1 with θ per label (label order of ``scored.labels``)."""
    th = numpy.asarray(thresholds, dtype="float64")
    keep = scored.score >= th[scored.label] if len(scored.score) else numpy.zeros(0, dtype=bool)
    out = {}
    for i, lab in enumerate(scored.labels):
        m = keep & (scored.label == i)
        tp, n_pred = int((m & scored.correct).sum()), int(m.sum())
        p, r, f = prf(tp, n_pred, scored.n_gold_per_label.get(lab, 0))
        out[lab] = {
            "theta": float(th[i]),
            "p": p,
            "r": r,
            "f": f,
            "tp": tp,
            "n_pred": n_pred,
            "n_gold": scored.n_gold_per_label.get(lab, 0),
        }
    tp, n_pred = int((keep & scored.correct).sum()), int(keep.sum())
    p, r, f = prf(tp, n_pred, scored.n_gold)
    out["micro"] = {"p": p, "r": r, "f": f, "tp": tp, "n_pred": n_pred, "n_gold": scored.n_gold}
    return out


def best_global_threshold(scored: Scored) -> float:
    """The θ with the highest micro F1 (ties: the higher θ)."""
    thetas, n_pred, tp = _options(scored.score, scored.correct)
    f = 2 * tp / numpy.maximum(n_pred + scored.n_gold, 1)
    best = max(range(len(thetas)), key=lambda i: (f[i], thetas[i]))
    return float(thetas[best])


def best_label_thresholds(scored: Scored, start: float, max_rounds: int = 20) -> List[float]:
    """One θ per label by coordinate ascent on micro F1, from ``start`` for every label."""
    C = len(scored.labels)
    th = numpy.full(C, float(start))
    options = [_options(scored.score[scored.label == c], scored.correct[scored.label == c]) for c in range(C)]
    for _ in range(max_rounds):
        changed = False
        for c in range(C):
            keep = scored.score >= th[scored.label]
            others = scored.label != c
            tp0 = int((keep & others & scored.correct).sum())
            n0 = int((keep & others).sum())
            thetas, n_pred, tp = options[c]
            f = 2 * (tp0 + tp) / numpy.maximum(n0 + n_pred + scored.n_gold, 1)
            current = float(
                2
                * (tp0 + int((keep & ~others & scored.correct).sum()))
                / max(n0 + int((keep & ~others).sum()) + scored.n_gold, 1)
            )
            i = max(range(len(thetas)), key=lambda j: (f[j], thetas[j]))
            if f[i] > current + 1e-12:
                th[c] = thetas[i]
                changed = True
        if not changed:
            break
    return [float(x) for x in th]


def calibrate(nlp: Language, examples, *, per_label: bool = False, component: Optional[str] = None) -> Dict:
    """Choose θ (and θ per label) on ``examples``, store them in the component's cfg,
    and return the figures before and after."""
    component = component or relation_component(nlp)
    pipe = nlp.get_pipe(component)
    scored = collect(nlp, examples, component)
    if not scored.n_gold:
        raise CalibrationError("the data has no gold relations: cannot choose a threshold on it")
    if not scored.keys:
        raise CalibrationError(
            f"the data gives no candidate pairs ({scored.n_gold} gold relations): its Docs have no entities "
            f"of the types the model was trained on ({', '.join(pipe.known_entity_labels())}), so no "
            "threshold can be chosen on it. Check doc.ents in the data, or entity_label_map."
        )
    before = evaluate_thresholds(scored, [pipe.label_thresholds()[label] for label in scored.labels])
    theta = best_global_threshold(scored)
    global_ = evaluate_thresholds(scored, [theta] * len(scored.labels))
    result = {
        "component": component,
        "theta_before": float(pipe.cfg["threshold"]),
        "thresholds_before": dict(pipe.cfg.get("thresholds") or {}),
        "theta": theta,
        "before": before,
        "global": global_,
        "per_label": None,
        "thresholds": None,
        "per_label_method": None,
    }
    pipe.cfg["threshold"] = theta
    pipe.cfg.pop("thresholds", None)
    if per_label:
        ths = best_label_thresholds(scored, theta)
        result["thresholds"] = dict(zip(scored.labels, ths))
        result["per_label"] = evaluate_thresholds(scored, ths)
        result["per_label_method"] = "coordinate ascent on micro F1, from the global θ"
        pipe.cfg["thresholds"] = result["thresholds"]
    return result


def load_pipeline(model: Union[str, Path]) -> Language:
    """MODEL (a folder or an installed package), with any failure as :class:`CalibrationError`."""
    try:
        return _load_pipeline(model)
    except PipelineError as e:
        raise CalibrationError(str(e)) from None


def load_examples(nlp: Language, data: Union[str, Path], component: str):
    if not Path(data).exists():
        raise CalibrationError(f"dev data {data} does not exist")
    try:
        examples = gold_entity_examples(nlp, data, component)
    except ValueError as e:
        raise CalibrationError(str(e)) from None
    if not any(relation_keys(eg.reference) for eg in examples):
        raise CalibrationError(f"{data} has no gold relations: cannot choose a threshold on it")
    return examples


def save_pipeline(nlp: Language, output: Path, *, overwrite: bool) -> None:
    """Write ``nlp`` to ``output`` via a temporary folder beside it, then move it into place."""
    output = Path(output)
    if output.exists() and not overwrite:
        raise CalibrationError(
            f"{output} exists: pass --overwrite to replace it (or --output-dir to write elsewhere)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.calibrate-", dir=output.parent))
    try:
        nlp.to_disk(tmp / "model")
        publish(tmp / "model", output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def format_table(result: Dict) -> str:
    per = result["per_label"]
    head = f"{'label':<18} {'gold':>5} | {'θ':>6} {'P':>6} {'R':>6} {'F1':>6} | {'θ':>6} {'P':>6} {'R':>6} {'F1':>6}"
    if per:
        head += f" | {'θ':>6} {'P':>6} {'R':>6} {'F1':>6}"
    lines = [
        "columns: before | global θ" + (" | per-label θ (" + result["per_label_method"] + ")" if per else ""),
        head,
        "-" * len(head),
    ]
    for lab in list(result["before"]):
        cols = [result["before"][lab], result["global"][lab]] + ([per[lab]] if per else [])
        gold = cols[0]["n_gold"]
        cells = []
        for c in cols:
            th = c.get("theta")
            th_s = f"{th:6.2f}" if th is not None else f"{'':>6}"
            cells.append(f"{th_s} {100 * c['p']:6.1f} {100 * c['r']:6.1f} {100 * c['f']:6.1f}")
        lines.append(f"{lab:<18} {gold:>5} | " + " | ".join(cells))
    return "\n".join(lines)
