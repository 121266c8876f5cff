import math

import pytest
import torch
from util import loss_settings

from spacy_bio_rel.training.losses import (
    cross_entropy_loss,
    identification_loss,
    ranking_loss,
    total_loss,
)


def softplus(x):
    return math.log1p(math.exp(x))


def test_ranking_loss_matches_the_formula():
    s = torch.tensor([[3.0, -1.0, 0.5], [0.2, 1.5, -0.3]])
    gold = torch.tensor([0, 3])  # class 0; Other
    mp, mn, g = 2.5, 0.5, 2.0
    expected = softplus(g * (mp - 3.0)) + softplus(g * (mn + 0.5))  # y- = class 2 (0.5)
    expected += softplus(g * (mn + 1.5))  # Other: only L-, best over all classes
    assert ranking_loss(s, gold, mp, mn, g).item() == pytest.approx(expected, rel=1e-6)


def test_single_label_positive_has_no_negative_term():
    s = torch.tensor([[1.0]])
    assert ranking_loss(s, torch.tensor([0]), 2.5, 0.5, 2.0).item() == pytest.approx(softplus(2 * 1.5))


def _gradcheck(fn, *shape):
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-5)


def test_ranking_loss_gradient_numerically():
    gold = torch.tensor([0, 2, 4, 1, 4])
    _gradcheck(lambda s: ranking_loss(s, gold, 2.5, 0.5, 2.0), 5, 4)
    _gradcheck(lambda s: ranking_loss(s, gold, 4.5, -0.5, 2.0), 5, 4)


@pytest.mark.parametrize("cl", ["ranking", "cross_entropy", "both"])
@pytest.mark.parametrize("multitask", [True, False])
def test_total_loss_gradient_numerically(cl, multitask):
    gold = torch.tensor([0, 3, 1, 3])
    settings = loss_settings(n_labels=3, classification_loss=cl, multitask=multitask, alpha=0.7, beta=1.3)
    width = 4 if cl != "ranking" else 3
    ident = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    cls = torch.randn(4, width, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda c, i: total_loss(c, i, gold, settings), (cls, ident), eps=1e-6, atol=1e-5
    )


def test_total_loss_composition():
    gold = torch.tensor([0, 3, 2])
    cls = torch.randn(3, 4)
    ident = torch.randn(3, 2)
    rank = ranking_loss(cls[:, :3], gold, 2.5, 0.5, 2.0)
    ce = cross_entropy_loss(cls, gold)
    ide = identification_loss(ident, gold, 3)
    s = loss_settings(n_labels=3, classification_loss="both", multitask=True, alpha=0.5, beta=2.0)
    assert total_loss(cls, ident, gold, s).item() == pytest.approx(
        0.5 * ide.item() + 2.0 * (rank + ce).item(), rel=1e-5
    )
    s = loss_settings(n_labels=3, classification_loss="ranking", multitask=False)
    assert total_loss(cls[:, :3], ident, gold, s).item() == pytest.approx(rank.item(), rel=1e-6)
    with pytest.raises(ValueError, match="classification_loss"):
        loss_settings(n_labels=3, classification_loss="hinge")


def test_empty_losses_are_zero():
    z = torch.zeros((0, 3), requires_grad=True)
    g = torch.zeros((0,), dtype=torch.long)
    assert ranking_loss(z, g, 1, 1, 1).item() == 0.0
    assert total_loss(z, torch.zeros((0, 2)), g, loss_settings(n_labels=3)).item() == 0.0


def test_class_weights_balance_the_labels_and_keep_their_mean():
    from spacy_bio_rel.training.losses import class_weights

    assert class_weights([30, 10, 500], 0.0, 1.0) == [1.0, 1.0, 1.0]
    w = class_weights([90, 10, 500], 0.5, 1.0)
    assert w[2] == 1.0 and w[1] == pytest.approx(3 * w[0])
    assert (90 * w[0] + 10 * w[1]) / 100 == pytest.approx(1.0)
    w = class_weights([90, 10, 500], 0.5, 4.0)
    assert (90 * w[0] + 10 * w[1]) / 100 == pytest.approx(4.0) and w[2] == 1.0
    assert class_weights([0, 10, 5], 1.0, 1.0)[0] == 0.0  # a label without training instances


def test_weighted_loss_is_the_weighted_sum_of_instance_losses():
    import torch

    from spacy_bio_rel.training.losses import total_loss

    g = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 3, generator=g)
    ident = torch.randn(6, 2, generator=g)
    gold = torch.tensor([0, 1, 2, 2, 1, 2])
    weights = (2.0, 0.5, 1.0)
    plain = loss_settings(n_labels=2)
    weighted = loss_settings(n_labels=2, class_weights=weights)
    expected = sum(
        weights[int(gold[i])] * total_loss(scores[i : i + 1], ident[i : i + 1], gold[i : i + 1], plain)
        for i in range(6)
    )
    assert float(total_loss(scores, ident, gold, weighted)) == pytest.approx(float(expected), rel=1e-5)
    assert float(
        total_loss(scores, ident, gold, loss_settings(n_labels=2, class_weights=(1.0, 1.0, 1.0)))
    ) == pytest.approx(float(total_loss(scores, ident, gold, plain)), rel=1e-6)
