"""Counting and P/R/F1 arithmetic shared by every scorer of the package.

A scorer turns each Example into two sets of hashable keys, the gold keys
and the predicted keys, whose last element is the label (a relation label,
or an entity type); :func:`count_keys` counts them per label and
:class:`LabelCounts` gives the figures:

* per label: P = correct / predicted, R = correct / gold, F1 their harmonic
  mean, each 0 when its denominator is 0;
* micro: the same over the counts pooled over all labels;
* macro: the means of the per-label P, R and F1 (macro F1 is the mean of the
  per-label F1, not the F1 of macro P and R) over the labels that occur in
  the gold or the predicted keys; 0 when there is none.

A predicted key is correct when the same key is among the gold keys of the
same Example; a key occurs at most once per Example and side.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Hashable, Iterable, Sequence, Tuple

PRF = Tuple[float, float, float]


def prf(tp: int, n_pred: int, n_gold: int) -> PRF:
    """Precision, recall and F1 from ``tp`` correct of ``n_pred`` predicted and ``n_gold`` gold."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


@dataclass
class Counts:
    """Correct (``tp``), predicted and gold counts of one label, or pooled."""

    tp: int = 0
    n_pred: int = 0
    n_gold: int = 0

    @property
    def p(self) -> float:
        return prf(self.tp, self.n_pred, self.n_gold)[0]

    @property
    def r(self) -> float:
        return prf(self.tp, self.n_pred, self.n_gold)[1]

    @property
    def f(self) -> float:
        return prf(self.tp, self.n_pred, self.n_gold)[2]

    @property
    def prf(self) -> PRF:
        return prf(self.tp, self.n_pred, self.n_gold)

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(self.tp + other.tp, self.n_pred + other.n_pred, self.n_gold + other.n_gold)

    def as_prf_dict(self) -> Dict[str, float]:
        """``{"p", "r", "f"}``, the shape of spaCy's ``*_per_type`` tables."""
        p, r, f = self.prf
        return {"p": p, "r": r, "f": f}

    def as_count_dict(self) -> Dict[str, int]:
        return {"n_gold": self.n_gold, "n_pred": self.n_pred, "n_correct": self.tp}


@dataclass
class LabelCounts:
    """Counts per label; micro and macro figures over the labels."""

    per_label: Dict[Hashable, Counts] = field(default_factory=dict)

    @property
    def labels(self) -> Sequence[Hashable]:
        """The labels with a gold or a predicted key, sorted."""
        return sorted(self.per_label)

    @property
    def micro(self) -> Counts:
        total = Counts()
        for label in self.labels:
            total = total + self.per_label[label]
        return total

    @property
    def macro(self) -> PRF:
        labels = self.labels
        if not labels:
            return 0.0, 0.0, 0.0
        rows = [self.per_label[label].prf for label in labels]
        return tuple(sum(row[i] for row in rows) / len(labels) for i in range(3))  # type: ignore[return-value]

    def per_type(self) -> Dict[Hashable, Dict[str, float]]:
        """``{label: {"p", "r", "f"}}`` in label order."""
        return {label: self.per_label[label].as_prf_dict() for label in self.labels}

    def summary(self) -> Dict[str, Any]:
        """``micro`` and ``macro`` (P, R, F1), ``per_type``, and the pooled counts."""
        micro = self.micro
        return {
            "micro": micro.prf,
            "macro": self.macro,
            "per_type": self.per_type(),
            "n_gold": micro.n_gold,
            "n_pred": micro.n_pred,
            "n_correct": micro.tp,
        }


def count_keys(pairs: Iterable[Tuple[Iterable[Hashable], Iterable[Hashable]]]) -> LabelCounts:
    """Per-label counts over ``(gold keys, predicted keys)`` of each Example.

    Each side is a collection of hashable keys whose last element is the
    label; a key counted twice on one side of one Example counts once.
    """
    per_label: Dict[Hashable, Counts] = defaultdict(Counts)
    for gold, pred in pairs:
        gold, pred = set(gold), set(pred)
        for key in gold:
            per_label[key[-1]].n_gold += 1
        for key in pred:
            c = per_label[key[-1]]
            c.n_pred += 1
            if key in gold:
                c.tp += 1
    return LabelCounts(dict(per_label))
