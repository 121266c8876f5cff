"""Several token encoders side by side: one vector a token, their outputs concatenated.

``spacy-bio-rel.concat_tok2vec.v1`` takes tok2vec models that each map
``List[Doc]`` to one ``Floats2d`` a Doc (a transformer listener, a
``spacy.Tok2Vec.v2``) and returns, for each Doc, the columns of all of them
side by side. The gradient of each block of columns goes back to the model
that produced it.

The use it was built for: an uncased encoder (MiniLM-L6 lowercases its
input) cannot see capitalisation, and a small hash embedding of ``SHAPE``,
``PREFIX``, ``SUFFIX`` and ``NORM`` beside it gives a ``ner`` that cue back.
On CoNLL04 with MiniLM-L6 it did not raise entity F1 (docs/encoders.md,
"Tuning the MiniLM end-to-end config", row M), so no shipped config uses it.

Thinc's ``concatenate`` cannot combine these: it adds up the input gradients
of its layers, and Docs have none (a listener's backprop returns nothing).
"""

from typing import Callable, List, Optional, Tuple

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d


@registry.architectures("spacy-bio-rel.concat_tok2vec.v1")
def build_concat_tok2vec(*tok2vecs: Model[List[Doc], List[Floats2d]]) -> Model[List[Doc], List[Floats2d]]:
    """Concatenate the per-token outputs of ``tok2vecs`` (in the order given)."""
    if not tok2vecs:
        raise ValueError("spacy-bio-rel.concat_tok2vec.v1 needs at least one tok2vec model")
    return Model(
        "concat_tok2vec",
        forward,
        init=init,
        layers=list(tok2vecs),
        dims={"nO": _summed_width(tok2vecs)},
    )


def _summed_width(layers) -> Optional[int]:
    widths = [layer.get_dim("nO") if layer.has_dim("nO") else None for layer in layers]
    return None if any(w is None for w in widths) else sum(widths)


def init(model: Model, X: Optional[List[Doc]] = None, Y=None) -> None:
    for layer in model.layers:
        layer.initialize(X=X)
    width = _summed_width(model.layers)
    if width is not None:
        model.set_dim("nO", width, force=True)


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    results = [layer(docs, is_train) for layer in model.layers]
    outputs = [out for out, _ in results]
    backprops = [bp for _, bp in results]
    xp = model.ops.xp
    for out, layer in zip(outputs, model.layers):
        if len(out) != len(docs):
            raise ValueError(f"concat_tok2vec: {layer.name} returned {len(out)} arrays for {len(docs)} Docs")
    widths = [out[0].shape[1] if out else 0 for out in outputs]
    Y = [xp.hstack([out[i] for out in outputs]) for i in range(len(docs))]

    def backprop(dY: List[Floats2d]) -> List[Doc]:
        start = 0
        for bp, width in zip(backprops, widths):
            bp([model.ops.as_contig(d[:, start : start + width]) for d in dY])
            start += width
        return []

    return Y, backprop
