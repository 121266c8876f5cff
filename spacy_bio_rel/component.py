"""The trainable ``relation_extractor`` pipeline component.

Data flow: Doc -> candidate pairs (:mod:`.candidates`) -> integer arrays
(:mod:`.features`) -> network (:mod:`.ml`) -> class scores -> relations on the
Doc (:mod:`.relations`). Learned state (labels, the type-pair filter, the unit
vocabulary, the entity labels for BIO tags) lives in ``self.cfg`` and travels
with ``to_disk``.
"""
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy
import srsly
import torch
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example
from spacy.training.example import validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer, torch2xp, xp2torch

from .candidates import OTHER, Candidate, iter_candidates, sentence_bounds
from .features import Featurizer, TagVocab, UnitVocab, count_units
from .losses import CLASSIFICATION_LOSSES, LossSettings, total_loss
from .ml.architectures import RelScores, resize_model
from .relations import USER_DATA_KEY, Relation, set_relations

from .readers import SKIP_PAIRS_KEY

DEFAULT_MODEL = """
[model]
@architectures = "spacy-bio-rel.BioTagCNN.v1"
word_width = 200
tag_width = 50
position_width = 50
max_distance = 100
window_sizes = [4, 5, 6, 7, 8, 9, 10]
n_filters = 64
hidden_width = 128
dropout = 0.2
activation = "tanh"
use_words = true
use_tags = true
use_positions = true
shared_convolution = true
"""


@Language.factory(
    "relation_extractor",
    assigns=["doc._.relations"],
    requires=["doc.ents"],
    default_config={
        "model": util.load_config_from_str(DEFAULT_MODEL)["model"],
        "directed": True,
        "granularity": "token",
        "lowercase": True,
        "min_freq": 2,
        "max_length": 200,
        "threshold": 0.0,
        "margin_pos": 2.5,
        "margin_neg": 0.5,
        "gamma": 2.0,
        "multitask": True,
        "classification_loss": "ranking",
        "alpha": 1.0,
        "beta": 1.0,
        "max_pairs_per_step": 1024,
        "scorer": {"@scorers": "spacy-bio-rel.relation_scorer.v1"},
    },
    default_score_weights={"rel_micro_f": 1.0, "rel_micro_p": 0.0, "rel_micro_r": 0.0},
)
def make_relation_extractor(
    nlp: Language,
    name: str,
    model: Model,
    directed: bool,
    granularity: str,
    lowercase: bool,
    min_freq: int,
    max_length: int,
    threshold: float,
    margin_pos: float,
    margin_neg: float,
    gamma: float,
    multitask: bool,
    classification_loss: str,
    alpha: float,
    beta: float,
    max_pairs_per_step: int,
    scorer: Optional[Callable],
) -> "RelationExtractor":
    return RelationExtractor(
        nlp.vocab,
        model,
        name,
        directed=directed,
        granularity=granularity,
        lowercase=lowercase,
        min_freq=min_freq,
        max_length=max_length,
        threshold=threshold,
        margin_pos=margin_pos,
        margin_neg=margin_neg,
        gamma=gamma,
        multitask=multitask,
        classification_loss=classification_loss,
        alpha=alpha,
        beta=beta,
        max_pairs_per_step=max_pairs_per_step,
        scorer=scorer,
    )


Prediction = List[Tuple[List[Candidate], numpy.ndarray]]


class RelationExtractor(TrainablePipe):
    """Scores every candidate entity pair of a sentence and sets ``doc._.relations``."""

    def __init__(self, vocab: Vocab, model: Model, name: str = "relation_extractor", *, scorer=None, **settings):
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        if settings.get("granularity", "token") not in ("token", "char"):
            raise ValueError(f"granularity must be 'token' or 'char', got {settings['granularity']!r}")
        if settings.get("classification_loss", "ranking") not in CLASSIFICATION_LOSSES:
            raise ValueError(
                f"classification_loss must be one of {CLASSIFICATION_LOSSES}, got {settings['classification_loss']!r}"
            )
        if int(settings.get("max_pairs_per_step", 1024)) < 1:
            raise ValueError("max_pairs_per_step must be at least 1")
        self.cfg: Dict = dict(settings)
        self.cfg.update({"labels": [], "type_pairs": [], "units": [], "entity_labels": [], "initialized": False})
        self._state = None

    # -- learned state ----------------------------------------------------------
    @property
    def labels(self) -> Tuple[str, ...]:
        return tuple(self.cfg["labels"])

    @property
    def is_initialized(self) -> bool:
        return bool(self.cfg.get("initialized"))

    @property
    def n_outputs(self) -> int:
        return len(self.labels) + (self.cfg["classification_loss"] != "ranking")

    def add_label(self, label: str) -> int:
        if not isinstance(label, str) or not label or label == OTHER:
            raise ValueError(f"Relation labels must be non-empty strings other than {OTHER!r}, got {label!r}")
        if label in self.cfg["labels"]:
            return 0
        if self.is_initialized:
            raise ValueError(
                f"Cannot add label {label!r}: the relation_extractor is already initialized with labels "
                f"{list(self.labels)}. Add labels before nlp.initialize()."
            )
        self.cfg["labels"] = sorted(self.cfg["labels"] + [label])
        return 1

    def _require_initialized(self) -> None:
        if not self.is_initialized:
            raise ValueError(
                f"The '{self.name}' component is not initialized: train it (spacy train) or call "
                "nlp.initialize(get_examples) with examples that carry gold relations before using it."
            )

    def _get_state(self):
        if self._state is None:
            self._state = {
                "featurizer": Featurizer(
                    UnitVocab(self.cfg["units"]),
                    TagVocab(self.cfg["entity_labels"]),
                    granularity=self.cfg["granularity"],
                    lowercase=self.cfg["lowercase"],
                    max_length=self.cfg["max_length"],
                ),
                "type_pairs": {tuple(p) for p in self.cfg["type_pairs"]},
                "label_index": {lab: i for i, lab in enumerate(self.labels)},
            }
        return self._state

    def _resize(self) -> None:
        st = self._get_state()
        f = st["featurizer"]
        resize_model(self.model, len(f.unit_vocab), len(f.tag_vocab), max(1, self.n_outputs))

    # -- candidates and gold ----------------------------------------------------
    def candidates(self, doc: Doc) -> List[Candidate]:
        """Candidate pairs of ``doc`` that pass the learned type filter.

        Pairs listed under ``doc.user_data["spacy_bio_rel.skip_pairs"]`` (as
        ``[head_start, head_end, tail_start, tail_end]``, set by the reader's
        negative sampling) are left out, in training and in prediction.
        """
        allowed = self._get_state()["type_pairs"]
        directed = self.cfg["directed"]
        cands = [c for c in iter_candidates(doc, directed) if c.type_pair(directed) in allowed]
        skip = doc.user_data.get(SKIP_PAIRS_KEY)
        if skip:
            skip_set = {tuple(x) for x in skip}
            cands = [c for c in cands if (c.head[0], c.head[1], c.tail[0], c.tail[1]) not in skip_set]
        return cands

    def _gold(self, eg: Example, cands: Sequence[Candidate]) -> numpy.ndarray:
        """Class index per candidate (len(labels) for Other), matched by character offsets."""
        index = self._get_state()["label_index"]
        gold = _char_relation_index(eg.reference)
        pred = eg.predicted
        out = numpy.full(len(cands), len(self.labels), dtype="int64")
        for i, c in enumerate(cands):
            h, t = _char_span(pred, c.head), _char_span(pred, c.tail)
            label = gold.get((h, t))
            if label is None and not self.cfg["directed"]:
                label = gold.get((t, h))
            if label is None:
                continue
            if label not in index:
                raise ValueError(
                    f"Gold relation label {label!r} is unknown to '{self.name}' (labels: {list(self.labels)}). "
                    "Initialize the component on data that contains it."
                )
            out[i] = index[label]
        return out

    def _chunks(self, docs: Sequence[Doc], cands: Sequence[Sequence[Candidate]]) -> Iterator[Tuple[List[Tuple[int, int]], List[Doc], List[List[Candidate]]]]:
        """Split work into steps of at most ``max_pairs_per_step`` pairs (memory bound).

        Yields ``(where, docs, cands)``; ``where[k] = (doc index, first candidate index)``.
        """
        limit = int(self.cfg["max_pairs_per_step"])
        idx: List[Tuple[int, int]] = []
        ds: List[Doc] = []
        cs: List[List[Candidate]] = []
        n = 0
        for d, (doc, doc_cands) in enumerate(zip(docs, cands)):
            start = 0
            while start < len(doc_cands):
                take = min(limit - n, len(doc_cands) - start)
                idx.append((d, start))
                ds.append(doc)
                cs.append(list(doc_cands[start : start + take]))
                n += take
                start += take
                if n >= limit:
                    yield idx, ds, cs
                    idx, ds, cs, n = [], [], [], 0
        if n:
            yield idx, ds, cs

    # -- prediction -------------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> Prediction:
        docs = list(docs)
        self._require_initialized()
        cands = [self.candidates(doc) for doc in docs]
        scores: List[List[numpy.ndarray]] = [[] for _ in docs]
        featurize = self._get_state()["featurizer"]
        for idx, ds, cs in self._chunks(docs, cands):
            out = self.model.predict(featurize(ds, cs))
            arr = self.model.ops.to_numpy(out.classes)
            start = 0
            for (d, _), c in zip(idx, cs):
                scores[d].append(arr[start : start + len(c)])
                start += len(c)
        n_out = self.n_outputs
        return [
            (c, numpy.concatenate(s) if s else numpy.zeros((0, n_out), dtype="float32"))
            for c, s in zip(cands, scores)
        ]

    def decode(self, scores: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Class index (len(labels) = Other) and score per pair.

        With a ranking loss: argmax of the class scores if the maximum is at
        least ``threshold``, else Other (the paper's rule). With cross-entropy
        alone: argmax of the softmax over the labels and Other.
        """
        C = len(self.labels)
        if len(scores) == 0:
            return numpy.zeros((0,), dtype="int64"), numpy.zeros((0,), dtype="float32")
        if self.cfg["classification_loss"] == "cross_entropy":
            z = scores - scores.max(1, keepdims=True)
            p = numpy.exp(z) / numpy.exp(z).sum(1, keepdims=True)
            best = p.argmax(1)
            return best, p[numpy.arange(len(p)), best]
        s = scores[:, :C]
        best = s.argmax(1)
        top = s[numpy.arange(len(s)), best]
        return numpy.where(top >= self.cfg["threshold"], best, C), top

    def set_annotations(self, docs: Iterable[Doc], predictions: Prediction) -> None:
        C = len(self.labels)
        for doc, (cands, scores) in zip(docs, predictions):
            best, top = self.decode(scores)
            rels = []
            for c, b, s in zip(cands, best, top):
                if b < C:
                    head = doc[c.head[0] : c.head[1]]
                    tail = doc[c.tail[0] : c.tail[1]]
                    head.label_, tail.label_ = c.head_label, c.tail_label
                    rels.append(Relation(head, tail, self.labels[b], float(s)))
            set_relations(doc, rels)

    # -- training ---------------------------------------------------------------
    def _loss_settings(self) -> LossSettings:
        c = self.cfg
        return LossSettings(
            n_labels=len(self.labels),
            classification_loss=c["classification_loss"],
            multitask=c["multitask"],
            alpha=c["alpha"],
            beta=c["beta"],
            margin_pos=c["margin_pos"],
            margin_neg=c["margin_neg"],
            gamma=c["gamma"],
        )

    def loss_and_gradient(self, scores: RelScores, gold: numpy.ndarray) -> Tuple[float, RelScores]:
        """Loss of one step and its gradient with respect to the network outputs."""
        classes = xp2torch(scores.classes, requires_grad=True)
        ident = xp2torch(scores.ident, requires_grad=True)
        gold_t = torch.as_tensor(numpy.asarray(gold), dtype=torch.long, device=classes.device)
        loss = total_loss(classes, ident, gold_t, self._loss_settings())
        loss.backward()
        grads = [t.grad if t.grad is not None else torch.zeros_like(t) for t in (classes, ident)]
        return float(loss.item()), RelScores(classes=torch2xp(grads[0]), ident=torch2xp(grads[1]))

    def get_loss(self, examples: Iterable[Example], scores: RelScores) -> Tuple[float, RelScores]:
        """Loss for scores of all training candidates of ``examples``, in order."""
        examples = list(examples)
        gold = [self._gold(eg, self._training_candidates(eg)) for eg in examples]
        return self.loss_and_gradient(scores, numpy.concatenate(gold) if gold else numpy.zeros(0, "int64"))

    def _training_candidates(self, eg: Example) -> List[Candidate]:
        return self.candidates(eg.predicted)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """One optimiser step over the candidate pairs of ``examples``.

        Dropout is the model's own (``model.dropout``, the paper's 0.2);
        spaCy's ``drop`` argument is not used. Large batches are processed in
        chunks of ``max_pairs_per_step`` pairs whose gradients are summed
        before the single optimiser step.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "RelationExtractor.update")
        self._require_initialized()
        docs = [eg.predicted for eg in examples]
        cands = [self._training_candidates(eg) for eg in examples]
        golds = [self._gold(eg, c) for eg, c in zip(examples, cands)]
        featurize = self._get_state()["featurizer"]
        stepped = False
        for idx, ds, cs in self._chunks(docs, cands):
            gold = numpy.concatenate([golds[d][s : s + len(c)] for (d, s), c in zip(idx, cs)])
            scores, backprop = self.model.begin_update(featurize(ds, cs))
            loss, d_scores = self.loss_and_gradient(scores, gold)
            backprop(d_scores)
            losses[self.name] += loss
            stepped = True
        if stepped and sgd is not None:
            self.finish_update(sgd)
        return losses

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Learn labels, type-pair filter, unit vocabulary and BIO tag set; size the model."""
        validate_get_examples(get_examples, "RelationExtractor.initialize")
        refs = [eg.reference for eg in get_examples()]
        found = sorted({r["label"] for d in refs for r in d.user_data.get(USER_DATA_KEY, [])})
        if labels is not None:
            found = sorted(set(found) | set(labels))
        if not found and not self.cfg["labels"]:
            raise ValueError(
                f"'{self.name}' found no gold relations in the initialization examples "
                f"({len(refs)} docs). Relations must be set with spacy_bio_rel.set_relations and "
                "stored in the DocBin (store_user_data=True)."
            )
        self.cfg["labels"] = sorted(set(self.cfg["labels"]) | set(found))
        if OTHER in self.cfg["labels"]:
            raise ValueError(f"{OTHER!r} is reserved for 'no relation' and cannot be a relation label")
        directed = self.cfg["directed"]
        pairs = set()
        for doc in refs:
            index = _char_relation_index(doc)
            if not index:
                continue
            for c in iter_candidates(doc, directed):
                h, t = _char_span(doc, c.head), _char_span(doc, c.tail)
                if (h, t) in index or (not directed and (t, h) in index):
                    pairs.add(c.type_pair(directed))
        self.cfg["type_pairs"] = sorted([list(p) for p in pairs])
        self.cfg["entity_labels"] = sorted({e.label_ for d in refs for e in d.ents})
        counts = count_units(refs, sentence_bounds, self.cfg["granularity"], self.cfg["lowercase"])
        self.cfg["units"] = UnitVocab.build(counts, int(self.cfg["min_freq"])).strings
        self.cfg["initialized"] = True
        self._state = None
        self._resize()
        self.model.initialize()

    # -- serialisation ------------------------------------------------------------
    def _load_weights(self, data: bytes) -> None:
        """Size the network from the loaded cfg, then load its weights."""
        self._state = None
        if self.is_initialized:
            self._resize()
        self.model.from_bytes(data)

    def from_disk(self, path, *, exclude=tuple()):
        deserialize = {
            "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude),
            "cfg": lambda p: self.cfg.update(srsly.read_json(p)),
            "model": lambda p: self._load_weights(p.read_bytes()),
        }
        util.from_disk(path, deserialize, exclude)
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        deserialize = {
            "vocab": lambda b: self.vocab.from_bytes(b, exclude=exclude),
            "cfg": lambda b: self.cfg.update(srsly.json_loads(b)),
            "model": self._load_weights,
        }
        util.from_bytes(bytes_data, deserialize, exclude)
        return self


def _char_span(doc: Doc, offsets: Tuple[int, int]) -> Tuple[int, int]:
    start, end = offsets
    last = doc[end - 1]
    return doc[start].idx, last.idx + len(last.text)


def _char_relation_index(doc: Doc) -> Dict[Tuple[Tuple[int, int], Tuple[int, int]], str]:
    """Gold relations keyed by character offsets (robust to re-tokenisation)."""
    out = {}
    for item in doc.user_data.get(USER_DATA_KEY, []):
        h, t = item["head"], item["tail"]
        out[(_char_span(doc, (int(h[0]), int(h[1]))), _char_span(doc, (int(t[0]), int(t[1]))))] = item["label"]
    return out

