"""Registered Thinc architectures: the PyTorch network wrapped for spaCy."""
from dataclasses import dataclass
from typing import List

from spacy.util import registry
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d

from ..features import RelBatch
from .torch_model import BioTagCNN

BATCH_FIELDS = ("words", "tags", "lengths", "ent_sent", "ent_start", "ent_end", "pair_e1", "pair_e2")


@dataclass
class RelScores:
    """Network output for P pairs: class scores (P, C[+1]) and identification logits (P, 2)."""

    classes: Floats2d
    ident: Floats2d


@registry.architectures("spacy-bio-rel.BioTagCNN.v1")
def build_bio_tag_cnn(
    word_width: int = 200,
    tag_width: int = 50,
    position_width: int = 50,
    max_distance: int = 100,
    window_sizes: List[int] = [4, 5, 6, 7, 8, 9, 10],
    n_filters: int = 64,
    hidden_width: int = 128,
    dropout: float = 0.2,
    activation: str = "tanh",
    use_words: bool = True,
    use_tags: bool = True,
    use_positions: bool = True,
    shared_convolution: bool = True,
) -> Model[RelBatch, RelScores]:
    """Multi-window CNN with word, BIO-tag and position embeddings (Ye et al. 2019).

    The vocabulary- and label-sized layers are sized by the component in
    ``initialize`` (see :func:`resize_model`). ``shared_convolution = false``
    runs the straightforward per-pair network (same parameters, same result,
    slower): useful as a reference only.
    """
    module = BioTagCNN(
        word_width=word_width,
        tag_width=tag_width,
        position_width=position_width,
        max_distance=max_distance,
        window_sizes=window_sizes,
        n_filters=n_filters,
        hidden_width=hidden_width,
        dropout=dropout,
        activation=activation,
        use_words=use_words,
        use_tags=use_tags,
        use_positions=use_positions,
        fast=shared_convolution,
    )
    return PyTorchWrapper_v2(module, convert_inputs=_convert_inputs, convert_outputs=_convert_outputs)


def torch_module(model: Model) -> BioTagCNN:
    """The wrapped ``BioTagCNN`` of a model built by this module."""
    for node in model.walk():
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if isinstance(module, BioTagCNN):
                return module
    raise ValueError(f"Model {model.name!r} holds no BioTagCNN module")


def resize_model(model: Model, n_words: int, n_tags: int, n_classes: int) -> None:
    torch_module(model).resize(n_words, n_tags, n_classes)


def _convert_inputs(model: Model, X: RelBatch, is_train: bool):
    device = model.shims[0].device
    args = tuple(xp2torch(model.ops.xp.asarray(getattr(X, f)), device=device) for f in BATCH_FIELDS)
    return ArgsKwargs(args=args, kwargs={}), lambda d: []


def _convert_outputs(model: Model, X_Ytorch, is_train: bool):
    _, (classes, ident) = X_Ytorch
    Y = RelScores(classes=torch2xp(classes), ident=torch2xp(ident))
    device = model.shims[0].device

    def backprop(dY: RelScores) -> ArgsKwargs:
        grads = (xp2torch(dY.classes, device=device), xp2torch(dY.ident, device=device))
        return ArgsKwargs(args=((classes, ident),), kwargs={"grad_tensors": grads})

    return Y, backprop
