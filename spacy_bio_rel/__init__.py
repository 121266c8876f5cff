"""spacy-bio-rel: relation extraction for spaCy (Ye et al., ACL 2019)."""

from spacy_bio_rel.relations import (
    Relation,
    add_relation,
    from_docs,
    get_relations,
    register_extension,
    relations_from_json,
    set_relations,
)

register_extension()

# importing these registers the factory, architectures, scorers, readers, batcher, optimiser, callback and misc functions
from spacy_bio_rel import pipeline_component  # noqa: E402,F401
from spacy_bio_rel.ml import architectures, concat_tok2vec, encoders  # noqa: E402,F401
from spacy_bio_rel.predict.render import render, to_displacy  # noqa: E402
from spacy_bio_rel.scoring import e2e_scorer, scorer  # noqa: E402,F401
from spacy_bio_rel.training import batchers, callbacks, optimizers, readers, schedules  # noqa: E402,F401

__version__ = "0.3.0"
__all__ = [
    "Relation",
    "add_relation",
    "from_docs",
    "get_relations",
    "relations_from_json",
    "set_relations",
    "register_extension",
    "render",
    "to_displacy",
]
