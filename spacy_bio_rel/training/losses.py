"""Training losses (PyTorch functions on score tensors).

Gold labels are class indices ``0..C-1`` for the relation labels and ``C``
for Other. All losses are sums over the batch, as in the paper.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy
import torch
import torch.nn.functional as F
from thinc.api import torch2xp, xp2torch

CLASSIFICATION_LOSSES = ("ranking", "cross_entropy", "both")


def ranking_terms(
    scores: torch.Tensor, gold: torch.Tensor, margin_pos: float, margin_neg: float, gamma: float
) -> Tuple[torch.Tensor, torch.Tensor]:
    """dos Santos et al. (2015) pairwise ranking loss per instance: ``(L+, L-)``, each (P,).

    ``scores``: (P, C) class scores, no column for Other. For a positive
    instance: ``L+ = log(1 + exp(gamma (m+ - s_y+)))`` and
    ``L- = log(1 + exp(gamma (m- + s_y-)))`` with y- the highest-scoring wrong
    class; for Other ``L+ = 0`` and L- over all classes.
    """
    P, C = scores.shape
    positive = gold < C
    rows = torch.arange(P, device=scores.device)
    safe_gold = torch.where(positive, gold, torch.zeros_like(gold))
    s_pos = scores[rows, safe_gold]
    l_pos = F.softplus(gamma * (margin_pos - s_pos)) * positive
    wrong = scores.masked_fill(F.one_hot(safe_gold, C).bool() & positive[:, None], float("-inf"))
    if C == 1:  # a positive instance has no wrong class: L- is zero there
        s_neg = torch.where(positive, torch.full_like(s_pos, float("-inf")), scores[:, 0])
    else:
        s_neg = wrong.max(1).values
    return l_pos, F.softplus(gamma * (margin_neg + s_neg))


def ranking_loss(
    scores: torch.Tensor,
    gold: torch.Tensor,
    margin_pos: float,
    margin_neg: float,
    gamma: float,
    weights: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """:func:`ranking_terms` summed over instances (weighted by ``weights``, if given)."""
    if scores.shape[0] == 0:
        return scores.sum() * 0.0
    l_pos, l_neg = ranking_terms(scores, gold, margin_pos, margin_neg, gamma)
    return _weighted_sum(l_pos + l_neg, weights)


def _weighted_sum(per_instance: torch.Tensor, weights: Optional[torch.Tensor]) -> torch.Tensor:
    return per_instance.sum() if weights is None else (per_instance * weights).sum()


def cross_entropy_loss(
    logits: torch.Tensor, gold: torch.Tensor, weights: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Softmax cross-entropy over C relation classes + Other (last column)."""
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return _weighted_sum(F.cross_entropy(logits, gold, reduction="none"), weights)


def identification_loss(
    id_logits: torch.Tensor, gold: torch.Tensor, n_labels: int, weights: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """Binary cross-entropy (2-way softmax): has a relation (1) or not (0)."""
    if id_logits.shape[0] == 0:
        return id_logits.sum() * 0.0
    return _weighted_sum(F.cross_entropy(id_logits, (gold < n_labels).long(), reduction="none"), weights)


def class_weights(counts: Sequence[int], power: float, positive_weight: float) -> List[float]:
    """Weight of each gold class (relation labels, then Other) in every loss term.

    ``counts``: training candidates per class, Other last. The relation
    classes get ``n_c ** -power``, scaled so that their mean over the
    positive instances is ``positive_weight``; Other gets 1. ``power = 0``
    and ``positive_weight = 1``: every instance weighs 1 (the paper).
    ``power = 0.5`` lifts a rare label's pull towards its margin against the
    many negatives it is confused with, without shifting the
    positive/negative balance; ``positive_weight`` shifts that balance.
    """
    rel = numpy.asarray(counts[:-1], dtype="float64")
    raw = numpy.where(rel > 0, numpy.maximum(rel, 1.0) ** -float(power), 0.0)
    total = rel.sum()
    scale = total / (rel * raw).sum() if total > 0 and (rel * raw).sum() > 0 else 1.0
    return [float(w) for w in raw * scale * float(positive_weight)] + [1.0]


@dataclass(frozen=True)
class LossSettings:
    """The loss settings of the component (their defaults: the factory's ``default_config``)."""

    n_labels: int
    classification_loss: str
    multitask: bool
    alpha: float
    beta: float
    margin_pos: float
    margin_neg: float
    gamma: float
    class_weights: Optional[Tuple[float, ...]] = None  # per class (labels, then Other); None: all 1

    def __post_init__(self):
        if self.classification_loss not in CLASSIFICATION_LOSSES:
            raise ValueError(
                f"classification_loss must be one of {CLASSIFICATION_LOSSES}, got {self.classification_loss!r}"
            )


def total_loss(
    class_scores: torch.Tensor, id_logits: torch.Tensor, gold: torch.Tensor, s: LossSettings
) -> torch.Tensor:
    """``L = alpha * loss1 + beta * loss2`` (loss1 only when multi-task).

    ``class_scores`` has C columns, or C + 1 (the last for Other) when the
    classification loss includes cross-entropy.
    """
    w = None
    if s.class_weights is not None:
        w = torch.as_tensor(s.class_weights, dtype=class_scores.dtype, device=class_scores.device)[gold]
    loss2 = class_scores.sum() * 0.0
    if s.classification_loss in ("ranking", "both"):
        loss2 = loss2 + ranking_loss(
            class_scores[:, : s.n_labels], gold, s.margin_pos, s.margin_neg, s.gamma, w
        )
    if s.classification_loss in ("cross_entropy", "both"):
        loss2 = loss2 + cross_entropy_loss(class_scores, gold, w)
    loss = s.beta * loss2
    if s.multitask:
        loss = loss + s.alpha * identification_loss(id_logits, gold, s.n_labels, w)
    return loss


def loss_and_gradient(classes, ident, gold, settings: LossSettings):
    """Loss of one step and its gradients with respect to the network outputs.

    ``classes`` (P, C[+1]) and ``ident`` (P, 2) are Thinc arrays (numpy or
    cupy), ``gold`` (P,) class indices (C for Other). Returns ``(loss,
    d_classes, d_ident)`` with the gradients as arrays of the same kind.
    """
    classes_t = xp2torch(classes, requires_grad=True)
    ident_t = xp2torch(ident, requires_grad=True)
    gold_t = torch.as_tensor(numpy.asarray(gold), dtype=torch.long, device=classes_t.device)
    loss = total_loss(classes_t, ident_t, gold_t, settings)
    loss.backward()
    grads = [t.grad if t.grad is not None else torch.zeros_like(t) for t in (classes_t, ident_t)]
    return float(loss.item()), torch2xp(grads[0]), torch2xp(grads[1])
