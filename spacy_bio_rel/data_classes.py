"""The data passed between the steps of the relation model.

Doc -> :class:`RelInput` (Docs, the entities they are read with, candidate
pairs) -> :class:`RelBatch` (integer arrays, :mod:`.ml.features`) -> the
network -> :class:`RelScores`.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy
from spacy.tokens import Doc, Span
from thinc.types import Floats2d

from spacy_bio_rel.candidates import Candidate, Offsets


@dataclass
class RelInput:
    """The relation model's input: Docs, the entities each Doc is read with
    (for the BIO tags: all entities of a candidate's sentence) and each Doc's
    candidate pairs. ``ents[i]`` may differ from ``docs[i].ents``: in training
    the component passes the gold entities of the reference Docs.

    ``alt_ents`` (training with ``train_entities = "both"``): per Doc, the
    entities the ``ner`` predicted; the candidates marked ``predicted`` are
    read with them, the others with ``ents``."""

    docs: List[Doc]
    ents: List[List[Span]]
    cands: List[List[Candidate]]
    alt_ents: Optional[List[List[Span]]] = None

    def __len__(self) -> int:
        return len(self.docs)

    @property
    def n_pairs(self) -> int:
        return sum(len(c) for c in self.cands)


@dataclass
class SentenceFeatures:
    """Arrays of one sentence. ``ents`` maps token offsets -> unit span."""

    units: numpy.ndarray  # (n,) int64 unit ids
    tags: numpy.ndarray  # (n,) int64 tag ids
    ents: Dict[Offsets, Tuple[int, int]]
    tokens: Optional[numpy.ndarray] = None  # (n,) int64 Doc token index of each unit


@dataclass
class RelBatch:
    """Integer arrays for a batch of candidate pairs (all int64 numpy arrays).

    ``words``/``tags``: (S, N) padded unit and tag ids of S (windowed)
    sentences, ``lengths``: (S,). ``ent_sent``/``ent_start``/``ent_end``: (E,)
    the sentence and unit span of each entity occurrence. ``pair_e1``/``pair_e2``:
    (P,) indices into the entity arrays (both in the same sentence).
    """

    words: numpy.ndarray
    tags: numpy.ndarray
    lengths: numpy.ndarray
    ent_sent: numpy.ndarray
    ent_start: numpy.ndarray
    ent_end: numpy.ndarray
    pair_e1: numpy.ndarray
    pair_e2: numpy.ndarray
    unit_tokens: Optional[numpy.ndarray] = None

    @property
    def n_pairs(self) -> int:
        return int(self.pair_e1.shape[0])


@dataclass(frozen=True)
class ScoredCandidate:
    """One candidate pair of a Doc with its best relation label, before any threshold.

    ``head``/``tail``: the pair's spans on the Doc, with the Doc's own entity labels (built on
    access). ``label``: the argmax relation label (``"Other"`` only where the model predicts Other by
    argmax, ``classification_loss = "cross_entropy"``). ``score``: the raw class score of ``label``,
    the value that θ is compared with. ``confidence``: what :class:`~.relations.Relation` ``.score``
    gets.
    """

    doc: Doc
    candidate: Candidate
    label: str
    score: float
    confidence: float
    head_label: str
    tail_label: str

    @property
    def head(self) -> Span:
        return Span(self.doc, self.candidate.head[0], self.candidate.head[1], label=self.head_label)

    @property
    def tail(self) -> Span:
        return Span(self.doc, self.candidate.tail[0], self.candidate.tail[1], label=self.tail_label)

    def to_dict(self) -> dict:
        """The stored form of the relation it predicts (:meth:`.relations.Relation.to_dict`)."""
        (hs, he), (ts, te) = self.candidate.head_chars, self.candidate.tail_chars
        return {
            "head": [hs, he, self.head_label],
            "tail": [ts, te, self.tail_label],
            "label": self.label,
            "score": float(self.confidence),
            "offsets": "char",
        }


@dataclass
class RelScores:
    """Network output for P pairs: class scores (P, C[+1]) and identification logits (P, 2)."""

    classes: Floats2d
    ident: Floats2d
