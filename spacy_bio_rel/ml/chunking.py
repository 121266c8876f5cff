"""How a prediction batch is split into model calls.

The network pads every sentence window of a call to the longest one, and its
work grows with ``rows x longest``. ``nlp.pipe`` hands the component Docs in
input order, where one long sentence can triple the work of a batch of short
ones (CoNLL04 dev, batches of 64: 30-50% of the padded positions are real).
So prediction sorts the batch's Docs by length and cuts the sorted list into
groups that minimise ``sum(overhead + rows x longest)`` (an exact dynamic
programme over the cut points; ``overhead`` is the cost of one model call,
in padded positions). Each group is then cut again so that no call holds
more than ``max_pairs_per_step`` pairs (a Doc with more is split). A pair's
scores do not depend on the other pairs of its call, so only the amount of
work changes, not the result.
"""

from typing import Dict, Iterator, List, Sequence, Tuple

import numpy
from spacy.tokens import Doc

from spacy_bio_rel.candidates import Candidate
from spacy_bio_rel.data_classes import RelInput

CALL_OVERHEAD = 384  # the cost of one model call, in padded unit positions (measured on CoNLL04, one thread)


def window_length(doc: Doc, cands: Sequence[Candidate], granularity: str, max_length: int) -> Tuple[int, int]:
    """(rows, longest): the windows of the candidates, and the longest of them
    in units (tokens, or characters with ``granularity = "char"``), capped at ``max_length``.

    A sentence of at most ``max_length`` units is one window, shared by its
    pairs; in a longer one each pair may see a window of its own
    (:func:`~.features.crop_window`), so it counts a row per candidate (at most)."""
    per_sent: Dict[Tuple[int, int], int] = {}
    for c in cands:
        per_sent[c.sent] = per_sent.get(c.sent, 0) + 1
    if not per_sent:
        return 0, 0
    rows = longest = 0
    for (s, e), n_cands in per_sent.items():
        n = e - s if granularity == "token" else doc[e - 1].idx + len(doc[e - 1].text) - doc[s].idx
        rows += 1 if n <= max_length else n_cands
        longest = max(longest, n)
    return rows, min(longest, max_length)


def length_groups(
    rows: Sequence[int], lengths: Sequence[int], overhead: float = CALL_OVERHEAD
) -> List[List[int]]:
    """Indices grouped into calls: sorted by length, cut where that minimises
    ``sum(overhead + rows_in_group x longest_in_group)``. Items with no rows
    are left out."""
    order = [i for i in sorted(range(len(lengths)), key=lambda i: lengths[i]) if rows[i]]
    if not order:
        return []
    R = numpy.concatenate([[0], numpy.cumsum([rows[i] for i in order])]).astype("float64")
    L = numpy.asarray([lengths[i] for i in order], dtype="float64")
    m = len(order)
    best = numpy.zeros(m + 1)
    cut = numpy.zeros(m + 1, dtype="int64")
    for j in range(1, m + 1):
        costs = best[:j] + overhead + (R[j] - R[:j]) * L[j - 1]
        cut[j] = int(costs.argmin())
        best[j] = costs[cut[j]]
    groups = []
    j = m
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def pair_chunks(X: RelInput, docs: Sequence[int], limit: int) -> Iterator[Tuple[List[int], RelInput]]:
    """The Docs ``docs`` of ``X`` in parts of at most ``limit`` pairs (a Doc
    with more candidates is split); yields (Doc index in ``X`` of each part's
    entries, part)."""
    where: List[int] = []
    part = RelInput([], [], [])
    n = 0
    for d in docs:
        doc, ents, cands = X.docs[d], X.ents[d], X.cands[d]
        start = 0
        while start < len(cands):
            take = min(limit - n, len(cands) - start)
            where.append(d)
            part.docs.append(doc)
            part.ents.append(ents)
            part.cands.append(cands[start : start + take])
            n += take
            start += take
            if n >= limit:
                yield where, part
                where, part, n = [], RelInput([], [], []), 0
    if n:
        yield where, part


def prediction_chunks(
    X: RelInput, limit: int, granularity: str, max_length: int, overhead: float = CALL_OVERHEAD
) -> Iterator[Tuple[List[int], RelInput]]:
    """Model calls for ``X``: length groups, each cut to at most ``limit`` pairs."""
    sizes = [window_length(doc, cands, granularity, max_length) for doc, cands in zip(X.docs, X.cands)]
    for group in length_groups([r for r, _ in sizes], [n for _, n in sizes], overhead):
        yield from pair_chunks(X, group, limit)
