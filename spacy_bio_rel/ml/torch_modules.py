"""The torch modules inside a pipeline component's Thinc model (PyTorchShim and its subclasses)."""

from typing import Any, List

import torch
from thinc.api import Model


def wrapped_modules(model: Any) -> List[torch.nn.Module]:
    """The torch modules that the shims of a Thinc ``model`` (and its layers) wrap; none for another object."""
    if not isinstance(model, Model):
        return []
    found: List[torch.nn.Module] = []
    for node in model.walk():
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if isinstance(module, torch.nn.Module) and all(module is not m for m in found):
                found.append(module)
    return found
