"""RMSprop for spaCy training (the paper's optimiser).

Thinc's ``Optimizer`` implements Adam and SGD but refuses ``beta1 = 0`` (the
RMSprop case), so this subclass adds the plain RMSprop rule:
``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / (sqrt(v) + eps)``.
"""

import torch
from spacy.util import registry
from thinc.api import Optimizer
from thinc.backends import get_array_ops
from thinc.types import FloatsXd


class RMSprop(Optimizer):
    def __init__(
        self,
        learn_rate: float,
        *,
        rho: float = 0.9,
        eps: float = 1e-7,
        grad_clip: float = 0.0,
        L2: float = 0.0,
        use_averages: bool = False,
    ):
        super().__init__(
            learn_rate, L2=L2, grad_clip=grad_clip, use_averages=use_averages, beta1=0.0, beta2=rho, eps=eps
        )
        self.rho = rho
        self._scratch = {}

    def __call__(self, key, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0):
        if len(gradient) < 1:
            return weights, gradient
        ops = get_array_ops(weights)
        self.nr_update[key] += 1
        if self.L2 != 0:
            gradient += self.L2 * weights
        if self.grad_clip:
            gradient = ops.clip_gradient(gradient, self.grad_clip)
        if key not in self.mom2:
            self.mom2[key] = ops.alloc(weights.shape, dtype="float32")
        # In place, through torch views of the same memory (numpy or cupy):
        # multi-threaded, and no fresh parameter-sized temporaries per step.
        w, g, v = (torch.from_dlpack(a) for a in (weights, gradient, self.mom2[key]))
        v.mul_(self.rho).addcmul_(g, g, value=1.0 - self.rho)
        denom = self._scratch.get(key)
        if denom is None or denom.shape != v.shape or denom.device != v.device:
            denom = self._scratch[key] = torch.empty_like(v)  # reused: no fresh pages per step
        torch.sqrt(v, out=denom).add_(self.eps)
        w.addcdiv_(g, denom, value=-(lr_scale * self.learn_rate))
        g.zero_()
        if self.averages is not None:
            if key not in self.averages:
                self.averages[key] = ops.alloc(weights.shape, dtype="float32")
            ops.update_averages(self.averages[key], weights, self.nr_update[key])
        return weights, gradient


@registry.optimizers("spacy-bio-rel.RMSprop.v1")
def configure_rmsprop(
    learn_rate: float = 0.001,
    rho: float = 0.9,
    eps: float = 1e-7,
    grad_clip: float = 0.0,
    L2: float = 0.0,
    use_averages: bool = False,
) -> Optimizer:
    """RMSprop (Keras defaults rho=0.9, eps=1e-7); the paper uses learn_rate 0.001."""
    return RMSprop(learn_rate, rho=rho, eps=eps, grad_clip=grad_clip, L2=L2, use_averages=use_averages)


class ScaledOptimizer:
    """A view of ``optimizer`` whose learning rate is multiplied by ``scale`` (for one component's
    parameters); everything else, its state included, is the optimizer's own."""

    def __init__(self, optimizer: Optimizer, scale: float):
        self.optimizer = optimizer
        self.scale = scale

    def __call__(self, key, weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0):
        return self.optimizer(key, weights, gradient, lr_scale=lr_scale * self.scale)

    def __getattr__(self, name: str):
        return getattr(self.optimizer, name)
