"""Transformers in bfloat16.

:func:`use_bfloat16` runs the forward pass of every Hugging Face model in a pipeline (or in the
named components) under ``torch.autocast(dtype=torch.bfloat16)`` on the model's device: matrix
products in bfloat16, the reductions and layer norms in float32, the outputs given back as float32.
The weights stay float32, so nothing saved changes. Prediction uses it through ``predict --bf16`` and
``evaluate --bf16``; training through the ``spacy-bio-rel.bfloat16.v1`` callback
(training/callbacks.py), where the backward pass follows the forward's precision and the optimizer
updates the float32 weights (mixed precision, with bfloat16's float32 range: no loss scaling).

On a CPU with native bfloat16 (AVX-512 BF16 or AMX) a MiniLM-L6 forward pass runs about twice as
fast; on one without, bfloat16 is emulated and slower, and :func:`use_bfloat16` warns. bfloat16 keeps
8 bits of mantissa, so the encoder's vectors move slightly and a few close decisions of the heads
change (docs/predict.md has the measured effect).
"""

import functools
import warnings
from typing import Any, List, Optional, Sequence

import torch
from spacy.language import Language

from .torch_modules import wrapped_modules


def transformer_modules(nlp: Language, components: Optional[Sequence[str]] = None) -> List[torch.nn.Module]:
    """The Hugging Face models of ``nlp``'s components (those of spacy-transformers' shims), or of the
    named ``components`` only."""
    try:
        from transformers import PreTrainedModel
    except ImportError:  # no transformers installed: no transformer in any pipeline
        return []
    found: List[torch.nn.Module] = []
    for name, pipe in nlp.pipeline:
        if components is not None and name not in components:
            continue
        for module in wrapped_modules(getattr(pipe, "model", None)):
            if isinstance(module, PreTrainedModel) and all(module is not m for m in found):
                found.append(module)
    return found


def native_bfloat16(device_type: str) -> bool:
    """Whether ``device_type`` ("cpu" or "cuda") computes in bfloat16 natively."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without the query: assume emulated
        return False


def use_bfloat16(nlp: Language, components: Optional[Sequence[str]] = None) -> int:
    """Run every transformer of ``nlp`` (or of the named ``components``) in bfloat16 from now on; the
    number of transformers.

    A pipeline (or a choice of components) without one is an error that names the components.
    """
    modules = transformer_modules(nlp, components)
    if not modules:
        where = "this pipeline" if components is None else f"the components {list(components)}"
        raise ValueError(
            f"bfloat16 applies to a pipeline's transformer, and {where} has none "
            f"(components: {nlp.component_names})"
        )
    for module in modules:
        device_type = next(module.parameters()).device.type
        if not native_bfloat16(device_type):
            warnings.warn(
                f"this {device_type.upper()} has no native bfloat16: the transformer runs slower in "
                f"bfloat16 than in float32",
                stacklevel=2,
            )
        if not getattr(module.forward, "bfloat16", False):
            module.forward = _autocast(module.forward, device_type)
    return len(modules)


def _autocast(forward, device_type: str):
    @functools.wraps(forward)
    def bfloat16_forward(*args, **kwargs):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return _as_float32(forward(*args, **kwargs))

    bfloat16_forward.bfloat16 = True
    return bfloat16_forward


def _as_float32(out: Any) -> Any:
    """Floating tensors of a model output (a ModelOutput, tuple or tensor) as float32."""
    if torch.is_tensor(out):
        return out.float() if out.is_floating_point() and out.dtype != torch.float32 else out
    if isinstance(out, tuple) and not hasattr(out, "keys"):
        return type(out)(_as_float32(o) for o in out)
    if hasattr(out, "keys"):
        for key in list(out.keys()):
            out[key] = _as_float32(out[key])
    return out
