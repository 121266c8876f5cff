"""Micro P/R/F1 over positive instances (../shared/docs/protocol.md), per label too.

A predicted relation is right when its label and both argument spans (by
character offsets) match a gold relation; with ``directed = false`` the
direction is ignored. Every gold relation of the reference counts in recall,
including those the type filter or sentence boundaries made unreachable. The
counting and the arithmetic are those of :mod:`.counts`.

``spacy evaluate PIPELINE DATA --spans-key rel`` builds the predicted Docs from
the raw text, so a gold-entity pipeline (no ner before the relation component)
sees no entities there and predicts nothing: the scorer then warns
(:data:`NO_PREDICTED_ENTITIES`) instead of printing zeros without a word.
"""

import warnings
from typing import Any, Dict, Iterable

from spacy.training import Example
from spacy.util import registry

from spacy_bio_rel.scoring.counts import count_keys
from spacy_bio_rel.training.gold import relation_set

NO_PREDICTED_ENTITIES = (
    "relation scores: the predicted Docs have no entities, so no relation could be predicted (spacy "
    "evaluate builds Docs from raw text, and this pipeline sets no entities before the relation component): "
    "use python -m spacy_bio_rel evaluate MODEL DATA for the gold-entity setting"
)


def score_relations(examples: Iterable[Example], directed: bool = True, **kwargs: Any) -> Dict[str, Any]:
    """``rel_micro_p/r/f``, counts, and ``rel_per_type`` {label: {p, r, f}}.

    The figures are also returned as ``spans_rel_p/r/f/per_type`` so that
    ``spacy evaluate PIPELINE DATA --spans-key rel`` prints them.
    """
    examples = list(examples)
    counts = count_keys(
        (relation_set(eg.reference, directed), relation_set(eg.predicted, directed)) for eg in examples
    )
    if any(len(eg.reference.ents) for eg in examples) and not any(len(eg.predicted.ents) for eg in examples):
        warnings.warn(NO_PREDICTED_ENTITIES, UserWarning, stacklevel=2)
    micro = counts.micro
    p, r, f = micro.prf
    per_type = counts.per_type()
    scores = {
        "rel_micro_p": p,
        "rel_micro_r": r,
        "rel_micro_f": f,
        "rel_n_gold": float(micro.n_gold),
        "rel_n_pred": float(micro.n_pred),
        "rel_n_correct": float(micro.tp),
        "rel_per_type": per_type,
    }
    # The same figures under the keys `spacy evaluate --spans-key rel` prints
    # (as "SPAN P/R/F" and a per-type table).
    scores.update({"spans_rel_p": p, "spans_rel_r": r, "spans_rel_f": f, "spans_rel_per_type": per_type})
    return scores


@registry.scorers("spacy-bio-rel.relation_scorer.v1")
def make_relation_scorer():
    return score_relations
