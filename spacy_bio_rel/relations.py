"""Relations on a Doc: the public data API.

Relations are stored as plain data in ``doc.user_data`` so that they survive
``DocBin`` round trips, and rebuilt as :class:`Relation` objects with real
``Span`` s on access through ``doc._.relations``.

Storage (one list per Doc, under :data:`USER_DATA_KEY`)::

    [{"head": [start_char, end_char, label], "tail": [start_char, end_char, label],
      "label": "Work_For", "score": 1.0, "offsets": "char"}, ...]

``start_char``/``end_char`` are character offsets into ``doc.text`` and
``label`` the entity label of the span. Character offsets survive
retokenisation (``merge_entities``, ``retokenize``), token offsets do not.
Items without ``"offsets": "char"`` (written by version 0.1) hold token
offsets and are still read.
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
            "head": [self.head.start_char, self.head.end_char, self.head.label_],
            "tail": [self.tail.start_char, self.tail.end_char, self.tail.label_],
            "label": self.label,
            "score": float(self.score),
            "offsets": "char",
        }

    def __repr__(self) -> str:
        return (
            f"Relation({self.label}: {self.head.text!r}[{self.head.label_}] -> "
            f"{self.tail.text!r}[{self.tail.label_}], score={self.score:.3f})"
        )


RelationLike = Union[Relation, Tuple[Span, Span, str], Tuple[Span, Span, str, float]]


def _span_from_data(doc: Doc, data: Sequence, char: bool) -> Span:
    start, end, label = int(data[0]), int(data[1]), str(data[2])
    size, unit = (len(doc.text), "characters") if char else (len(doc), "tokens")
    if not (0 <= start < end <= size):
        raise ValueError(
            f"Stored relation argument [{start}, {end}) is outside the Doc "
            f"({size} {unit}): the relations in doc.user_data[{USER_DATA_KEY!r}] "
            "do not belong to this Doc."
        )
    if not char:
        return Span(doc, start, end, label=label)
    span = doc.char_span(start, end, label=label, alignment_mode="expand")
    if span is None:  # only whitespace between the offsets
        raise ValueError(f"Stored relation argument [{start}, {end}) covers no token of the Doc")
    return span


def _is_char(item: dict) -> bool:
    return item.get("offsets") == "char"


def get_relations(doc: Doc) -> List[Relation]:
    """The relations of ``doc`` (gold or predicted, whichever were set last)."""
    return [
        Relation(
            head=_span_from_data(doc, item["head"], _is_char(item)),
            tail=_span_from_data(doc, item["tail"], _is_char(item)),
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
            f"A relation must be a Relation or a tuple (head_span, tail_span, label[, score]); got {rel!r}"
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
    """Relations as hashable ``((h_start, h_end), (t_start, t_end), label)``
    triples of CHARACTER offsets (old token-offset items are converted)."""
    out = []
    for d in doc.user_data.get(USER_DATA_KEY, []):
        keys = []
        for role in ("head", "tail"):
            start, end = int(d[role][0]), int(d[role][1])
            if not _is_char(d):
                span = _span_from_data(doc, d[role], False)
                start, end = span.start_char, span.end_char
            keys.append((start, end))
        out.append((keys[0], keys[1], d["label"]))
    return out


def _relations_setter(doc: Doc, value: Optional[Iterable[RelationLike]]) -> None:
    set_relations(doc, value or [])


def register_extension() -> None:
    """Register ``Doc._.relations`` (idempotent)."""
    if not Doc.has_extension(EXTENSION):
        Doc.set_extension(EXTENSION, getter=get_relations, setter=_relations_setter)
