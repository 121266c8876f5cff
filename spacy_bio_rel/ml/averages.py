"""The optimiser's parameter averages in the wrapped torch network.

With ``use_averages = true``, spaCy scores and saves the pipeline inside
``nlp.use_params(optimizer.averages)``. Thinc's ``PyTorchShim`` hands its
parameters to the optimiser under the keys ``(shim.id, name)`` but looks the
averages up under ``"pytorch_{shim.id}_{name}"``, so it finds none and
yields with the current weights (Thinc 8.3): the setting had no effect on
the CNN. :func:`use_torch_averages` swaps them in under the keys the
optimiser wrote, in place (so the prediction tables, keyed on each
parameter's version, are rebuilt), and restores the weights afterwards.
"""

import contextlib
from typing import Dict, Iterator, List, Tuple

import torch
from thinc.api import Model, PyTorchShim, xp2torch


@contextlib.contextmanager
def use_torch_averages(model: Model, params: Dict) -> Iterator[int]:
    """Within the block, every torch parameter of ``model``'s PyTorch shims that has an average in
    ``params`` holds it; yields how many were swapped."""
    saved: List[Tuple[torch.nn.Parameter, torch.Tensor]] = []
    if params:
        for node in model.walk():
            for shim in node.shims:
                if not isinstance(shim, PyTorchShim):
                    continue
                for name, param in shim._model.named_parameters():
                    average = params.get((shim.id, name))
                    if average is None:
                        continue
                    with torch.no_grad():
                        saved.append((param, param.detach().clone()))
                        param.copy_(xp2torch(average, device=param.device).view_as(param))
    try:
        yield len(saved)
    finally:
        with torch.no_grad():
            for param, before in saved:
                param.copy_(before)
