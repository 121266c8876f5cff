"""Loading a pipeline, and what a loaded pipeline can do: its relation component, whether it sets entities.

Used by ``predict``, ``evaluate`` and ``calibrate`` to load MODEL (a folder or
an installed pipeline package) and to refuse, with a clear message, a pipeline
that cannot turn raw text into relations.
"""

from pathlib import Path
from typing import Any, List, Union

from spacy.language import Language

RELATION_FACTORY = "relation_extractor"


class PipelineError(ValueError):
    """The pipeline cannot do what was asked (no relation component, no entities)."""


def load_pipeline(model: Union[str, Path, Language], **kwargs: Any) -> Language:
    """The pipeline ``model``: a folder, or the name of an installed pipeline package (``spacy package``).

    A ``Language`` is returned as it is. A name that is neither an existing path nor an installed package,
    and a pipeline that fails to load, raise :class:`PipelineError` with one line naming ``model``;
    ``kwargs`` go to ``spacy.load``.
    """
    import spacy

    if isinstance(model, Language):
        return model
    if Path(model).exists():
        source: Union[str, Path] = Path(model)
    elif spacy.util.is_package(str(model)):
        source = str(model)
    else:
        raise PipelineError(
            f"model {model} does not exist (neither a pipeline folder nor an installed pipeline package)"
        )
    try:
        return spacy.load(source, **kwargs)
    except Exception as e:  # noqa: BLE001 - any load failure is one line naming the pipeline
        raise PipelineError(f"cannot load the pipeline {model}: {type(e).__name__}: {e}") from None


def relation_component(nlp: Language) -> str:
    """Name of the (last) ``relation_extractor`` in ``nlp``."""
    names = [name for name in nlp.pipe_names if nlp.get_pipe_meta(name).factory == RELATION_FACTORY]
    if not names:
        raise PipelineError(
            f"The pipeline has no {RELATION_FACTORY!r} component (components: {nlp.pipe_names or 'none'})."
        )
    return names[-1]


def entity_setters(nlp: Language) -> List[str]:
    """Components before the relation component that declare ``assigns=["doc.ents"]`` (ner, entity_ruler, ...)."""
    names = nlp.pipe_names
    stop = names.index(relation_component(nlp))
    return [name for name in names[:stop] if "doc.ents" in nlp.get_pipe_meta(name).assigns]


def require_entity_setter(nlp: Language) -> None:
    """Raise :class:`PipelineError` unless a component before the relation component sets entities."""
    if not entity_setters(nlp):
        raise PipelineError(
            "The pipeline sets no entities: add an ner (or entity_ruler) before the "
            f"{relation_component(nlp)!r} component, or give .spacy input whose Docs carry entities "
            f"(pipeline components: {', '.join(nlp.pipe_names)})."
        )


def set_torch_threads(nlp: Language, threads: int) -> None:
    """Set ``torch_threads`` (torch's threads while predicting) of every relation component of ``nlp``."""
    if threads < 0:
        raise ValueError(f"--threads must be 0 (torch's own setting) or more, got {threads}")
    for name in nlp.pipe_names:
        if nlp.get_pipe_meta(name).factory == RELATION_FACTORY:
            nlp.get_pipe(name).cfg["torch_threads"] = int(threads)
