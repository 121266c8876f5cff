"""The trainable ``relation_extractor`` pipeline component.

Data flow: Doc -> candidate pairs (:mod:`.candidates`) -> the model
(:mod:`.ml.architectures`: featurisation, network, optional encoder) -> class
scores -> relations on the Doc (:mod:`.relations`). The component owns what
spaCy's span categorizer owns: candidates, gold labels (:mod:`.gold`), the
loss (:mod:`.losses`), decoding and annotation. Learned here and saved in
``cfg``: the relation labels and the type filter; the vocabularies belong to
the model and are saved with it.

Training reads the candidates of the REFERENCE entities (teacher forcing; the
``train_entities`` setting adds or substitutes those the ``ner`` predicted),
carried onto the predicted Doc by character offsets: with gold entities on
both sides this is the paper's setting, and in a pipeline with ``ner`` the
relation model learns from correct entities while ``ner`` is still learning.
Prediction reads the entities on the Doc (``Doc.ents``: gold, or set by an
upstream ``ner``).
"""

import dataclasses
import math
import warnings
from collections import Counter
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy
import srsly
from spacy import util
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.training.example import validate_examples, validate_get_examples
from spacy.vocab import Vocab
from thinc.api import Model, Optimizer

from spacy_bio_rel.candidates import (
    OTHER,
    Candidate,
    cap_per_sentence,
    check_sentence_window,
    iter_candidates,
    runs_across_sentences,
    transfer_entities,
)
from spacy_bio_rel.data_classes import RelInput, RelScores, ScoredCandidate
from spacy_bio_rel.ml.architectures import check_loaded_model, encoder_width, size_tok2vec_channel
from spacy_bio_rel.ml.averages import use_torch_averages
from spacy_bio_rel.ml.chunking import prediction_chunks
from spacy_bio_rel.ml.threads import torch_threads
from spacy_bio_rel.relations import Relation, set_stored_relations
from spacy_bio_rel.training.gold import (
    entity_types,
    gold_labels,
    learn_type_pairs,
    relation_index,
    relation_labels,
)
from spacy_bio_rel.training.losses import (
    CLASSIFICATION_LOSSES,
    LossSettings,
    class_weights,
    loss_and_gradient,
)
from spacy_bio_rel.training.readers import SKIP_PAIRS_KEY

DEFAULT_MODEL = """
[model]
@architectures = "spacy-bio-rel.BioTagCNN.v2"
tok2vec = null
tok2vec_width = 0
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
granularity = "token"
lowercase = true
min_freq = 2
max_length = 200
"""


@Language.factory(
    "relation_extractor",
    assigns=["doc._.relations"],
    requires=["doc.ents"],
    default_config={
        "model": util.load_config_from_str(DEFAULT_MODEL)["model"],
        "directed": True,
        "threshold": 0.0,
        "margin_pos": 2.5,
        "margin_neg": 0.5,
        "gamma": 2.0,
        "multitask": True,
        "classification_loss": "ranking",
        "alpha": 1.0,
        "beta": 1.0,
        "class_weight_power": 0.0,
        "positive_weight": 1.0,
        "max_pairs_per_step": 1024,
        "max_candidates_per_sentence": 1000,
        "sentence_window": 1,
        "symmetric_labels": [],
        "torch_threads": 1,
        "train_entities": "gold",
        "entity_label_map": {},
        "scorer": {"@scorers": "spacy-bio-rel.relation_scorer.v1"},
    },
    default_score_weights={"rel_micro_f": 1.0, "rel_micro_p": 0.0, "rel_micro_r": 0.0},
)
def make_relation_extractor(
    nlp: Language,
    name: str,
    model: Model[RelInput, RelScores],
    directed: bool,
    threshold: float,
    margin_pos: float,
    margin_neg: float,
    gamma: float,
    multitask: bool,
    classification_loss: str,
    alpha: float,
    beta: float,
    class_weight_power: float,
    positive_weight: float,
    max_pairs_per_step: int,
    max_candidates_per_sentence: int,
    sentence_window: int,
    symmetric_labels: List[str],
    torch_threads: int,
    train_entities: str,
    entity_label_map: Dict[str, str],
    scorer: Optional[Callable],
) -> "RelationExtractor":
    """Relation extraction over the entity pairs of each sentence (Ye et al. 2019).

    directed: both orders of every pair (approach 2) or one per unordered pair (approach 1).
    threshold: θ, predict a relation only if the best class score is at least θ.
    margin_pos, margin_neg, gamma: the ranking loss's m+, m− and γ.
    multitask: add the relation-identification loss (loss1).
    classification_loss: "ranking", "cross_entropy" or "both".
    alpha, beta: weights of loss1 and loss2.
    class_weight_power, positive_weight: per-class weights of every loss term (losses.class_weights):
        a relation label's instances weigh n_label ** -class_weight_power (n counted on the training
        candidates in initialize), scaled to a mean of positive_weight over the positives; Other weighs 1.
        0.0 and 1.0: unweighted (the paper).
    max_pairs_per_step: prediction runs the model on at most this many pairs at once.
    max_candidates_per_sentence: at most this many candidate pairs per sentence (0: no cap), the
        nearest pairs first (candidates.cap_per_sentence); what the cap drops is counted in
        ``pipe.skipped["candidates_over_cap"]`` and warned about once. With sentence_window > 1 the cap
        applies per covering span: the pairs of one sentence, or those between two given sentences.
    sentence_window: pair entities at most sentence_window - 1 sentence boundaries apart (1, the
        default: inside one sentence, the paper's setting). A cross-sentence pair is read over the
        sentences from its head's to its tail's as one sequence, whose later sentences' first units
        carry a sentence-boundary BIO tag (a tag only models trained with sentence_window > 1 have).
        Learned with the type filter and saved: the saved setting wins at load time.
    symmetric_labels: with ``directed``, labels whose direction carries no meaning
        (e.g. Family, Social, Near): in training the reverse pair of such a gold
        relation is left out (not taught as Other), and a prediction keeps only
        the higher-scoring order of a pair predicted with such a label both ways.
        Scoring is unchanged (directed). Default [] (the paper's approach 2).
    torch_threads: torch's intra-op threads while predicting (1, the default, stays steady when other
        processes share the cores; 0 leaves torch's own setting; see ml/threads.py).
    train_entities: the entities whose pairs the relation model trains on. "gold" (the default): the
        reference's entities (teacher forcing). "predicted": the entities an upstream ner predicted on
        the training Doc; "both": the union of the two pair sets (a pair with the same spans and types
        in both counted once, as the gold pair). A predicted pair's label is the gold relation only if
        both spans (character offsets) and both entity types match the reference, else Other. Gold
        pairs are read with the gold entities' BIO tags, predicted pairs with the predicted ones.
        Predicted entities exist in training only if the ner is in [training] annotating_components
        (with a shared tok2vec, list the tok2vec too: ["tok2vec", "ner"]); initialize warns otherwise.
        While the ner predicts nothing (early in training), "predicted" has no pairs (relation loss 0)
        and "both" trains on the gold pairs alone. initialize learns labels, type filter, vocabularies
        and class counts from the gold entities in every setting. See docs/encoders.md ("End to end").
    entity_label_map: entity label -> the label the model reads it as, e.g. {"PERSON": "Peop",
        "ORG": "Org", "GPE": "Loc"} for an upstream ner or entity_ruler whose label names differ from
        the training data's. Applied to every entity the component reads (candidates, type filter, BIO
        tags; in training too); labels not in the map are read as they are. The relations set on the
        Doc point at the Doc's own spans, with their own labels. A setting of how to run: the config
        given at load time wins over the saved one. Default {} (labels as they are). When no entity of
        a batch has a label the model knows, the component warns once (docs/robustness.md).
    """
    return RelationExtractor(
        nlp.vocab,
        model,
        name,
        directed=directed,
        threshold=threshold,
        margin_pos=margin_pos,
        margin_neg=margin_neg,
        gamma=gamma,
        multitask=multitask,
        classification_loss=classification_loss,
        alpha=alpha,
        beta=beta,
        class_weight_power=class_weight_power,
        positive_weight=positive_weight,
        max_pairs_per_step=max_pairs_per_step,
        max_candidates_per_sentence=max_candidates_per_sentence,
        sentence_window=sentence_window,
        symmetric_labels=symmetric_labels,
        torch_threads=torch_threads,
        train_entities=train_entities,
        entity_label_map=entity_label_map,
        scorer=scorer,
    )


Prediction = Tuple[RelInput, List[numpy.ndarray]]
RUNTIME_SETTINGS = ("max_pairs_per_step", "max_candidates_per_sentence", "torch_threads", "entity_label_map")
TRAIN_ENTITIES = ("gold", "predicted", "both")


class RelationExtractor(TrainablePipe):
    """Scores every candidate entity pair of a sentence and sets ``doc._.relations``."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[RelInput, RelScores],
        name: str = "relation_extractor",
        *,
        directed: bool,
        threshold: float,
        margin_pos: float,
        margin_neg: float,
        gamma: float,
        multitask: bool,
        classification_loss: str,
        alpha: float,
        beta: float,
        class_weight_power: float,
        positive_weight: float,
        max_pairs_per_step: int,
        max_candidates_per_sentence: int,
        sentence_window: int,
        symmetric_labels: Sequence[str],
        torch_threads: int,
        train_entities: str,
        entity_label_map: Dict[str, str],
        scorer: Optional[Callable] = None,
    ):
        if classification_loss not in CLASSIFICATION_LOSSES:
            raise ValueError(
                f"classification_loss must be one of {CLASSIFICATION_LOSSES}, got {classification_loss!r}"
            )
        _check_numbers(
            threshold=threshold,
            margin_pos=margin_pos,
            margin_neg=margin_neg,
            gamma=gamma,
            alpha=alpha,
            beta=beta,
        )
        if int(max_pairs_per_step) < 1:
            raise ValueError(f"max_pairs_per_step must be at least 1, got {max_pairs_per_step}")
        if float(positive_weight) <= 0 or float(class_weight_power) < 0:
            raise ValueError(
                "positive_weight must be above 0 and class_weight_power at least 0, got "
                f"{positive_weight} and {class_weight_power}"
            )
        if int(max_candidates_per_sentence) < 0:
            raise ValueError(
                f"max_candidates_per_sentence must be 0 (no cap) or more, got {max_candidates_per_sentence}"
            )
        check_sentence_window(sentence_window, "[components.relation_extractor] sentence_window")
        if int(torch_threads) < 0:
            raise ValueError(f"torch_threads must be 0 (torch's own setting) or more, got {torch_threads}")
        if train_entities not in TRAIN_ENTITIES:
            raise ValueError(f"train_entities must be one of {TRAIN_ENTITIES}, got {train_entities!r}")
        entity_label_map = dict(entity_label_map or {})
        if not all(
            isinstance(k, str) and isinstance(v, str) and k and v for k, v in entity_label_map.items()
        ):
            raise ValueError(
                "entity_label_map must map entity labels to entity labels (non-empty strings), "
                f"got {entity_label_map!r}"
            )
        self.vocab = vocab
        self.model = model
        self.name = name
        self.scorer = scorer
        self.cfg: Dict = {
            "directed": bool(directed),
            "threshold": float(threshold),
            "margin_pos": float(margin_pos),
            "margin_neg": float(margin_neg),
            "gamma": float(gamma),
            "multitask": bool(multitask),
            "classification_loss": classification_loss,
            "alpha": float(alpha),
            "beta": float(beta),
            "class_weight_power": float(class_weight_power),
            "positive_weight": float(positive_weight),
            "class_counts": {},
            "symmetric_labels": sorted(set(symmetric_labels)),
            "max_pairs_per_step": int(max_pairs_per_step),
            "max_candidates_per_sentence": int(max_candidates_per_sentence),
            "sentence_window": sentence_window,
            "torch_threads": int(torch_threads),
            "train_entities": train_entities,
            "entity_label_map": entity_label_map,
            "labels": [],
            "type_pairs": [],
            "initialized": False,
        }
        self._type_pairs = None
        self.skipped: Counter = Counter()  # candidates left out, by reason (see candidates())
        self._warned: set = set()  # the warnings this instance gave (each once)

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

    def use_params(self, params: dict) -> Iterator[None]:
        """Thinc's layers take their averages as usual; the torch network takes them through
        :func:`~.ml.averages.use_torch_averages` (Thinc's torch shim looks them up under other keys).
        A plain generator, as in spaCy's ``TrainablePipe`` (``Language.use_params`` steps it with next)."""
        with self.model.use_params(params), use_torch_averages(self.model, params):
            yield

    def _require_initialized(self) -> None:
        if not self.is_initialized:
            raise ValueError(
                f"The '{self.name}' component is not initialized: train it (spacy train) or call "
                "nlp.initialize(get_examples) with examples that carry gold relations before using it."
            )

    # -- candidates and gold ----------------------------------------------------
    def read_entities(self, doc: Doc, ents: Optional[Sequence[Span]] = None) -> List[Span]:
        """The entities as the model reads them: ``ents`` (default ``doc.ents``) with their labels
        mapped through ``entity_label_map`` (copies of the spans when the map changes a label)."""
        ents = list(doc.ents if ents is None else ents)
        label_map = self.cfg["entity_label_map"]
        if not label_map or not any(e.label_ in label_map for e in ents):
            return ents
        return [
            Span(doc, e.start, e.end, label=label_map[e.label_]) if e.label_ in label_map else e for e in ents
        ]

    def known_entity_labels(self) -> List[str]:
        """The entity labels of the learned type filter (the only ones that give candidates)."""
        return sorted({label for pair in self.cfg["type_pairs"] for label in pair})

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, UserWarning, stacklevel=3)

    def _check_sentences(self, docs: Sequence[Doc]) -> None:
        """Warn once when a Doc without sentence boundaries holds more than one sentence
        (:func:`~.candidates.runs_across_sentences`): its entities would be paired across them."""
        if "sentences" in self._warned:
            return
        for doc in docs:
            if runs_across_sentences(doc):
                self._warn_once(
                    "sentences",
                    f"'{self.name}': a Doc has no sentence boundaries but more than one sentence "
                    f"({_excerpt(doc.text)!r}), so it is read as one sentence and its entities are paired "
                    "across sentences. Add a 'sentencizer' (or a parser) before it: "
                    f"nlp.add_pipe('sentencizer', before='{self.name}').",
                )
                return

    def _check_entity_labels(self, docs: Sequence[Doc], ents: Sequence[Sequence[Span]]) -> None:
        """Warn once when the entities of a batch have none of the labels the model knows."""
        if "labels" in self._warned:
            return
        seen = {e.label_ for doc_ents in ents for e in doc_ents}
        known = self.known_entity_labels()
        if not seen or not known or seen & set(known):
            return
        own = sorted({e.label_ for doc in docs for e in doc.ents})
        mapped = f" (read through entity_label_map as {sorted(seen)})" if own != sorted(seen) else ""
        self._warn_once(
            "labels",
            f"'{self.name}': none of the entity labels of this batch, {own}{mapped}, is one the model was "
            f"trained on, {known}, so it finds no candidate pairs. Map them to the model's labels with the "
            f"setting [components.{self.name}] entity_label_map (e.g. "
            '{"PERSON": "Peop", "ORG": "Org", "GPE": "Loc"} for spaCy\'s English ner and CoNLL04 labels; '
            "docs/robustness.md).",
        )

    def candidates(self, doc: Doc, ents: Optional[Sequence[Span]] = None) -> List[Candidate]:
        """Candidate pairs of ``doc`` that pass the learned type filter: of the entities ``ents`` as
        given (read as they are), by default of ``doc.ents`` read through ``entity_label_map``.

        Pairs listed under ``doc.user_data["spacy_bio_rel.skip_pairs"]`` (as
        ``[head_start, head_end, tail_start, tail_end]``, set by the reader's
        negative sampling) are left out, in training and in prediction.
        """
        if self._type_pairs is None:
            self._type_pairs = {tuple(p) for p in self.cfg["type_pairs"]}
        directed = self.cfg["directed"]
        if ents is None:
            ents = self.read_entities(doc)
        cands = [
            c
            for c in iter_candidates(doc, directed, ents, self.cfg["sentence_window"])
            if c.type_pair(directed) in self._type_pairs
        ]
        skip = doc.user_data.get(SKIP_PAIRS_KEY)
        if skip:
            skip_set = {tuple(x) for x in skip}
            cands = [c for c in cands if (c.head[0], c.head[1], c.tail[0], c.tail[1]) not in skip_set]
        cap = int(self.cfg["max_candidates_per_sentence"])
        if cap:
            cands, dropped = cap_per_sentence(cands, cap)
            if dropped:
                self.skipped["candidates_over_cap"] += dropped
                self._warn_once(
                    "cap",
                    f"'{self.name}': a sentence (or span of sentences) has more than "
                    f"max_candidates_per_sentence = {cap} candidate "
                    f"pairs; the nearest {cap} are kept ({dropped} left out here, counted in "
                    f"pipe.skipped['candidates_over_cap']). Raise the setting to keep more.",
                )
        return cands

    def training_input(self, examples: Sequence[Example], train_entities: Optional[str] = None) -> RelInput:
        """The model input of a training step: the predicted Docs read with the
        reference's entities (teacher forcing) and their candidates, or with
        the predicted entities' candidates (``train_entities``, default the
        component's setting; see :meth:`_entities_to_train_on`)."""
        docs, ents, cands = [], [], []
        mode = train_entities or self.cfg["train_entities"]
        alt: List[List[Span]] = []
        symmetric = set(self.cfg["symmetric_labels"] or ()) if self.cfg["directed"] else set()
        for eg in examples:
            doc_ents, _ = transfer_entities(eg.reference, eg.predicted)
            doc_ents = self.read_entities(eg.predicted, doc_ents)
            docs.append(eg.predicted)
            doc_cands = self.candidates(eg.predicted, doc_ents)
            doc_ents, doc_cands = self._entities_to_train_on(eg.predicted, doc_ents, doc_cands, mode, alt)
            ents.append(doc_ents)
            if symmetric:
                doc_cands = _without_symmetric_reverses(doc_cands, relation_index(eg.reference), symmetric)
            cands.append(doc_cands)
        self._check_sentences(docs)
        return RelInput(docs, ents, cands, alt if mode == "both" else None)

    def _entities_to_train_on(
        self, doc: Doc, gold_ents: List[Span], gold_cands: List[Candidate], mode: str, alt: List[List[Span]]
    ) -> Tuple[List[Span], List[Candidate]]:
        """The entities ``doc`` is read with and its candidates under ``train_entities = mode``:
        "gold" as given; "predicted": the pairs of ``doc.ents`` (marked ``predicted``); "both": the
        gold pairs, then the predicted pairs that are no gold pair (same spans and types), read with
        ``doc.ents`` (appended to ``alt``)."""
        if mode == "gold":
            return gold_ents, gold_cands
        pred_ents = list(doc.ents)
        pred_cands = [dataclasses.replace(c, predicted=True) for c in self.candidates(doc, pred_ents)]
        if mode == "predicted":
            return pred_ents, pred_cands
        alt.append(pred_ents)
        seen = {(c.head_chars, c.tail_chars, c.head_label, c.tail_label) for c in gold_cands}
        extra = [
            c for c in pred_cands if (c.head_chars, c.tail_chars, c.head_label, c.tail_label) not in seen
        ]
        return gold_ents, gold_cands + extra

    def _gold(self, examples: Sequence[Example], cands: Sequence[Sequence[Candidate]]) -> numpy.ndarray:
        """Class index per candidate (len(labels) for Other), matched by character offsets
        (and, for a candidate of predicted entities, by entity types)."""
        index = {label: i for i, label in enumerate(self.labels)}
        out = []
        for eg, doc_cands in zip(examples, cands):
            types = entity_types(eg.reference) if any(c.predicted for c in doc_cands) else None
            for label in gold_labels(relation_index(eg.reference), doc_cands, self.cfg["directed"], types):
                if label != OTHER and label not in index:
                    raise ValueError(
                        f"Gold relation label {label!r} is unknown to '{self.name}' (labels: {list(self.labels)}). "
                        "Initialize the component on data that contains it."
                    )
                out.append(index.get(label, len(self.labels)))
        return numpy.asarray(out, dtype="int64")

    # -- prediction -------------------------------------------------------------
    def _chunks(self, X: RelInput) -> Iterator[Tuple[List[int], RelInput]]:
        """Model calls for ``X``: Docs grouped by length, at most
        ``max_pairs_per_step`` pairs each (see :mod:`.chunking`); yields (Doc
        index of each part, part)."""
        settings = (
            self.model.get_ref("featurize").attrs["config"] if self.model.has_ref("featurize") else None
        )
        granularity = settings.granularity if settings is not None else "token"
        max_length = settings.max_length if settings is not None else 1 << 30
        return prediction_chunks(X, self.cfg["max_pairs_per_step"], granularity, max_length)

    def predict(self, docs: Iterable[Doc]) -> Prediction:
        """Class scores (pairs, outputs) of the candidates of each Doc."""
        docs = list(docs)
        self._require_initialized()
        ents = [self.read_entities(doc) for doc in docs]
        self._check_entity_labels(docs, ents)
        self._check_sentences(docs)
        X = RelInput(docs, ents, [self.candidates(doc, e) for doc, e in zip(docs, ents)])
        parts: List[List[numpy.ndarray]] = [[] for _ in docs]
        with torch_threads(self.cfg["torch_threads"]):
            for where, part in self._chunks(X):
                arr = self.model.ops.to_numpy(self.model.predict(part).classes)
                start = 0
                for d, cands in zip(where, part.cands):
                    parts[d].append(arr[start : start + len(cands)])
                    start += len(cands)
        empty = numpy.zeros((0, self.n_outputs), dtype="float32")
        return X, [numpy.concatenate(p) if p else empty for p in parts]

    def confidence(self, top: numpy.ndarray) -> numpy.ndarray:
        """Relation.score: a confidence in [0, 1] from the best class score.

        Ranking loss: ``sigmoid(gamma * (s - (m+ - m-) / 2))``. The ranking
        loss pushes a positive's score above m+ and every wrong score below
        -m-; the confidence is 0.5 halfway between, and it is a monotone map
        of the raw score, so thresholding it is thresholding θ
        (:meth:`threshold_for_confidence`). Cross-entropy alone: the softmax
        probability of the predicted label.
        """
        if self.cfg["classification_loss"] == "cross_entropy":
            return top
        mid = (self.cfg["margin_pos"] - self.cfg["margin_neg"]) / 2
        return 1.0 / (1.0 + numpy.exp(-self.cfg["gamma"] * (top - mid)))

    def threshold_for_confidence(self, confidence: float) -> float:
        """The θ (raw class score) at which :meth:`confidence` equals ``confidence`` (in [0, 1])."""
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:  # NaN fails too
            raise ValueError(f"A confidence lies in [0, 1], got {confidence}")
        c = min(max(confidence, 1e-12), 1 - 1e-12)
        mid = (self.cfg["margin_pos"] - self.cfg["margin_neg"]) / 2
        return mid + math.log(c / (1 - c)) / self.cfg["gamma"]

    def _best(self, scores: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """Per pair: the argmax class index (len(labels) = Other), its raw score and its confidence.

        With a ranking loss the argmax runs over the relation labels (Other has no score: it is
        predicted when the best score is below θ, the paper's rule); with cross-entropy alone over
        the softmax of the labels and Other, and the score is the probability."""
        if len(scores) == 0:
            empty = numpy.zeros((0,), dtype="float32")
            return numpy.zeros((0,), dtype="int64"), empty, empty
        if self.cfg["classification_loss"] == "cross_entropy":
            z = scores - scores.max(1, keepdims=True)
            p = numpy.exp(z) / numpy.exp(z).sum(1, keepdims=True)
            best = p.argmax(1)
            top = p[numpy.arange(len(p)), best]
            return best, top, top
        s = scores[:, : len(self.labels)]
        best = s.argmax(1)
        top = s[numpy.arange(len(s)), best]
        return best, top, self.confidence(top)

    def scored(
        self, docs: Sequence[Doc], predictions: Prediction, thresholds: Optional[Dict[str, float]] = None
    ) -> List[List[ScoredCandidate]]:
        """The candidates of each Doc with their best label, raw score and confidence
        (:class:`~.data_classes.ScoredCandidate`), from :meth:`predict`'s output; no threshold applied.
        With ``thresholds`` (θ per label), only the candidates that :meth:`select` can keep: those
        predicted with a relation label at or above its θ (all of them with cross-entropy alone)."""
        X, scores = predictions
        labels = self.labels + (OTHER,)
        by_argmax = self.cfg["classification_loss"] == "cross_entropy"
        theta = None
        if thresholds is not None and not by_argmax:
            theta = numpy.asarray([thresholds[label] for label in self.labels], dtype="float64")
        out = []
        for doc, cands, doc_scores in zip(docs, X.cands, scores):
            best, top, conf = self._best(doc_scores)
            keep = range(len(cands)) if theta is None else numpy.flatnonzero(top >= theta[best]).tolist()
            best, top, conf = best.tolist(), top.tolist(), conf.tolist()
            # the Doc's own labels, not the ones read through entity_label_map
            own = {(e.start, e.end): e.label_ for e in doc.ents} if self.cfg["entity_label_map"] else {}
            out.append(
                [
                    ScoredCandidate(
                        doc,
                        cands[i],
                        labels[best[i]],
                        top[i],
                        conf[i],
                        own.get(cands[i].head, cands[i].head_label),
                        own.get(cands[i].tail, cands[i].tail_label),
                    )
                    for i in keep
                ]
            )
        return out

    def score_candidates(self, docs: Iterable[Doc]) -> List[List[ScoredCandidate]]:
        """Every candidate pair of each Doc, scored and not thresholded: the one way to score a Doc's
        candidates (``set_annotations``, ``evaluate --sweep`` and ``calibrate`` read it).

        The Docs are read as :meth:`predict` reads them: their entities (``doc.ents`` through
        ``entity_label_map``) and the output of the upstream components the model listens to, which
        must have run on them (``nlp.pipe(docs, disable=[name])``, or :func:`.scoring.sweep.scored_candidates`).
        Keep a pair as :meth:`relations` does: ``pipe.relations(doc_scored)``.
        """
        docs = list(docs)
        return self.scored(docs, self.predict(docs))

    def label_thresholds(self) -> Dict[str, float]:
        """θ per label: ``cfg["thresholds"][label]`` when set (``spacy-bio-rel calibrate --per-label``),
        else ``cfg["threshold"]``."""
        per_label = self.cfg.get("thresholds") or {}
        return {label: float(per_label.get(label, self.cfg["threshold"])) for label in self.labels}

    def select(
        self, scored: Sequence[ScoredCandidate], thresholds: Optional[Dict[str, float]] = None
    ) -> List[ScoredCandidate]:
        """The decision rule: the scored candidates of one Doc that are predicted. A pair is predicted
        with its argmax label iff that label is not Other and, with a ranking loss, its score is at
        least the label's θ (``thresholds``, default :meth:`label_thresholds`; one θ is the paper's
        rule). With ``symmetric_labels`` and ``directed``, of a pair predicted with such a label in
        both orders the higher-scoring order is kept."""
        if thresholds is None:
            thresholds = self.label_thresholds()
        by_argmax = self.cfg["classification_loss"] == "cross_entropy"
        kept = [x for x in scored if x.label != OTHER and (by_argmax or x.score >= thresholds[x.label])]
        symmetric = self.cfg["symmetric_labels"] if self.cfg["directed"] else None
        return _one_order(kept, set(symmetric)) if symmetric else kept

    def relations(
        self, scored: Sequence[ScoredCandidate], thresholds: Optional[Dict[str, float]] = None
    ) -> List[Relation]:
        """The relations of one Doc's scored candidates (:meth:`select`), as set on the Doc."""
        return [Relation(x.head, x.tail, x.label, x.confidence) for x in self.select(scored, thresholds)]

    def set_annotations(self, docs: Iterable[Doc], predictions: Prediction) -> None:
        docs = list(docs)
        thresholds = self.label_thresholds()  # once per batch, not per Doc
        for doc, doc_scored in zip(docs, self.scored(docs, predictions, thresholds)):
            set_stored_relations(doc, [x.to_dict() for x in self.select(doc_scored, thresholds)])

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
            class_weights=self._class_weights(),
        )

    def _class_weights(self) -> Optional[Tuple[float, ...]]:
        c = self.cfg
        power, positive = c["class_weight_power"], c["positive_weight"]
        if power == 0.0 and positive == 1.0:
            return None
        counts = c.get("class_counts") or {}
        if not counts:
            raise ValueError(
                f"'{self.name}': class_weight_power/positive_weight need the class counts that "
                "initialize() records; initialize the component first"
            )
        return tuple(
            class_weights(
                [int(counts.get(label, 0)) for label in self.labels] + [int(counts.get(OTHER, 0))],
                power,
                positive,
            )
        )

    def get_loss(
        self, examples: Iterable[Example], scores: Tuple[RelInput, RelScores]
    ) -> Tuple[float, RelScores]:
        """The training loss of ``scores`` (the model's output for ``X``, the
        candidates of ``examples``) and its gradient."""
        examples = list(examples)
        X, out = scores
        gold = self._gold(examples, X.cands)
        loss, d_classes, d_ident = loss_and_gradient(out.classes, out.ident, gold, self._loss_settings())
        return loss, RelScores(classes=d_classes, ident=d_ident)

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optional[Optimizer] = None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """One optimiser step over the candidate pairs of ``examples``:
        ``begin_update -> get_loss -> backprop -> finish_update``.

        Dropout is the model's own (``model.dropout``, the paper's 0.2);
        spaCy's ``drop`` argument is not used. The model sees the whole batch
        at once (a shared encoder listener requires it); the batcher bounds
        its size.
        """
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "RelationExtractor.update")
        self._require_initialized()
        X = self.training_input(examples)
        out, backprop = self.model.begin_update(X)
        loss, d_out = self.get_loss(examples, (X, out))
        backprop(d_out)
        if sgd is not None:
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        """Learn labels and the type filter; let the model learn its
        vocabularies from the training Docs and size itself."""
        validate_get_examples(get_examples, "RelationExtractor.initialize")
        examples = list(get_examples())
        refs = [eg.reference for eg in examples]
        found = relation_labels(refs)
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
        unknown = set(self.cfg["symmetric_labels"] or ()) - set(self.cfg["labels"])
        if unknown:
            raise ValueError(
                f"'{self.name}': symmetric_labels {sorted(unknown)} are not relation labels of the "
                f"training data (labels: {self.cfg['labels']})"
            )
        pairs = _mapped_type_pairs(
            learn_type_pairs(refs, self.cfg["directed"], self.cfg["sentence_window"]),
            self.cfg["entity_label_map"],
            self.cfg["directed"],
        )
        if found and not pairs:
            n_ents = sum(len(d.ents) for d in refs)
            raise ValueError(
                f"'{self.name}': the {len(refs)} initialization docs have gold relations, but none of them links "
                f"two entities of its Doc's sentence (the docs have {n_ents} entities in doc.ents). Relations need "
                "their arguments in doc.ents: convert the data with `python -m spacy_bio_rel convert`, or set "
                "doc.ents before storing the DocBin."
            )
        self.cfg["type_pairs"] = sorted([list(p) for p in pairs])
        self._type_pairs = None
        if nlp is not None:
            _check_listeners(self.model, nlp, self.name)
            _warn_without_predicted_entities(nlp, self.name, self.cfg["train_entities"])
        if self.model.has_ref("featurize"):  # the boundary tag exists only for pairs across sentences
            self.model.get_ref("featurize").attrs["sentence_boundary"] = self.cfg["sentence_window"] > 1
        X = self.training_input(examples, train_entities="gold")
        counts = numpy.bincount(self._gold(examples, X.cands), minlength=len(self.labels) + 1)
        self.cfg["class_counts"] = {
            **{label: int(n) for label, n in zip(self.labels, counts)},
            OTHER: int(counts[len(self.labels)]),
        }
        self.model.set_dim("nO", max(1, self.n_outputs))
        self.model.initialize(X=X)
        self.cfg["initialized"] = True

    def size_encoder_channel(self) -> None:
        """Give the relation model its encoder's output width when the encoder got one after
        :meth:`initialize` (a frozen encoder initialised by ``[initialize.after_init]``)."""
        if not self.model.has_ref("tok2vec") or self.model.attrs["tok2vec_width"]:
            return
        width = encoder_width(self.model.get_ref("tok2vec"))
        if width is not None:
            size_tok2vec_channel(self.model, width)

    # -- serialisation ------------------------------------------------------------
    def _load_model(self, data: bytes, where: str) -> None:
        try:
            self.model.from_bytes(data)
        except ValueError as e:
            if "trained with" in str(e):
                raise ValueError(f"{where}: {e}") from None
            raise ValueError(f"{where}: cannot load the relation model ({e}). Is the file truncated?") from e
        except Exception as e:  # msgpack / torch errors on a damaged file
            raise ValueError(
                f"{where}: cannot load the relation model ({type(e).__name__}: {e}). "
                "Is the file truncated or from another version?"
            ) from e
        check_loaded_model(self.model)

    def _load_cfg(self, data: str, where: str) -> None:
        try:
            cfg = srsly.json_loads(data)
        except ValueError as e:
            raise ValueError(f"{where}: not valid JSON ({e})") from None
        if not isinstance(cfg, dict):
            raise ValueError(f"{where}: expected a JSON object of settings")
        for key in RUNTIME_SETTINGS:  # how to run, not what was learned: the config given at load time wins
            cfg.pop(key, None)
        self.cfg.update(cfg)
        self._type_pairs = None

    def from_disk(self, path, *, exclude=tuple()):
        path = util.ensure_path(path)
        deserialize = {
            "vocab": lambda p: self.vocab.from_disk(p, exclude=exclude),
            "cfg": lambda p: self._load_cfg(p.read_text(encoding="utf-8"), str(p)),
            "model": lambda p: self._load_model(p.read_bytes(), str(p)),
        }
        util.from_disk(path, deserialize, exclude)
        return self

    def from_bytes(self, bytes_data, *, exclude=tuple()):
        deserialize = {
            "vocab": lambda b: self.vocab.from_bytes(b, exclude=exclude),
            "cfg": lambda b: self._load_cfg(b, f"{self.name} cfg"),
            "model": lambda b: self._load_model(b, f"{self.name} model"),
        }
        util.from_bytes(bytes_data, deserialize, exclude)
        return self


def _check_numbers(*, threshold, margin_pos, margin_neg, gamma, alpha, beta) -> None:
    """Raise a one-line ValueError naming the setting for a value the loss or the decision rule cannot use."""
    values = {"threshold": threshold, "margin_pos": margin_pos, "margin_neg": margin_neg}
    values.update(gamma=gamma, alpha=alpha, beta=beta)
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"[components.relation_extractor] {name} must be a number, got {value!r}")
        if name != "threshold" and math.isinf(value):  # θ = -inf predicts every argmax, +inf nothing
            raise ValueError(f"[components.relation_extractor] {name} must be finite, got {value!r}")
    if gamma <= 0:
        raise ValueError(
            f"[components.relation_extractor] gamma must be above 0 (the loss's scale), got {gamma}"
        )
    if alpha < 0 or beta < 0:
        raise ValueError(
            f"[components.relation_extractor] alpha and beta weigh the two losses: at least 0, got {alpha} and {beta}"
        )


def _excerpt(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n] + "..."


def _mapped_type_pairs(pairs, label_map, directed: bool):
    """The type pairs learned from the reference entities, with their labels read through
    ``entity_label_map`` (as the candidates read them)."""
    if not label_map:
        return pairs
    mapped = {(label_map.get(a, a), label_map.get(b, b)) for a, b in pairs}
    return mapped if directed else {tuple(sorted(p)) for p in mapped}


def _without_symmetric_reverses(cands: List[Candidate], index, symmetric) -> List[Candidate]:
    """Leave out a candidate that is no gold relation itself but the reverse of a
    gold relation whose label is in ``symmetric``."""
    return [
        c
        for c in cands
        if (c.head_chars, c.tail_chars) in index or index.get((c.tail_chars, c.head_chars)) not in symmetric
    ]


def _one_order(scored: List[ScoredCandidate], symmetric) -> List[ScoredCandidate]:
    """Of a pair predicted with the same symmetric label in both orders, keep the
    higher-scoring order (the first on a tie)."""
    best: Dict[Tuple, int] = {}
    for i, x in enumerate(scored):
        if x.label not in symmetric:
            continue
        a, b = x.candidate.head_chars, x.candidate.tail_chars
        key = (min(a, b), max(a, b), x.label)
        if key not in best or x.score > scored[best[key]].score:
            best[key] = i
    keep = set(best.values())
    return [x for i, x in enumerate(scored) if x.label not in symmetric or i in keep]


def _check_listeners(model: Model, nlp: Language, name: str) -> None:
    """A listener in the model must have its upstream component in the pipeline."""
    for node in model.walk():
        upstream = getattr(node, "upstream_name", None)
        if upstream is None or upstream == "*":
            continue
        if upstream not in nlp.component_names:
            raise ValueError(
                f"[components.{name}.model.tok2vec] upstream = {upstream!r}, but the pipeline has no component "
                f"named {upstream!r} (components: {nlp.component_names}). Add it before '{name}' or fix 'upstream'."
            )


def _warn_without_predicted_entities(nlp: Language, name: str, mode: str) -> None:
    """With ``train_entities`` "predicted" or "both", warn when the pipeline has components before ``name``
    that set ``doc.ents`` but none of them is in ``[training] annotating_components``: the training Docs then
    carry no predicted entities. (Without such a component the predicted entities can only come with the
    training Examples themselves: no warning.) A listed ner whose tok2vec listens to an unlisted component
    predicts from zero vectors while training: warn too."""
    if mode == "gold" or name not in nlp.pipe_names:
        return
    annotating = list(nlp.config.get("training", {}).get("annotating_components") or [])
    before = nlp.pipe_names[: nlp.pipe_names.index(name)]
    setters = [n for n in before if "doc.ents" in nlp.get_pipe_meta(n).assigns]
    listed = [n for n in setters if n in annotating]
    effect = "no training pairs" if mode == "predicted" else "the gold pairs alone"
    if setters and not listed:
        warnings.warn(
            f"'{name}': train_entities = {mode!r}, but no component that sets doc.ents before it "
            f"({setters}) is in [training] annotating_components ({annotating}): the training Docs "
            f"carry no predicted entities and the relation model gets {effect}. Set e.g. "
            f'--training.annotating_components \'["tok2vec","ner"]\'.'
        )
        return
    for setter in listed:
        pipe_model = getattr(nlp.get_pipe(setter), "model", None)
        upstream = (
            {getattr(node, "upstream_name", None) for node in pipe_model.walk()}
            if pipe_model is not None
            else set()
        )
        missing = sorted(u for u in upstream - {None, "*"} if u not in annotating)
        if missing:
            warnings.warn(
                f"'{name}': train_entities = {mode!r} and '{setter}' is in [training] annotating_components, "
                f"but the component it listens to ({missing}) is not: while training, '{setter}' predicts from "
                f"zero vectors. List it too, e.g. annotating_components = {missing + annotating}."
            )
