"""The featurisation layer: ``RelInput`` (Docs + candidates) -> ``RelBatch``.

A Thinc layer with no weights. What it learns lives in its ``attrs`` and is
saved with the model (``model.to_bytes``/``to_disk``): the unit vocabulary
(``units``, learned in ``initialize`` from the training Docs with
``min_freq``) and the entity labels whose BIO tags get their own embedding
(``entity_labels``), and whether the BIO tags have a sentence-boundary tag
(``sentence_boundary``, set by the component before initialize when its
``sentence_window`` is above 1; absent in older models: no such tag). The settings it was built with (granularity, lowercase,
min_freq, max_length) are saved beside them, and :func:`check_saved_settings`
refuses a model whose config says otherwise.
"""

from dataclasses import asdict, dataclass
from typing import Dict, Iterable, Optional, Tuple

from spacy.tokens import Doc
from thinc.api import Model

from spacy_bio_rel.candidates import sentence_bounds
from spacy_bio_rel.data_classes import RelBatch, RelInput
from spacy_bio_rel.ml.features import Featurizer, TagVocab, UnitVocab, count_units, sentence_units, wide_pair

GRANULARITIES = ("token", "char")


@dataclass(frozen=True)
class FeaturizeSettings:
    """Settings from the config (kept out of the saved attrs: not msgpack-serialisable)."""

    granularity: str
    lowercase: bool
    min_freq: int
    max_length: int
    with_tokens: bool

    def saved(self) -> Dict:
        out = asdict(self)
        out.pop("with_tokens")
        return out


def build_featurizer(
    granularity: str, lowercase: bool, min_freq: int, max_length: int, with_tokens: bool = False
) -> Model[RelInput, RelBatch]:
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}, got {granularity!r}")
    if int(max_length) < 2:
        raise ValueError(
            f"max_length must be at least 2 (a pair's window holds both targets), got {max_length}"
        )
    if int(min_freq) < 1:
        raise ValueError(f"min_freq must be at least 1, got {min_freq}")
    settings = FeaturizeSettings(
        granularity, bool(lowercase), int(min_freq), int(max_length), bool(with_tokens)
    )
    return Model(
        "bio_rel_featurize",
        forward,
        init=init,
        attrs={
            "config": settings,
            "settings": settings.saved(),
            "units": [],
            "entity_labels": [],
            "sentence_boundary": False,
            "cache": _Cache(),
        },
    )


class _Cache:
    """The ``Featurizer`` built from the current vocabularies (not saved)."""

    def __init__(self):
        self.key: Optional[Tuple[int, int, bool]] = None
        self.featurizer: Optional[Featurizer] = None


def featurizer_of(model: Model) -> Featurizer:
    cache: _Cache = model.attrs["cache"]
    boundary = bool(model.attrs.get("sentence_boundary", False))
    key = (id(model.attrs["units"]), id(model.attrs["entity_labels"]), boundary)
    if cache.key != key:
        cfg: FeaturizeSettings = model.attrs["config"]
        cache.featurizer = Featurizer(
            UnitVocab(model.attrs["units"]),
            TagVocab(model.attrs["entity_labels"], boundary),
            granularity=cfg.granularity,
            lowercase=cfg.lowercase,
            max_length=cfg.max_length,
            with_tokens=cfg.with_tokens,
        )
        cache.key = key
    return cache.featurizer


def forward(model: Model[RelInput, RelBatch], X: RelInput, is_train: bool):
    batch = featurizer_of(model)(X.docs, X.cands, X.ents, X.alt_ents)
    return batch, lambda dY: X


def init(model: Model[RelInput, RelBatch], X: Optional[RelInput] = None, Y=None) -> None:
    """Learn the unit vocabulary and the entity labels from ``X``'s Docs
    (all of their sentences, and the entities they are read with)."""
    if X is None:
        return
    cfg: FeaturizeSettings = model.attrs["config"]
    counts = count_units(X.docs, sentence_bounds, cfg.granularity, cfg.lowercase)
    model.attrs["units"] = UnitVocab.build(counts, cfg.min_freq).strings
    readings = X.ents + (X.alt_ents or [])
    model.attrs["entity_labels"] = sorted({e.label_ for ents in readings for e in ents})


def vocab_sizes(model: Model) -> Tuple[int, int]:
    """(units incl. padding and unknown, BIO tags incl. padding, O, unknown and the boundary tag)."""
    boundary = bool(model.attrs.get("sentence_boundary", False))
    return len(UnitVocab(model.attrs["units"])), len(TagVocab(model.attrs["entity_labels"], boundary))


def check_saved_settings(model: Model) -> None:
    """Raise if the loaded model was built with other featurisation settings."""
    saved, config = model.attrs["settings"], model.attrs["config"].saved()
    for key, value in config.items():
        if key in saved and saved[key] != value:
            raise ValueError(
                f"The saved relation model was trained with {key} = {saved[key]!r}, but the config builds it "
                f"with {key} = {value!r}. Restore the setting in config.cfg "
                "([components.relation_extractor.model]) or retrain."
            )


def unknown_unit_rate(model: Model, docs: Iterable[Doc]) -> float:
    """Share of the units of the sentences of ``docs`` that the vocabulary does not know."""
    cfg: FeaturizeSettings = model.attrs["config"]
    known = set(model.attrs["units"])
    total = unknown = 0
    for doc in docs:
        for sent in sentence_bounds(doc):
            units, _ = sentence_units(doc, sent, cfg.granularity, cfg.lowercase)
            total += len(units)
            unknown += sum(u not in known for u in units)
    return unknown / total if total else 0.0


def wide_pairs(model: Model, doc: Doc, cands) -> int:
    """How many of ``cands`` (candidates of ``doc``) have targets spanning more than ``max_length``
    units, so that the network reads them in a glued window (see :mod:`.features`)."""
    cfg: FeaturizeSettings = model.attrs["config"]
    out = 0
    maps: Dict = {}
    for c in cands:
        if c.sent not in maps:
            units, to_units = sentence_units(doc, c.sent, cfg.granularity, cfg.lowercase)
            maps[c.sent] = (len(units), to_units)
        n, to_units = maps[c.sent]
        out += wide_pair(n, to_units(*c.head), to_units(*c.tail), cfg.max_length)
    return out
