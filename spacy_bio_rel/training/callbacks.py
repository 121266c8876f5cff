"""Callbacks for ``[initialize]``.

``spacy-bio-rel.initialize_components.v1`` (``[initialize.after_init]``) initialises the named
components after ``nlp.initialize``. spaCy leaves ``[training] frozen_components`` uninitialised,
because it expects them sourced from a trained pipeline; a pretrained encoder built from its config
(a transformer folder or name) is ready once initialised, so it can be frozen and annotating
without a sourced pipeline:

    [training]
    frozen_components = ["transformer"]
    annotating_components = ["transformer"]

    [initialize.after_init]
    @callbacks = "spacy-bio-rel.initialize_components.v1"
    components = ["transformer"]
"""

from typing import Callable, List

from spacy.language import Language
from spacy.util import registry


@registry.callbacks("spacy-bio-rel.initialize_components.v1")
def initialize_components(components: List[str]) -> Callable[[Language], Language]:
    def after_init(nlp: Language) -> Language:
        for name in components:
            if name not in nlp.component_names:
                raise ValueError(
                    f"[initialize.after_init] components: {name!r} is not a component of the pipeline "
                    f"(components: {nlp.component_names})"
                )
            pipe = nlp.get_pipe(name)
            pipe.initialize(lambda: [], nlp=nlp)
            _size_listeners(nlp, pipe)
        for _, pipe in nlp.pipeline:  # models that read their encoder's width at initialize
            if hasattr(pipe, "size_encoder_channel"):
                pipe.size_encoder_channel()
        return nlp

    return after_init


def _size_listeners(nlp: Language, pipe) -> None:
    """Give the listeners of ``pipe`` the width of its output, read from one annotated Doc (a listener
    of a component initialised after the pipeline has none)."""
    listeners = [n for n in getattr(pipe, "listeners", []) for n in n.walk() if n.has_dim("nO") is None]
    if not listeners:
        return
    doc = pipe(nlp.make_doc("a"))
    trf = getattr(doc._, "trf_data", None) if doc.has_extension("trf_data") else None
    width = int(trf.width) if trf is not None else int(doc.tensor.shape[1])
    for listener in listeners:
        listener.set_dim("nO", width)
