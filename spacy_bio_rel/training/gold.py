"""Gold matching: relations and candidates compared by CHARACTER offsets.

One module owns every "is this candidate a gold relation?" question, so the
component (gold labels in training), the scorer, the readers (negative
sampling), ``evaluate`` and the converter report all agree. Character offsets
make the answer independent of tokenisation: a candidate built on a
re-tokenised predicted Doc still finds its gold relation on the reference.

* :func:`relation_index`: ``{(head_chars, tail_chars): label}`` of a Doc.
* :func:`gold_label`: the label of a candidate (``OTHER`` if none); with
  ``directed = false`` a relation annotated in either direction counts.
* :func:`entity_types`: ``{chars: label}`` of a Doc's entities; with it,
  :func:`gold_labels` gives a candidate built on PREDICTED entities
  (``Candidate.predicted``) its gold label only if both arguments' types match
  the reference's too (gold candidates match by offsets alone).
* :func:`learn_type_pairs`: the type filter (entity-type combinations of the
  positive instances).
* :func:`count_candidates`: candidate counts before and after the filter.
* :func:`relation_set`: the relations of a Doc as hashable keys for scoring.
"""

from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc

from spacy_bio_rel.candidates import OTHER, Candidate, TypePair, iter_candidates
from spacy_bio_rel.relations import relation_keys

CharOffsets = Tuple[int, int]
RelationIndex = Dict[Tuple[CharOffsets, CharOffsets], str]


def relation_index(doc: Doc) -> RelationIndex:
    """Gold relations of ``doc`` keyed by the character offsets of head and tail."""
    return {(h, t): label for h, t, label in relation_keys(doc)}


def relation_labels(docs: Iterable[Doc]) -> List[str]:
    """The relation labels used in ``docs``, sorted (of a ``Span.as_doc`` copy: those of its own relations)."""
    return sorted({label for doc in docs for _, _, label in relation_keys(doc)})


def gold_label(index: RelationIndex, cand: Candidate, directed: bool) -> str:
    """The gold label of ``cand`` (``OTHER`` when it is no relation)."""
    label = index.get((cand.head_chars, cand.tail_chars))
    if label is None and not directed:
        label = index.get((cand.tail_chars, cand.head_chars))
    return OTHER if label is None else label


def entity_types(doc: Doc) -> Dict[CharOffsets, str]:
    """The entity type of each entity of ``doc``, keyed by its character offsets."""
    return {(e.start_char, e.end_char): e.label_ for e in doc.ents}


def gold_labels(
    index: RelationIndex,
    cands: Sequence[Candidate],
    directed: bool,
    types: Optional[Dict[CharOffsets, str]] = None,
) -> List[str]:
    """Gold label per candidate. ``types`` (:func:`entity_types` of the
    reference): a candidate marked ``predicted`` is the gold relation only if
    both its spans AND both its entity types match the reference exactly,
    else ``OTHER``. Without ``types``, or for unmarked candidates, spans alone."""
    out = []
    for c in cands:
        label = gold_label(index, c, directed)
        if (
            label != OTHER
            and c.predicted
            and types is not None
            and (types.get(c.head_chars) != c.head_label or types.get(c.tail_chars) != c.tail_label)
        ):
            label = OTHER
        out.append(label)
    return out


def learn_type_pairs(docs: Iterable[Doc], directed: bool, sentence_window: int = 1) -> Set[TypePair]:
    """The type combinations of positive instances in ``docs`` (the candidates of
    :func:`~.candidates.iter_candidates` with ``sentence_window``)."""
    pairs: Set[TypePair] = set()
    for doc in docs:
        index = relation_index(doc)
        if not index:
            continue
        for cand in iter_candidates(doc, directed, sentence_window=sentence_window):
            if gold_label(index, cand, directed) != OTHER:
                pairs.add(cand.type_pair(directed))
    return pairs


def count_candidates(
    docs: Iterable[Doc], type_pairs: Optional[Set[TypePair]] = None, sentence_window: int = 1
) -> Dict[str, Dict[str, int]]:
    """Candidate counts for both approaches, before and after the type filter.

    The candidates are those of :func:`~.candidates.iter_candidates` with ``sentence_window``
    (1: in-sentence pairs only). When ``type_pairs`` is None the filter is learned from ``docs``
    themselves (per approach, with the same window), as a converter report does for a training set.
    Returns ``{"unordered": {...}, "ordered": {...}}`` with keys ``total``,
    ``positive``, ``negative``, ``filtered_total``, ``filtered_positive``,
    ``filtered_negative``, ``positive_removed_by_filter``.
    """
    docs = list(docs)
    out: Dict[str, Dict[str, int]] = {}
    for name, directed in (("unordered", False), ("ordered", True)):
        allowed = type_pairs if type_pairs is not None else learn_type_pairs(docs, directed, sentence_window)
        c = dict.fromkeys(
            [
                "total",
                "positive",
                "negative",
                "filtered_total",
                "filtered_positive",
                "filtered_negative",
                "positive_removed_by_filter",
            ],
            0,
        )
        for doc in docs:
            index = relation_index(doc)
            for cand in iter_candidates(doc, directed, sentence_window=sentence_window):
                pos = gold_label(index, cand, directed) != OTHER
                c["total"] += 1
                c["positive" if pos else "negative"] += 1
                if cand.type_pair(directed) in allowed:
                    c["filtered_total"] += 1
                    c["filtered_positive" if pos else "filtered_negative"] += 1
                elif pos:
                    c["positive_removed_by_filter"] += 1
        out[name] = c
    return out


def relation_set(doc: Doc, directed: bool) -> Set[Tuple[CharOffsets, CharOffsets, str]]:
    """``{(head_chars, tail_chars, label)}``; with ``directed = false`` the two
    arguments are put in text order, so direction is ignored."""
    keys = set()
    for h, t, label in relation_keys(doc):
        if not directed:
            h, t = min(h, t), max(h, t)
        keys.add((h, t, label))
    return keys
