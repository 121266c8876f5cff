"""Relations on a Doc: the public data API.

Relations are stored as plain data in ``doc.user_data`` so that they survive
``DocBin`` round trips, and rebuilt as :class:`Relation` objects with real
``Span`` s on access through ``doc._.relations``.

Storage (one list per Doc, under :data:`USER_DATA_KEY`)::

    [{"head": [start, end, label], "tail": [start, end, label],
      "label": "Work_For", "score": 1.0}, ...]

``start``/``end`` are token offsets, ``label`` the entity label of the span.
"""
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, Span

USER_DATA_KEY = "spacy_bio_rel.relations"
EXTENSION = "relations"


@dataclass(frozen=True)
class Relation:
    """A directed relation ``label(head, tail)`` between two spans of a Doc."""

    head: Span
    tail: Span
    label: str
    score: float = 1.0

    def to_dict(self) -> dict:
        return {
            "head": [self.head.start, self.head.end, self.head.label_],
            "tail": [self.tail.start, self.tail.end, self.tail.label_],
            "label": self.label,
            "score": float(self.score),
        }

    def __repr__(self) -> str:
        return (
            f"Relation({self.label}: {self.head.text!r}[{self.head.label_}] -> "
            f"{self.tail.text!r}[{self.tail.label_}], score={self.score:.3f})"
        )


RelationLike = Union[Relation, Tuple[Span, Span, str], Tuple[Span, Span, str, float]]


def _span_from_data(doc: Doc, data: Sequence) -> Span:
    start, end, label = int(data[0]), int(data[1]), str(data[2])
    if not (0 <= start < end <= len(doc)):
        raise ValueError(
            f"Stored relation argument [{start}, {end}) is outside the Doc "
            f"({len(doc)} tokens): the relations in doc.user_data[{USER_DATA_KEY!r}] "
            "do not belong to this Doc."
        )
    return Span(doc, start, end, label=label)


def get_relations(doc: Doc) -> List[Relation]:
    """The relations of ``doc`` (gold or predicted, whichever were set last)."""
    return [
        Relation(
            head=_span_from_data(doc, item["head"]),
            tail=_span_from_data(doc, item["tail"]),
            label=item["label"],
            score=float(item.get("score", 1.0)),
        )
        for item in doc.user_data.get(USER_DATA_KEY, [])
    ]


def _as_relation(doc: Doc, rel: RelationLike) -> Relation:
    if isinstance(rel, Relation):
        out = rel
    elif isinstance(rel, (tuple, list)) and len(rel) in (3, 4):
        out = Relation(rel[0], rel[1], str(rel[2]), float(rel[3]) if len(rel) == 4 else 1.0)
    else:
        raise TypeError(
            "A relation must be a Relation or a tuple (head_span, tail_span, label[, score]); "
            f"got {rel!r}"
        )
    for role, span in (("head", out.head), ("tail", out.tail)):
        if not isinstance(span, Span):
            raise TypeError(f"Relation {role} must be a spaCy Span, got {type(span).__name__}")
        if span.doc is not doc:
            raise ValueError(f"Relation {role} {span.text!r} belongs to a different Doc")
    if not out.label:
        raise ValueError("Relation label must be a non-empty string")
    return out


def set_relations(doc: Doc, relations: Iterable[RelationLike]) -> None:
    """Replace the relations of ``doc``.

    Each item is a :class:`Relation` or a tuple ``(head, tail, label[, score])``
    whose spans belong to ``doc``. Gold relations are set with this function;
    the ``relation_extractor`` component uses it for its predictions too.
    """
    rels = [_as_relation(doc, r) for r in relations]
    doc.user_data[USER_DATA_KEY] = [r.to_dict() for r in rels]


def add_relation(doc: Doc, head: Span, tail: Span, label: str, score: float = 1.0) -> None:
    """Append one relation to ``doc``."""
    rel = _as_relation(doc, (head, tail, label, score))
    doc.user_data.setdefault(USER_DATA_KEY, []).append(rel.to_dict())


def relation_keys(doc: Doc) -> List[Tuple[Tuple[int, int], Tuple[int, int], str]]:
    """Relations as hashable ``((h_start, h_end), (t_start, t_end), label)`` triples."""
    return [
        ((int(d["head"][0]), int(d["head"][1])), (int(d["tail"][0]), int(d["tail"][1])), d["label"])
        for d in doc.user_data.get(USER_DATA_KEY, [])
    ]


def _relations_setter(doc: Doc, value: Optional[Iterable[RelationLike]]) -> None:
    set_relations(doc, value or [])


def register_extension() -> None:
    """Register ``Doc._.relations`` (idempotent)."""
    if not Doc.has_extension(EXTENSION):
        Doc.set_extension(EXTENSION, getter=get_relations, setter=_relations_setter)
