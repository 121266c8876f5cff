"""A speed stand-in for spaCy's relation-extraction tutorial component.

explosion/projects ``tutorials/rel_component`` with its ``rel_tok2vec.cfg``
is the simplest relation component spaCy users know, and the prediction benchmark measures
our prediction speed against it. That project is not a package, so this
module rebuilds the same computation from its description, for
:mod:`benchmark_prediction` only (it is not part of ``spacy_bio_rel``):

- a ``tok2vec`` component: ``spacy.HashEmbedCNN.v2`` (width 96, depth 2,
  embed size 2000, window 1, maxout 3, subword features), shared through a
  ``spacy.Tok2VecListener.v1``;
- instances: every ordered pair of ``doc.ents`` whose starts are at most
  ``max_length`` (100) tokens apart;
- each entity's token vectors mean-pooled, the two concatenated, one
  ``Linear`` layer and a ``Logistic`` (one sigmoid per label);
- ``set_annotations`` stores every instance's score for every label in
  ``doc._.rel[(start1, start2)]``, as the tutorial does.

Its weights are initialised, not trained: prediction does the same work
whatever the weights, and only its speed is used.
"""

from typing import Callable, Iterable, List, Tuple

import spacy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import Linear, Logistic, Model, chain
from thinc.types import Floats2d, Ragged

if not Doc.has_extension("rel"):
    Doc.set_extension("rel", default={})


def tutorial_instances(max_length: int) -> Callable[[Doc], List[Tuple[Span, Span]]]:
    def get_instances(doc: Doc) -> List[Tuple[Span, Span]]:
        return [(a, b) for a in doc.ents for b in doc.ents if a != b and abs(b.start - a.start) <= max_length]

    return get_instances


def _pair_forward(model: Model, docs: List[Doc], is_train: bool):
    tok2vec, pool = model.get_ref("tok2vec"), model.get_ref("pooling")
    instances = [model.attrs["get_instances"](doc) for doc in docs]
    vectors, _ = tok2vec(docs, is_train)
    rows, lengths = [], []
    for pairs, doc_vectors in zip(instances, vectors):
        index = []
        for pair in pairs:
            for ent in pair:
                index.extend(range(ent.start, ent.end))
                lengths.append(ent.end - ent.start)
        rows.append(doc_vectors[index])
    ents = Ragged(model.ops.flatten(rows), model.ops.asarray1i(lengths))
    pooled, _ = pool(ents, is_train)
    return model.ops.reshape2f(pooled, -1, pooled.shape[1] * 2), lambda d: []


def tutorial_model(width: int, n_labels: int, max_length: int) -> Model[List[Doc], Floats2d]:
    tok2vec = spacy.registry.get("architectures", "spacy.Tok2VecListener.v1")(width=width, upstream="*")
    pool = spacy.registry.get("layers", "reduce_mean.v1")()
    pairs = Model(
        "instance_tensors",
        _pair_forward,
        layers=[tok2vec, pool],
        refs={"tok2vec": tok2vec, "pooling": pool},
        attrs={"get_instances": tutorial_instances(max_length)},
    )
    model = chain(pairs, Linear(nO=n_labels, nI=2 * width), Logistic())
    model.attrs["get_instances"] = pairs.attrs["get_instances"]
    return model


class TutorialRelation(TrainablePipe):
    def __init__(self, vocab, model: Model, name: str, labels: List[str], threshold: float):
        self.vocab, self.model, self.name = vocab, model, name
        self.cfg = {"labels": list(labels), "threshold": threshold}

    def predict(self, docs: Iterable[Doc]) -> Floats2d:
        docs = list(docs)
        get_instances = self.model.attrs["get_instances"]
        if not sum(len(get_instances(doc)) for doc in docs):
            return self.model.ops.alloc2f(0, len(self.cfg["labels"]))
        return self.model.predict(docs)

    def set_annotations(self, docs: Iterable[Doc], scores: Floats2d) -> None:
        get_instances = self.model.attrs["get_instances"]
        scores = self.model.ops.to_numpy(scores)
        c = 0
        for doc in docs:
            for e1, e2 in get_instances(doc):
                labelled = doc._.rel.setdefault((e1.start, e2.start), {})
                for j, label in enumerate(self.cfg["labels"]):
                    labelled[label] = scores[c, j]
                c += 1

    def initialize(self, get_examples, *, nlp=None):
        self.model.initialize(X=[eg.predicted for eg in get_examples()])


@Language.factory(
    "tutorial_relation_extractor",
    default_config={"labels": [], "threshold": 0.5, "max_length": 100, "width": 96},
)
def make_tutorial_relation(
    nlp: Language, name: str, labels: List[str], threshold: float, max_length: int, width: int
):
    return TutorialRelation(
        nlp.vocab, tutorial_model(width, len(labels), max_length), name, labels, threshold
    )


def tutorial_pipeline(lang: str, labels: List[str], sample: List[Doc], width: int = 96) -> Language:
    """A blank ``lang`` pipeline with the tutorial's tok2vec + relation component, initialised on ``sample``."""
    nlp = spacy.blank(lang)
    nlp.add_pipe(
        "tok2vec",
        config={
            "model": {
                "@architectures": "spacy.HashEmbedCNN.v2",
                "pretrained_vectors": None,
                "width": width,
                "depth": 2,
                "embed_size": 2000,
                "window_size": 1,
                "maxout_pieces": 3,
                "subword_features": True,
            }
        },
    )
    nlp.add_pipe(
        "tutorial_relation_extractor", name="tutorial_rel", config={"labels": list(labels), "width": width}
    )
    nlp.initialize(lambda: [Example(d.copy(), d.copy()) for d in sample])
    return nlp
