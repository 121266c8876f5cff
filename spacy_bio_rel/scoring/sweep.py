"""Precision, recall and F1 over a range of cut-offs on ``Relation.score``.

A user who needs more precision (or more recall) than the trained threshold
gives keeps only the relations whose ``score`` is at least a cut-off θ. This
module measures what each θ would give on a dev set:

1. :func:`collect_scored` runs the pipeline once and scores every candidate
   pair with :meth:`RelationExtractor.score_candidates` (its best label and
   score, no threshold), and returns every pair the component would predict
   at some cut-off, with its score, and the gold relations;
2. :func:`sweep` (pure arithmetic, no model) counts, for every cut-off θ,
   the predictions with ``score >= θ`` and the correct ones among them.

A prediction at θ is correct when its key is among the gold keys: in the
gold-entity setting the protocol's key (character spans and label, the
direction ignored with ``directed = false``), with predicted entities the
strict end-to-end key (spans, entity types and label; see
:mod:`.e2e_scorer`). Recall counts every gold relation. With
``classification_loss = "cross_entropy"`` the component predicts Other by
argmax, not by threshold, so the sweep can only raise the cut-off above what
it predicts.
"""

import bisect
import math
from dataclasses import asdict, dataclass
from typing import Any, Collection, Dict, Hashable, Iterable, Iterator, List, Optional, Sequence, Tuple

from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import minibatch

from spacy_bio_rel.data_classes import ScoredCandidate
from spacy_bio_rel.relations import Relation
from spacy_bio_rel.scoring.counts import prf
from spacy_bio_rel.scoring.e2e_scorer import doc_relation_keys, relation_key

ScoredKey = Tuple[Hashable, float]


@dataclass(frozen=True)
class SweepRow:
    cutoff: float
    p: float
    r: float
    f: float
    n_pred: int
    n_correct: int
    n_gold: int

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def default_cutoffs(scores: Sequence[float], n: int = 21) -> List[float]:
    """``n`` evenly spaced cut-offs: over [0, 1] when every score lies there
    (a confidence), else from the lowest to the highest score."""
    if not scores:
        return [0.0]
    lo, hi = min(scores), max(scores)
    if 0.0 <= lo and hi <= 1.0:
        lo, hi = 0.0, 1.0
    if hi == lo or n < 2:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def sweep(
    gold: Collection[Hashable], predicted: Iterable[ScoredKey], cutoffs: Iterable[float]
) -> List[SweepRow]:
    """P/R/F1 of the predictions with ``score >= cutoff``, for each cut-off.

    ``gold``: the gold keys (unique, hashable, e.g. ``(doc_index, head, tail,
    label)``); ``predicted``: ``(key, score)`` pairs. A key predicted twice
    counts once, with its highest score.
    """
    gold = set(gold)
    best: Dict[Hashable, float] = {}
    for key, score in predicted:
        score = float(score)
        if key not in best or score > best[key]:
            best[key] = score
    ordered = sorted((score, key in gold) for key, score in best.items())
    scores = [s for s, _ in ordered]
    # correct_from[i]: correct predictions among ordered[i:]
    correct_from = [0] * (len(ordered) + 1)
    for i in range(len(ordered) - 1, -1, -1):
        correct_from[i] = correct_from[i + 1] + ordered[i][1]
    rows = []
    for cutoff in cutoffs:
        i = bisect.bisect_left(scores, cutoff)
        n_pred, n_correct = len(ordered) - i, correct_from[i]
        p, r, f = prf(n_correct, n_pred, len(gold))
        rows.append(SweepRow(float(cutoff), p, r, f, n_pred, n_correct, len(gold)))
    return rows


def best_row(rows: Sequence[SweepRow]) -> Optional[SweepRow]:
    """The row with the highest F1; among equal F1, the higher precision, then the higher cut-off."""
    return max(rows, key=lambda row: (row.f, row.p, row.cutoff), default=None)


def best_cutoff(gold: Collection[Hashable], predicted: Sequence[ScoredKey]) -> Optional[SweepRow]:
    """The best cut-off among all distinct predicted scores (the exact optimum on this data)."""
    return best_row(sweep(gold, predicted, sorted({float(s) for _, s in predicted})))


def scored_candidates(
    nlp: Language, docs: Iterable[Doc], *, component: str, batch_size: int = 64
) -> Iterator[Tuple[Doc, List[ScoredCandidate]]]:
    """Each Doc of ``docs`` after the pipeline's other components, with its candidates scored by
    ``component`` (:meth:`RelationExtractor.score_candidates`: best label and score, no threshold)."""
    pipe = nlp.get_pipe(component)
    for batch in minibatch(nlp.pipe(docs, batch_size=batch_size, disable=[component]), batch_size):
        yield from zip(batch, pipe.score_candidates(batch))


def collect_scored(
    nlp: Language,
    examples: Sequence[Example],
    *,
    component: str,
    predicted_entities: bool,
    batch_size: int = 64,
    raw: bool = False,
) -> Tuple[List[Hashable], List[ScoredKey]]:
    """Gold keys and scored predicted keys of ``examples``, keys prefixed by the Doc's index.

    The pipeline runs on the examples' predicted Docs: with gold entities as the gold-entity
    reader makes them (``predicted_entities = False``), or the reference's tokens and sentences
    without entities (``EndToEndCorpus``), the pipeline setting the entities. Every candidate that
    the component would predict at some θ is kept (:meth:`RelationExtractor.select` with θ = -inf
    for every label), with its confidence (``Relation.score``), or with ``raw`` its raw class score.
    """
    pipe = nlp.get_pipe(component)
    directed = bool(pipe.cfg.get("directed", True))
    typed = predicted_entities
    no_threshold = {label: -math.inf for label in pipe.labels}
    gold: List[Hashable] = []
    predicted: List[ScoredKey] = []
    docs = (eg.predicted for eg in examples)
    scored = scored_candidates(nlp, docs, component=component, batch_size=batch_size)
    for i, (eg, (doc, doc_scored)) in enumerate(zip(examples, scored)):
        gold.extend((i,) + key for key in doc_relation_keys(eg.reference, directed=directed, typed=typed))
        for x in pipe.select(doc_scored, no_threshold):
            key = relation_key(Relation(x.head, x.tail, x.label), directed=directed, typed=typed)
            predicted.append(((i,) + key, x.score if raw else x.confidence))
    return gold, predicted


def format_sweep(rows: Sequence[SweepRow], best: Optional[SweepRow], exact: Optional[SweepRow]) -> str:
    lines = [f"{'cut-off':>10}  {'P':>6}  {'R':>6}  {'F1':>6}  {'predicted':>9}  {'correct':>7}"]
    for row in rows:
        mark = "  <- best" if best is not None and row == best else ""
        lines.append(
            f"{row.cutoff:10.4g}  {100 * row.p:6.2f}  {100 * row.r:6.2f}  {100 * row.f:6.2f}  "
            f"{row.n_pred:9d}  {row.n_correct:7d}{mark}"
        )
    if rows:
        lines.append(f"gold relations: {rows[0].n_gold}")
    if best is not None:
        lines.append(
            f"best on this grid: cut-off {best.cutoff:.4g} (P {100 * best.p:.2f}, R {100 * best.r:.2f}, "
            f"F1 {100 * best.f:.2f})"
        )
    if exact is not None:
        lines.append(
            f"best over all scores: cut-off {exact.cutoff:.4g} (P {100 * exact.p:.2f}, "
            f"R {100 * exact.r:.2f}, F1 {100 * exact.f:.2f})"
        )
    lines.append(
        "keep a relation when its score >= the cut-off: [r for r in doc._.relations if r.score >= cutoff]"
    )
    return "\n".join(lines)
