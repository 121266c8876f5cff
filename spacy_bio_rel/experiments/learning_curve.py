"""Learning-curve helpers: first-N training subsets, the steps a run makes, and
what a trained model predicts on dev (how many relations, how many distinct
labels, whether it has degenerated).

A model has *degenerated* when it predicts nothing (fewer relations than 5% of
the gold ones), puts a relation on (nearly) every candidate pair, or gives one
label to (nearly) every relation it predicts while the gold data has several
labels; all three are the failure of small annotated sets
(issue 14): a network that never learned, or one that learned the majority
label only.
"""
import re
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from ..batching import configure_batch_by_pairs
from ..evaluate import gold_entity_examples, instance_counts
from ..ml.featurize import unknown_unit_rate
from ..relations import get_relations
from ..scorer import score_relations

NOTHING_SHARE = 0.05  # fewer predicted relations than this share of the gold ones: "predicts nothing"
EVERY_PAIR_SHARE = 0.9  # a relation on at least this share of the candidate pairs: "every pair"
ONE_LABEL_SHARE = 0.95  # at least this share of the predictions with one label: "one label"


def write_subset(docs: List[Doc], n: int, path: Union[str, Path]) -> int:
    """Write the first ``n`` Docs (all of them for ``n <= 0``) to a DocBin at ``path``; returns how many."""
    chosen = docs if n <= 0 else docs[:n]
    db = DocBin(store_user_data=True)
    for doc in chosen:
        db.add(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db.to_disk(path)
    return len(chosen)


def steps_per_epoch(examples: Iterable[Example], size: int = 256, tolerance: float = 0.2,
                    directed: bool = True) -> int:
    """Optimiser steps (batches of ``spacy-bio-rel.batch_by_pairs.v1``) in one pass over ``examples``."""
    return sum(1 for _ in configure_batch_by_pairs(size, tolerance, directed)(list(examples)))


def total_steps(per_epoch: int, max_epochs: int, max_steps: int) -> int:
    """Steps ``spacy train`` makes: every epoch's batches, cut at ``max_steps`` when it is set.
    With ``max_epochs`` <= 0 spaCy streams until ``max_steps``. Step numbers start at 0."""
    steps = per_epoch * max_epochs if max_epochs > 0 else max_steps
    return min(steps, max_steps) if max_steps > 0 else steps


_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+.*?([\d.]+)\s*$")


def eval_rows(log: str) -> List[Tuple[int, float]]:
    """``(step, score)`` of every dev evaluation in a ``spacy.ConsoleLogger`` log (score in 0-1)."""
    rows = []
    for line in log.splitlines():
        m = _ROW.match(line)
        if m:
            rows.append((int(m.group(2)), float(m.group(3))))
    return rows


def best_step(rows: List[Tuple[int, float]]) -> Optional[int]:
    """The step ``model-best`` comes from: spaCy saves at every evaluation that equals the best
    score so far, so on ties the latest such step wins."""
    best, step = None, None
    for s, score in rows:
        if best is None or score >= best:
            best, step = score, s
    return step


def degeneracy(label_counts: Dict[str, int], n_gold: int, gold_labels: int,
               candidates: Optional[int] = None) -> Optional[str]:
    """``"nothing"``, ``"one label"``, ``"every pair"`` (or both) or None (not degenerate); see the module docstring."""
    n_pred = sum(label_counts.values())
    if n_pred == 0 or n_pred < NOTHING_SHARE * n_gold:
        return "nothing"
    verdicts = []
    if gold_labels > 1 and max(label_counts.values()) >= ONE_LABEL_SHARE * n_pred:
        verdicts.append("one label")
    if candidates and n_pred >= EVERY_PAIR_SHARE * candidates:
        verdicts.append("every pair")
    return ", ".join(verdicts) or None


def describe_predictions(nlp: Language, dev_path: Union[str, Path],
                         component: str = "relation_extractor") -> Dict[str, Any]:
    """Dev P/R/F1 in the gold-entity setting, with predicted-label counts, candidate count,
    the unknown-unit rate of the dev words and the degeneracy verdict."""
    examples = gold_entity_examples(nlp, dev_path, component)
    counts = instance_counts(nlp, examples, component)
    # nlp.evaluate works on copies; predict here to see the relations too
    for eg, doc in zip(examples, nlp.pipe(eg.predicted for eg in examples)):
        eg.predicted = doc
    scores = score_relations(examples, directed=nlp.get_pipe(component).cfg["directed"])
    predicted = Counter(r.label for eg in examples for r in get_relations(eg.predicted))
    gold = Counter(r.label for eg in examples for r in get_relations(eg.reference))
    featurize = nlp.get_pipe(component).model.get_ref("featurize")
    out = {
        "p": scores["rel_micro_p"], "r": scores["rel_micro_r"], "f": scores["rel_micro_f"],
        "n_pred": sum(predicted.values()), "n_gold": sum(gold.values()), "candidates": counts["instances"],
        "labels_predicted": len(predicted), "gold_labels": len(gold), "label_counts": dict(predicted.most_common()),
        "unknown_unit_rate": unknown_unit_rate(featurize, [eg.predicted for eg in examples]),
        "vocabulary": len(featurize.attrs["units"]),
    }
    out["degenerate"] = degeneracy(predicted, out["n_gold"], len(gold), out["candidates"])
    return out
