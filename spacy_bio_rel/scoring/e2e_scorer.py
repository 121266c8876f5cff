"""Strict end-to-end scores: entities predicted by the pipeline, then relations.

The score papers report for joint extraction on CoNLL04 (e.g. SpERT's
"strict" setting): a predicted relation is correct only if

* both argument spans match a gold relation's spans by exact character
  boundaries **and** entity type, and
* the relation label matches

(with ``directed = false`` the two arguments may come in either order). Gold
relations whose arguments the pipeline never found count as missed. Micro
P/R/F1 pool all relations; macro P/R/F1 are the means of the per-label
figures over the labels that occur in the gold or the predicted relations
(the counting and the arithmetic of :mod:`.counts`, whose ``prf`` this module
re-exports).
Entities are scored with spaCy's own ``get_ner_prf`` (exact span, label).

Registered as ``spacy-bio-rel.e2e_scorer.v1`` for the ``scorer`` setting of
``relation_extractor``; the keys are chosen so that ``spacy evaluate`` prints
them: ``NER P/R/F`` with a per-type table, and with ``--spans-key rel`` the
micro relation figures as ``SPAN P/R/F`` with a per-label table
(``--spans-key rel_macro`` prints the macro figures the same way).
"""

from typing import Any, Dict, Iterable, List, Set, Tuple

from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from spacy_bio_rel.relations import Relation, get_relations
from spacy_bio_rel.scoring.counts import count_keys, prf

__all__ = ["doc_relation_keys", "format_e2e", "prf", "relation_key", "score_e2e"]

Argument = Tuple[int, int, str]  # character start, end, entity label
RelationKey = Tuple[Argument, Argument, str]


def _argument(span: Span, typed: bool) -> Argument:
    return (span.start_char, span.end_char, span.label_ if typed else "")


def relation_key(rel: Relation, *, directed: bool = True, typed: bool = True) -> RelationKey:
    """``((start, end, type), (start, end, type), label)`` by characters.

    ``typed = False`` leaves the entity types out (the gold-entity protocol);
    ``directed = False`` puts the earlier argument first.
    """
    head, tail = _argument(rel.head, typed), _argument(rel.tail, typed)
    if not directed and tail < head:
        head, tail = tail, head
    return head, tail, rel.label


def doc_relation_keys(doc: Doc, *, directed: bool = True, typed: bool = True) -> Set[RelationKey]:
    return {relation_key(r, directed=directed, typed=typed) for r in get_relations(doc)}


def score_e2e(examples: Iterable[Example], directed: bool = True, **kwargs: Any) -> Dict[str, Any]:
    """Entity and strict end-to-end relation scores of ``examples``.

    Keys: ``ents_p/r/f/per_type``; ``rel_e2e_micro_p/r/f``,
    ``rel_e2e_macro_p/r/f``, ``rel_e2e_per_type``, ``rel_e2e_n_gold``,
    ``rel_e2e_n_pred``, ``rel_e2e_n_correct``; and for ``spacy evaluate``
    ``spans_rel_p/r/f/per_type`` (micro) and ``spans_rel_macro_p/r/f``.
    """
    examples = list(examples)
    rel = count_keys(
        (
            doc_relation_keys(eg.reference, directed=directed),
            doc_relation_keys(eg.predicted, directed=directed),
        )
        for eg in examples
    ).summary()
    scores: Dict[str, Any] = dict(get_ner_prf(examples))  # ents_* are None when no Doc has entities
    (p, r, f), (mp, mr, mf) = rel["micro"], rel["macro"]
    scores.update(
        {
            "rel_e2e_micro_p": p,
            "rel_e2e_micro_r": r,
            "rel_e2e_micro_f": f,
            "rel_e2e_macro_p": mp,
            "rel_e2e_macro_r": mr,
            "rel_e2e_macro_f": mf,
            "rel_e2e_per_type": rel["per_type"],
            "rel_e2e_n_gold": float(rel["n_gold"]),
            "rel_e2e_n_pred": float(rel["n_pred"]),
            "rel_e2e_n_correct": float(rel["n_correct"]),
            # what `spacy evaluate --spans-key rel` (and `--spans-key rel_macro`) prints
            "spans_rel_p": p,
            "spans_rel_r": r,
            "spans_rel_f": f,
            "spans_rel_per_type": rel["per_type"],
            "spans_rel_macro_p": mp,
            "spans_rel_macro_r": mr,
            "spans_rel_macro_f": mf,
        }
    )
    return scores


def format_e2e(scores: Dict[str, Any]) -> List[str]:
    """Lines of a plain-text report of :func:`score_e2e`'s figures."""

    def pct(x):
        return "   n/a" if x is None else f"{100 * x:6.2f}"

    lines = [
        f"entities        P {pct(scores['ents_p'])}  R {pct(scores['ents_r'])}  F1 {pct(scores['ents_f'])}"
    ]
    for label, s in sorted((scores.get("ents_per_type") or {}).items()):
        lines.append(f"  {label:<20} P {pct(s['p'])}  R {pct(s['r'])}  F1 {pct(s['f'])}")
    lines.append(
        f"relations micro P {pct(scores['rel_e2e_micro_p'])}  R {pct(scores['rel_e2e_micro_r'])}  "
        f"F1 {pct(scores['rel_e2e_micro_f'])}   (gold {int(scores['rel_e2e_n_gold'])}, "
        f"predicted {int(scores['rel_e2e_n_pred'])}, correct {int(scores['rel_e2e_n_correct'])})"
    )
    lines.append(
        f"relations macro P {pct(scores['rel_e2e_macro_p'])}  R {pct(scores['rel_e2e_macro_r'])}  "
        f"F1 {pct(scores['rel_e2e_macro_f'])}"
    )
    for label, s in scores["rel_e2e_per_type"].items():
        lines.append(f"  {label:<20} P {pct(s['p'])}  R {pct(s['r'])}  F1 {pct(s['f'])}")
    return lines


@registry.scorers("spacy-bio-rel.e2e_scorer.v1")
def make_e2e_scorer():
    return score_e2e
