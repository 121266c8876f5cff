"""Doc -> candidate entity pairs.

A candidate is a pair of entities from ``Doc.ents`` inside one sentence
(``doc.sents`` when sentence boundaries are set, else the whole Doc).

* ``directed=True`` (the paper's approach 2): both orders of every pair; the
  gold label of (e1, e2) is the relation annotated from e1 to e2, else Other.
* ``directed=False`` (approach 1): one instance per unordered pair, e1 first
  in text order; a relation annotated in either direction makes it positive.

The type filter keeps candidates whose entity-type combination occurs in a
positive training instance: ordered ``(type1, type2)`` when directed, the
sorted pair when undirected.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from spacy.tokens import Doc

from .relations import relation_keys

OTHER = "Other"
TypePair = Tuple[str, str]
Offsets = Tuple[int, int]


@dataclass(frozen=True)
class Candidate:
    """One candidate pair: token offsets of the sentence and both targets."""

    sent: Offsets
    head: Offsets
    tail: Offsets
    head_label: str
    tail_label: str

    def type_pair(self, directed: bool) -> TypePair:
        pair = (self.head_label, self.tail_label)
        return pair if directed else tuple(sorted(pair))  # type: ignore[return-value]


def sentence_bounds(doc: Doc) -> List[Offsets]:
    """Token offsets of the sentences of ``doc`` (the whole Doc if unset)."""
    if len(doc) == 0:
        return []
    if doc.has_annotation("SENT_START"):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]


def iter_candidates(doc: Doc, directed: bool) -> Iterator[Candidate]:
    """All entity pairs inside one sentence, in a deterministic order."""
    ents = list(doc.ents)
    if len(ents) < 2:
        return
    i = 0
    for s_start, s_end in sentence_bounds(doc):
        while i < len(ents) and ents[i].start < s_start:
            i += 1
        group = []
        j = i
        while j < len(ents) and ents[j].end <= s_end:
            group.append(ents[j])
            j += 1
        i = j
        for a in range(len(group)):
            for b in range(len(group)):
                if a == b or (not directed and b < a):
                    continue
                e1, e2 = group[a], group[b]
                yield Candidate(
                    sent=(s_start, s_end),
                    head=(e1.start, e1.end),
                    tail=(e2.start, e2.end),
                    head_label=e1.label_,
                    tail_label=e2.label_,
                )


def gold_index(doc: Doc) -> Dict[Tuple[Offsets, Offsets], str]:
    """Map (head offsets, tail offsets) -> relation label for the relations of ``doc``."""
    return {(h, t): label for h, t, label in relation_keys(doc)}


def gold_label(index: Dict[Tuple[Offsets, Offsets], str], cand: Candidate, directed: bool) -> str:
    label = index.get((cand.head, cand.tail))
    if label is None and not directed:
        label = index.get((cand.tail, cand.head))
    return label if label is not None else OTHER


def learn_type_pairs(docs: Iterable[Doc], directed: bool) -> Set[TypePair]:
    """The type combinations of positive instances in ``docs``."""
    pairs: Set[TypePair] = set()
    for doc in docs:
        index = gold_index(doc)
        if not index:
            continue
        for cand in iter_candidates(doc, directed):
            if gold_label(index, cand, directed) != OTHER:
                pairs.add(cand.type_pair(directed))
    return pairs


def count_candidates(
    docs: Iterable[Doc], type_pairs: Optional[Set[TypePair]] = None
) -> Dict[str, Dict[str, int]]:
    """Candidate counts for both approaches, before and after the type filter.

    ``type_pairs`` maps nothing: when None the filter is learned from ``docs``
    themselves (per approach), as a converter report does for a training set.
    Returns ``{"unordered": {...}, "ordered": {...}}`` with keys ``total``,
    ``positive``, ``negative``, ``filtered_total``, ``filtered_positive``,
    ``filtered_negative``, ``positive_removed_by_filter``.
    """
    docs = list(docs)
    out: Dict[str, Dict[str, int]] = {}
    for name, directed in (("unordered", False), ("ordered", True)):
        allowed = type_pairs if type_pairs is not None else learn_type_pairs(docs, directed)
        c = dict.fromkeys(
            ["total", "positive", "negative", "filtered_total", "filtered_positive",
             "filtered_negative", "positive_removed_by_filter"], 0)
        for doc in docs:
            index = gold_index(doc)
            for cand in iter_candidates(doc, directed):
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
