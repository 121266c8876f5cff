"""Micro P/R/F1 over positive instances (../shared/docs/protocol.md), per label too.

A predicted relation is right when its label and both argument spans (by
character offsets) match a gold relation; with ``directed = false`` the
direction is ignored. Every gold relation of the reference counts in recall,
including those the type filter or sentence boundaries made unreachable.

``spacy evaluate PIPELINE DATA --spans-key rel`` builds the predicted Docs from
the raw text, so a gold-entity pipeline (no ner before the relation component)
sees no entities there and predicts nothing: the scorer then warns
(:data:`NO_PREDICTED_ENTITIES`) instead of printing zeros without a word.
"""

import warnings
from collections import Counter
from typing import Any, Dict, Iterable, Tuple

from spacy.training import Example
from spacy.util import registry

from spacy_bio_rel.training.gold import relation_set

NO_PREDICTED_ENTITIES = (
    "relation scores: the predicted Docs have no entities, so no relation could be predicted (spacy "
    "evaluate builds Docs from raw text, and this pipeline sets no entities before the relation component): "
    "use python -m spacy_bio_rel evaluate MODEL DATA for the gold-entity setting"
)


def _prf(tp: int, n_pred: int, n_gold: int) -> Tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_relations(examples: Iterable[Example], directed: bool = True, **kwargs: Any) -> Dict[str, Any]:
    """``rel_micro_p/r/f``, counts, and ``rel_per_type`` {label: {p, r, f}}.

    The figures are also returned as ``spans_rel_p/r/f/per_type`` so that
    ``spacy evaluate PIPELINE DATA --spans-key rel`` prints them.
    """
    tp, n_pred, n_gold = Counter(), Counter(), Counter()
    predicted_ents = gold_ents = 0
    for eg in examples:
        predicted_ents += len(eg.predicted.ents)
        gold_ents += len(eg.reference.ents)
        gold = relation_set(eg.reference, directed)
        pred = relation_set(eg.predicted, directed)
        for key in gold:
            n_gold[key[2]] += 1
        for key in pred:
            n_pred[key[2]] += 1
            if key in gold:
                tp[key[2]] += 1
    if gold_ents and not predicted_ents:
        warnings.warn(NO_PREDICTED_ENTITIES, UserWarning, stacklevel=2)
    p, r, f = _prf(sum(tp.values()), sum(n_pred.values()), sum(n_gold.values()))
    per_type = {}
    for label in sorted(set(n_gold) | set(n_pred)):
        lp, lr, lf = _prf(tp[label], n_pred[label], n_gold[label])
        per_type[label] = {"p": lp, "r": lr, "f": lf}
    scores = {
        "rel_micro_p": p,
        "rel_micro_r": r,
        "rel_micro_f": f,
        "rel_n_gold": float(sum(n_gold.values())),
        "rel_n_pred": float(sum(n_pred.values())),
        "rel_n_correct": float(sum(tp.values())),
        "rel_per_type": per_type,
    }
    # The same figures under the keys `spacy evaluate --spans-key rel` prints
    # (as "SPAN P/R/F" and a per-type table).
    scores.update({"spans_rel_p": p, "spans_rel_r": r, "spans_rel_f": f, "spans_rel_per_type": per_type})
    return scores


@registry.scorers("spacy-bio-rel.relation_scorer.v1")
def make_relation_scorer():
    return score_relations
