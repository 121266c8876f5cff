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
(the counting and the arithmetic of :mod:`.counts`).

An entity is correct when a gold entity of the same Doc has its character
boundaries and its type (:func:`entity_keys`); per type and micro P/R/F1 are
counted the same way. As spaCy's ``get_ner_prf`` does, a reference Doc
without entity annotation is left out of the entity figures, and so is a
predicted entity over reference tokens whose entity annotation is missing;
with no entity left to count the ``ents_*`` figures are None.

The gold relations that were not predicted correctly (the "lost" ones,
``n_gold - n_correct``) are broken down by :func:`error_breakdown` into
exclusive categories (:data:`ERROR_CATEGORIES`).

Registered as ``spacy-bio-rel.e2e_scorer.v1`` for the ``scorer`` setting of
``relation_extractor``; the keys are chosen so that ``spacy evaluate`` prints
them: ``NER P/R/F`` with a per-type table, and with ``--spans-key rel`` the
micro relation figures as ``SPAN P/R/F`` with a per-label table
(``--spans-key rel_macro`` prints the macro figures the same way).
"""

from typing import Any, Collection, Dict, Iterable, List, Optional, Set, Tuple

from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from spacy_bio_rel.relations import Relation, get_relations
from spacy_bio_rel.scoring.counts import count_keys

__all__ = [
    "ERROR_CATEGORIES",
    "argument_status",
    "doc_relation_keys",
    "entity_keys",
    "error_breakdown",
    "format_e2e",
    "relation_key",
    "score_e2e",
]

Argument = Tuple[int, int, str]  # character start, end, entity label
RelationKey = Tuple[Argument, Argument, str]

# in order of precedence: a lost gold relation is counted in the first that applies (error_breakdown)
ERROR_CATEGORIES = (
    "argument_missed",
    "argument_misbounded",
    "argument_mistyped",
    "relation_mislabelled",
    "relation_missed",
)
ERROR_NAMES = {
    "argument_missed": "argument missed",
    "argument_misbounded": "argument mis-bounded",
    "argument_mistyped": "argument mis-typed",
    "relation_mislabelled": "arguments right, label wrong",
    "relation_missed": "arguments right, relation missed",
}
_ARGUMENT_ERRORS = {"missed": 0, "misbounded": 1, "mistyped": 2}


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


def entity_keys(eg: Example) -> Optional[Tuple[Set[Argument], Set[Argument]]]:
    """Gold and predicted ``(start_char, end_char, type)`` of the entities of ``eg``.

    None when the reference has no entity annotation; a predicted entity over
    reference tokens whose entity annotation is missing is left out.
    """
    ref = eg.reference
    if not ref.has_annotation("ENT_IOB"):
        return None
    gold = {_argument(e, True) for e in ref.ents}
    pred = set()
    for ent in eg.predicted.ents:
        covered = ref.char_span(ent.start_char, ent.end_char, alignment_mode="expand")
        if covered is not None and all(t.ent_iob != 0 for t in covered):
            pred.add(_argument(ent, True))
    return gold, pred


def entity_scores(examples: Iterable[Example]) -> Dict[str, Any]:
    """``ents_p/r/f``, ``ents_per_type`` and the counts ``ents_n_gold/n_pred/n_correct``."""
    counts = count_keys(keys for keys in map(entity_keys, examples) if keys is not None)
    micro = counts.micro
    counted = bool(micro.n_gold or micro.n_pred)
    p, r, f = micro.prf if counted else (None, None, None)
    return {
        "ents_p": p,
        "ents_r": r,
        "ents_f": f,
        "ents_per_type": counts.per_type() if counted else None,
        "ents_n_gold": float(micro.n_gold),
        "ents_n_pred": float(micro.n_pred),
        "ents_n_correct": float(micro.tp),
    }


def argument_status(gold: Argument, predicted: Collection[Argument]) -> str:
    """How the predicted entities ``predicted`` of a Doc render the gold argument ``gold``.

    * ``"correct"``: a predicted entity has its character boundaries and its type;
    * ``"mistyped"``: a predicted entity has its boundaries, with another type;
    * ``"misbounded"``: no predicted entity has its boundaries, but one shares
      at least one character with it;
    * ``"missed"``: no predicted entity shares a character with it.
    """
    start, end, label = gold
    same_span = [lab for s, e, lab in predicted if (s, e) == (start, end)]
    if label in same_span:
        return "correct"
    if same_span:
        return "mistyped"
    if any(s < end and start < e for s, e, _ in predicted):
        return "misbounded"
    return "missed"


def _lost_category(gold: RelationKey, entities: Collection[Argument], predicted: Set[RelationKey]) -> str:
    statuses = [argument_status(arg, entities) for arg in gold[:2]]
    errors = [s for s in statuses if s != "correct"]
    if errors:
        return "argument_" + min(errors, key=_ARGUMENT_ERRORS.__getitem__)
    if any(key[:2] == gold[:2] for key in predicted):
        return "relation_mislabelled"
    return "relation_missed"


def error_breakdown(examples: Iterable[Example], directed: bool = True) -> Dict[str, Any]:
    """Why the gold relations that were not predicted correctly were lost.

    A gold relation is lost when no predicted relation of its Doc has its
    strict key (both arguments' character boundaries and entity types, and
    the label; either argument order with ``directed = false``). Each of its
    arguments (character boundaries, and the entity type the relation stores)
    is judged against the predicted entities (``doc.ents``) of the Doc by
    :func:`argument_status`, and the relation is put in exactly one
    category, the first that applies:

    * ``argument_missed``: an argument is missed (no predicted entity shares
      a character with it);
    * ``argument_misbounded``: an argument is mis-bounded (a predicted entity
      overlaps it, none has its exact boundaries);
    * ``argument_mistyped``: an argument is mis-typed (a predicted entity has
      its exact boundaries, with another type);
    * ``relation_mislabelled``: both arguments are right (boundaries and
      type) and a predicted relation joins them (in the same order with
      ``directed = true``) with another label;
    * ``relation_missed``: both arguments are right and no predicted relation
      joins them (with ``directed = true``, one joining them the other way
      round counts here).

    So a relation with one missed and one mis-typed argument is
    ``argument_missed``. Returns ``{"lost": n, <category>: n, ...,
    "per_type": {label: {"lost": n, <category>: n, ...}}}``; the categories
    sum to ``lost``, which is ``n_gold - n_correct`` of :func:`score_e2e`.
    """

    def empty() -> Dict[str, int]:
        return dict.fromkeys(("lost",) + ERROR_CATEGORIES, 0)

    total, per_type = empty(), {}
    for eg in examples:
        gold = doc_relation_keys(eg.reference, directed=directed)
        predicted = doc_relation_keys(eg.predicted, directed=directed)
        entities = [_argument(e, True) for e in eg.predicted.ents]
        for key in sorted(gold - predicted):
            category = _lost_category(key, entities, predicted)
            label = per_type.setdefault(key[-1], empty())
            for counts in (total, label):
                counts["lost"] += 1
                counts[category] += 1
    total["per_type"] = {label: per_type[label] for label in sorted(per_type)}
    return total


def score_e2e(examples: Iterable[Example], directed: bool = True, **kwargs: Any) -> Dict[str, Any]:
    """Entity and strict end-to-end relation scores of ``examples``.

    Keys: ``ents_p/r/f/per_type`` and ``ents_n_gold/n_pred/n_correct``
    (:func:`entity_scores`); ``rel_e2e_micro_p/r/f``,
    ``rel_e2e_macro_p/r/f``, ``rel_e2e_per_type``, ``rel_e2e_n_gold``,
    ``rel_e2e_n_pred``, ``rel_e2e_n_correct``; and for ``spacy evaluate``
    ``spans_rel_p/r/f/per_type`` (micro) and ``spans_rel_macro_p/r/f``;
    ``rel_e2e_errors``, the :func:`error_breakdown` of the lost gold relations.
    """
    examples = list(examples)
    rel = count_keys(
        (
            doc_relation_keys(eg.reference, directed=directed),
            doc_relation_keys(eg.predicted, directed=directed),
        )
        for eg in examples
    ).summary()
    scores = entity_scores(examples)
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
            "rel_e2e_errors": error_breakdown(examples, directed=directed),
        }
    )
    return scores


def format_e2e(scores: Dict[str, Any]) -> List[str]:
    """Lines of a plain-text report of :func:`score_e2e`'s figures."""

    def pct(x):
        return "   n/a" if x is None else f"{100 * x:6.2f}"

    def counts(prefix):
        if f"{prefix}_n_gold" not in scores:
            return ""
        return (
            f"   (gold {int(scores[prefix + '_n_gold'])}, predicted {int(scores[prefix + '_n_pred'])}, "
            f"correct {int(scores[prefix + '_n_correct'])})"
        )

    lines = [
        f"entities        P {pct(scores['ents_p'])}  R {pct(scores['ents_r'])}  F1 {pct(scores['ents_f'])}"
        + counts("ents")
    ]
    for label, s in sorted((scores.get("ents_per_type") or {}).items()):
        lines.append(f"  {label:<20} P {pct(s['p'])}  R {pct(s['r'])}  F1 {pct(s['f'])}")
    lines.append(
        f"relations micro P {pct(scores['rel_e2e_micro_p'])}  R {pct(scores['rel_e2e_micro_r'])}  "
        f"F1 {pct(scores['rel_e2e_micro_f'])}" + counts("rel_e2e")
    )
    lines.append(
        f"relations macro P {pct(scores['rel_e2e_macro_p'])}  R {pct(scores['rel_e2e_macro_r'])}  "
        f"F1 {pct(scores['rel_e2e_macro_f'])}"
    )
    for label, s in scores["rel_e2e_per_type"].items():
        lines.append(f"  {label:<20} P {pct(s['p'])}  R {pct(s['r'])}  F1 {pct(s['f'])}")
    errors = scores.get("rel_e2e_errors")
    if errors is not None:
        lines.append(f"gold relations lost: {errors['lost']} of {int(scores['rel_e2e_n_gold'])}")
        for category in ERROR_CATEGORIES:
            share = f"{100 * errors[category] / errors['lost']:5.1f}%" if errors["lost"] else "     -"
            lines.append(f"  {ERROR_NAMES[category]:<34} {errors[category]:>6}  {share}")
    return lines


@registry.scorers("spacy-bio-rel.e2e_scorer.v1")
def make_e2e_scorer():
    return score_e2e
