"""Relation scores split by how many sentences apart the two arguments are.

A relation's distance is the number of sentence boundaries between the sentence of its head and
that of its tail, read on the REFERENCE Doc's sentences (so a prediction and the gold relation it
matches always fall in the same part): 0 for an in-sentence relation. :func:`scores_by_distance`
gives micro P/R/F1 of the in-sentence relations, of the cross-sentence ones and of all together,
and how many gold relations lie beyond the component's ``sentence_window`` (distance of at least
``sentence_window``): no candidate reaches them, so they bound recall from above. Relations are
matched by the keys of :func:`~.training.gold.relation_set` (spans and label, the gold-entity
setting), or by others given as ``keys``, e.g. the strict keys of :mod:`.e2e_scorer` (spans,
entity types and label) for predicted entities.
"""

import bisect
from typing import Any, Callable, Dict, Hashable, Iterable, List, Sequence, Set, Tuple

from spacy.tokens import Doc
from spacy.training import Example

from spacy_bio_rel.candidates import sentence_index
from spacy_bio_rel.training.gold import relation_set

PARTS = ("in_sentence", "cross_sentence", "all")


class SentenceOf:
    """The sentence index of a character offset of one Doc (that of the token it falls in)."""

    def __init__(self, doc: Doc):
        self.starts: List[int] = [t.idx for t in doc]
        self.sents: List[int] = sentence_index(doc)

    def __call__(self, char: int) -> int:
        if not self.starts:
            return 0
        return self.sents[max(0, bisect.bisect_right(self.starts, char) - 1)]

    def distance(self, head: Sequence[int], tail: Sequence[int]) -> int:
        """Sentence boundaries between the sentences of two character spans (their first characters)."""
        return abs(self(head[0]) - self(tail[0]))


def _prf(tp: int, n_pred: int, n_gold: int) -> Dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f, "n_gold": n_gold, "n_pred": n_pred, "n_correct": tp}


RelationKeys = Callable[
    ..., Set[Tuple[Sequence[int], Sequence[int], Hashable]]
]  # called as keys(doc, directed=...)


def scores_by_distance(
    examples: Iterable[Example], directed: bool, sentence_window: int, keys: RelationKeys = relation_set
) -> Dict[str, Any]:
    """``{"in_sentence", "cross_sentence", "all"}``: each ``{p, r, f, n_gold, n_pred, n_correct}``
    (relations matched as :mod:`.scorer` matches them, or by ``keys(doc, directed=directed)``: keys
    ``(head, tail, ...)`` whose head and tail start with their first character offsets);
    ``"beyond_window"``: gold relations at least ``sentence_window`` sentences apart;
    ``"gold_by_distance"``: ``{distance: gold relations}``."""
    counts = {part: [0, 0, 0] for part in PARTS}  # correct, predicted, gold
    gold_by_distance: Dict[int, int] = {}
    for eg in examples:
        sentence_of = SentenceOf(eg.reference)
        gold = keys(eg.reference, directed=directed)
        for key in gold:
            d = sentence_of.distance(key[0], key[1])
            gold_by_distance[d] = gold_by_distance.get(d, 0) + 1
            for part in ("cross_sentence" if d else "in_sentence", "all"):
                counts[part][2] += 1
        for key in keys(eg.predicted, directed=directed):
            part = "cross_sentence" if sentence_of.distance(key[0], key[1]) else "in_sentence"
            for p in (part, "all"):
                counts[p][1] += 1
                counts[p][0] += key in gold
    out: Dict[str, Any] = {part: _prf(*counts[part]) for part in PARTS}
    out["sentence_window"] = sentence_window
    out["beyond_window"] = sum(n for d, n in gold_by_distance.items() if d >= sentence_window)
    out["gold_by_distance"] = {str(d): gold_by_distance[d] for d in sorted(gold_by_distance)}
    return out


def format_distance_scores(scores: Dict[str, Any]) -> List[str]:
    """Lines for ``evaluate``'s printout: the two parts and the ceiling."""
    lines = []
    for part, name in (("in_sentence", "in-sentence"), ("cross_sentence", "cross-sentence")):
        s = scores[part]
        lines.append(
            f"{name:<15}P {100 * s['p']:6.2f}  R {100 * s['r']:6.2f}  F1 {100 * s['f']:6.2f}   "
            f"(gold {s['n_gold']}, predicted {s['n_pred']}, correct {s['n_correct']})"
        )
    n_gold = scores["all"]["n_gold"]
    beyond = scores["beyond_window"]
    ceiling = 100 * (n_gold - beyond) / n_gold if n_gold else 0.0
    lines.append(
        f"gold relations beyond sentence_window = {scores['sentence_window']}: {beyond} of {n_gold} "
        f"(no candidate reaches them: recall at most {ceiling:.2f})"
    )
    return lines
