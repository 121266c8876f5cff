"""Training losses (PyTorch functions on score tensors).

Gold labels are class indices ``0..C-1`` for the relation labels and ``C``
for Other. All losses are sums over the batch, as in the paper.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

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


@dataclass
class LossSettings:
    n_labels: int
    classification_loss: str = "ranking"
    multitask: bool = True
    alpha: float = 1.0
    beta: float = 1.0
    margin_pos: float = 2.5
    margin_neg: float = 0.5
    gamma: float = 2.0
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


TERMS = ("identification", "ranking_pos", "ranking_neg", "cross_entropy")


def instance_terms(
    class_scores: torch.Tensor, id_logits: torch.Tensor, gold: torch.Tensor, s: LossSettings
) -> Dict[str, Optional[torch.Tensor]]:
    """The terms of :func:`total_loss` per instance, unweighted, (P,) each; None for a
    term the settings leave out. Keys :data:`TERMS`: ``identification`` (loss1),
    ``ranking_pos`` (L+, zero for Other), ``ranking_neg`` (L-), ``cross_entropy``."""
    out: Dict[str, Optional[torch.Tensor]] = dict.fromkeys(TERMS)
    if s.classification_loss in ("ranking", "both"):
        out["ranking_pos"], out["ranking_neg"] = ranking_terms(
            class_scores[:, : s.n_labels], gold, s.margin_pos, s.margin_neg, s.gamma
        )
    if s.classification_loss in ("cross_entropy", "both"):
        out["cross_entropy"] = F.cross_entropy(class_scores, gold, reduction="none")
    if s.multitask:
        out["identification"] = F.cross_entropy(id_logits, (gold < s.n_labels).long(), reduction="none")
    return out


def loss_terms(
    class_scores: torch.Tensor, id_logits: torch.Tensor, gold: torch.Tensor, s: LossSettings
) -> dict:
    """:func:`instance_terms` as numpy arrays (P,), zeros for a term left out.

    ``alpha * identification + beta * (ranking_pos + ranking_neg +
    cross_entropy)`` summed over instances equals :func:`total_loss` (without
    class weights). For diagnostics; no gradient.
    """
    P = class_scores.shape[0]
    if P == 0:
        return {k: numpy.zeros(0, dtype="float32") for k in TERMS}
    with torch.no_grad():
        terms = instance_terms(class_scores, id_logits, gold, s)
    return {
        k: numpy.zeros(P, dtype="float32") if v is None else v.detach().cpu().numpy()
        for k, v in terms.items()
    }


def loss_term_gradients(
    class_scores: torch.Tensor, id_logits: torch.Tensor, gold: torch.Tensor, s: LossSettings
) -> dict:
    """Per instance, the L1 norm of each term's gradient with respect to that
    instance's scores (class scores for the classification terms, the two
    identification logits for loss1), unweighted: how hard each term pulls on
    each instance. Keys as :func:`loss_terms`."""
    P = class_scores.shape[0]
    out = {}
    for name in TERMS:
        cs = class_scores.detach().clone().requires_grad_(True)
        il = id_logits.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            term = instance_terms(cs, il, gold, s)[name] if P else None
            if term is None:
                out[name] = numpy.zeros(P, dtype="float32")
                continue
            term.sum().backward()
        g = il.grad if name == "identification" else cs.grad
        out[name] = g.abs().sum(1).detach().cpu().numpy()
    return out


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
