"""spacy-bio-rel: relation extraction for spaCy (Ye et al., ACL 2019)."""
from .relations import (  # noqa: F401
    Relation,
    add_relation,
    get_relations,
    register_extension,
    set_relations,
)

register_extension()

from . import component, scorer, e2e_scorer, batching, optimizers, readers, encoders  # noqa: E402,F401
from .ml import architectures  # noqa: E402,F401
from .render import render  # noqa: E402

__version__ = "0.2.0"
__all__ = ["Relation", "add_relation", "get_relations", "set_relations", "register_extension", "render"]
