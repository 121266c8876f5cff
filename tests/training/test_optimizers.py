import numpy
import torch

from spacy_bio_rel.training.optimizers import configure_rmsprop


def test_rmsprop_matches_torch():
    rng = numpy.random.default_rng(0)
    w0 = rng.normal(size=(5, 3)).astype("float32")
    grads = [rng.normal(size=(5, 3)).astype("float32") for _ in range(4)]
    opt = configure_rmsprop(learn_rate=0.01, rho=0.9, eps=1e-7)
    w = w0.copy()
    for g in grads:
        w, _ = opt((0, "w"), w, g.copy())
    p = torch.nn.Parameter(torch.tensor(w0))
    topt = torch.optim.RMSprop([p], lr=0.01, alpha=0.9, eps=1e-7)
    for g in grads:
        p.grad = torch.tensor(g)
        topt.step()
    numpy.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-5, atol=1e-6)
