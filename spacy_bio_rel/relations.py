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

Beside the list, :func:`set_relations` writes an anchor: the key
``("._.", ANCHOR, 0, len(doc.text))`` (value ``True``), shaped like the keys
spaCy uses for span extensions, so that spaCy's own Doc operations move it
with the text. With it, the relations follow those operations:

* ``span.as_doc(copy_user_data=True)`` copies the list unchanged and moves the
  anchor to ``-span.start_char``: the new Doc's relations are those whose head
  and tail both lie inside the span, at their offsets in the new text; the
  others are left out (:func:`get_relations`). Relations copied this way and
  never set again stay stored with the old offsets; :func:`set_relations` or
  :func:`add_relation` on the new Doc rewrite them for it.
* ``Doc.from_docs`` drops the list (spaCy warns ``W102``: it keeps only
  extension keys), so the joined Doc has no relations, never wrong ones.
  :func:`from_docs` joins Docs and keeps their relations, moved to each
  Doc's place in the joined text.
* ``doc.to_json(underscore=["relations"])`` writes each relation in its JSON
  form (:meth:`Relation.to_json`); ``Doc(vocab).from_json(data)`` sets them
  again through ``doc._.relations``, and :func:`relations_from_json` reads
  them onto a Doc.
* ``doc.copy()``, pickling, ``DocBin`` and retokenisation keep the text, so
  the anchor and the offsets stay as they are.

Relations stored without an anchor (by an earlier version) are read as the
relations of the Doc that holds them.
"""

import math
import re
import warnings
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from spacy.tokens import Doc, Span

USER_DATA_KEY = "spacy_bio_rel.relations"
ANCHOR = "spacy_bio_rel.relations.anchor"
EXTENSION = "relations"


def _span_json(span: Span) -> dict:
    return {"start": span.start_char, "end": span.end_char, "label": span.label_, "text": span.text}


@dataclass(frozen=True)
class Relation(dict):
    """A directed relation ``label(head, tail)`` between two spans of a Doc.

    A Relation is also a read-only ``dict`` holding its JSON form
    (:meth:`to_json`), so that ``doc._.relations`` is JSON-serialisable and
    ``doc.to_json(underscore=["relations"])`` works. Equality and hashing are
    those of the fields (the spans compare with their Doc).
    """

    head: Span
    tail: Span
    label: str
    score: float = 1.0

    def __post_init__(self) -> None:
        for role, span in (("head", self.head), ("tail", self.tail)):
            if not isinstance(span, Span):
                raise TypeError(f"Relation {role} must be a spaCy Span, got {type(span).__name__}")
        dict.update(self, self.to_json())

    def to_json(self) -> dict:
        """``{"head": {"start", "end", "label", "text"}, "tail": {...}, "label", "score"}``: character
        offsets into the Doc's text, the entity label and text of each argument."""
        return {
            "head": _span_json(self.head),
            "tail": _span_json(self.tail),
            "label": self.label,
            "score": float(self.score),
        }

    def to_dict(self) -> dict:
        """The stored form (see the module's text)."""
        return {
            "head": [self.head.start_char, self.head.end_char, self.head.label_],
            "tail": [self.tail.start_char, self.tail.end_char, self.tail.label_],
            "label": self.label,
            "score": float(self.score),
            "offsets": "char",
        }

    def __reduce__(self):
        return (type(self), (self.head, self.tail, self.label, self.score))

    def __repr__(self) -> str:
        return (
            f"Relation({self.label}: {self.head.text!r}[{self.head.label_}] -> "
            f"{self.tail.text!r}[{self.tail.label_}], score={self.score:.3f})"
        )


def _read_only(self, *args, **kwargs):
    raise TypeError("a Relation is read-only: build a new one")


for _name in ("__setitem__", "__delitem__", "__ior__", "clear", "pop", "popitem", "setdefault", "update"):
    setattr(Relation, _name, _read_only)


RelationLike = Union[Relation, dict, Tuple[Span, Span, str], Tuple[Span, Span, str, float]]


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


# -- where the stored relations belong ---------------------------------------------------------------
def _text_length(doc: Doc) -> int:
    """``len(doc.text)`` without building the text."""
    if not len(doc):
        return 0
    last = doc[-1]
    return last.idx + len(last.text_with_ws)


def _anchor_key(doc: Doc) -> tuple:
    return ("._.", ANCHOR, 0, _text_length(doc))


def _anchor_keys(doc: Doc) -> List[tuple]:
    return [k for k in doc.user_data if isinstance(k, tuple) and len(k) == 4 and k[:2] == ("._.", ANCHOR)]


def _stamp(doc: Doc) -> None:
    """Mark the stored relations as this Doc's: one anchor, over the whole text."""
    for key in _anchor_keys(doc):
        del doc.user_data[key]
    doc.user_data[_anchor_key(doc)] = True


def _placement(doc: Doc) -> Tuple[int, bool]:
    """``(shift, part)``: what to add to the stored character offsets to place them in ``doc.text``, and
    whether ``doc`` is a part of the Doc the relations were set on (``Span.as_doc``), whose relations
    outside it are left out."""
    if _anchor_key(doc) in doc.user_data:
        return 0, False
    anchors = [(k[2], k[3]) for k in _anchor_keys(doc)]
    if not anchors:  # stored without an anchor
        return 0, False
    if len(anchors) == 1 and anchors[0][0] <= 0 and anchors[0][1] >= _text_length(doc):
        return anchors[0][0], True
    raise ValueError(
        f"The relations in doc.user_data[{USER_DATA_KEY!r}] were set on another Doc (anchored at "
        f"{anchors}, this Doc's text has {len(doc.text)} characters): set them on this Doc with set_relations"
    )


def _stored(doc: Doc) -> Iterator[Tuple[dict, Sequence, Sequence, bool]]:
    """``(item, head, tail, char offsets?)`` per stored relation of ``doc``, with the arguments placed in
    ``doc``'s text; on a part of the Doc they were set on, only those whose arguments both lie in it."""
    items = doc.user_data.get(USER_DATA_KEY) or []
    if not items:
        return
    shift, part = _placement(doc)
    size = _text_length(doc) if part else 0
    for item in items:
        if not part:
            yield item, item["head"], item["tail"], _is_char(item)
            continue
        if not _is_char(item):
            raise ValueError(
                f"The relations in doc.user_data[{USER_DATA_KEY!r}] hold token offsets, which cannot be "
                "placed in a part of the Doc: set them with set_relations"
            )
        head, tail = ([int(a[0]) + shift, int(a[1]) + shift, a[2]] for a in (item["head"], item["tail"]))
        if 0 <= head[0] < head[1] <= size and 0 <= tail[0] < tail[1] <= size:
            yield item, head, tail, True


def get_relations(doc: Doc) -> List[Relation]:
    """The relations of ``doc`` (gold or predicted, whichever were set last).

    On a Doc made by ``span.as_doc(copy_user_data=True)``: the relations whose head and tail both lie in
    the span, on the new Doc's spans (see the module's text)."""
    return [
        Relation(
            head=_span_from_data(doc, head, char),
            tail=_span_from_data(doc, tail, char),
            label=item["label"],
            score=float(item.get("score", 1.0)),
        )
        for item, head, tail, char in _stored(doc)
    ]


def _span_from_json(doc: Doc, data: dict, where: str) -> Span:
    try:
        start, end, label = int(data["start"]), int(data["end"]), str(data["label"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f'{where}: expected {{"start", "end", "label"[, "text"]}}, got {data!r}') from None
    span = doc.char_span(start, end, label=label) if 0 <= start < end <= len(doc.text) else None
    if span is None:
        raise ValueError(
            f"{where}: characters [{start}, {end}) are not a span of tokens of this Doc "
            f"({len(doc.text)} characters)"
        )
    text = data.get("text")
    if text is not None and span.text != text:
        raise ValueError(
            f"{where}: characters [{start}, {end}) are {span.text!r} in this Doc and {text!r} in the JSON: "
            "it was written for another text"
        )
    return span


def _relation_from_json(doc: Doc, data: dict, where: str = "relation") -> Relation:
    if not isinstance(data, dict) or not {"head", "tail", "label"} <= set(data):
        raise ValueError(f'{where}: expected {{"head", "tail", "label"[, "score"]}}, got {data!r}')
    return Relation(
        _span_from_json(doc, data["head"], f"{where} head"),
        _span_from_json(doc, data["tail"], f"{where} tail"),
        str(data["label"]),
        float(data.get("score", 1.0)),
    )


def _as_relation(doc: Doc, rel: RelationLike) -> Relation:
    if isinstance(rel, Relation):
        out = rel
    elif isinstance(rel, dict):
        out = _relation_from_json(doc, rel)
    elif isinstance(rel, (tuple, list)) and len(rel) in (3, 4):
        out = Relation(rel[0], rel[1], str(rel[2]), float(rel[3]) if len(rel) == 4 else 1.0)
    else:
        raise TypeError(
            "A relation must be a Relation, its JSON form (Relation.to_json) or a tuple "
            f"(head_span, tail_span, label[, score]); got {rel!r}"
        )
    for role, span in (("head", out.head), ("tail", out.tail)):
        if span.doc is not doc:
            raise ValueError(f"Relation {role} {span.text!r} belongs to a different Doc")
    if not out.label:
        raise ValueError("Relation label must be a non-empty string")
    if not math.isfinite(out.score):
        raise ValueError(f"Relation score must be a finite number, got {out.score!r} ({out.label})")
    return out


def set_relations(doc: Doc, relations: Iterable[RelationLike]) -> None:
    """Replace the relations of ``doc``.

    Each item is a :class:`Relation`, its JSON form (:meth:`Relation.to_json`, as
    ``doc.to_json(underscore=["relations"])`` writes it) or a tuple
    ``(head, tail, label[, score])`` whose spans belong to ``doc``. Gold relations are set with this
    function; the ``relation_extractor`` component uses it for its predictions too.
    """
    rels = [_as_relation(doc, r) for r in relations]
    doc.user_data[USER_DATA_KEY] = [r.to_dict() for r in rels]
    _stamp(doc)


def set_stored_relations(doc: Doc, items: Iterable[dict]) -> None:
    """Replace the relations of ``doc`` with ``items`` in the stored form (:meth:`Relation.to_dict`),
    as given: the ``relation_extractor`` writes its predictions so, from its candidates' offsets."""
    doc.user_data[USER_DATA_KEY] = list(items)
    _stamp(doc)


def add_relation(doc: Doc, head: Span, tail: Span, label: str, score: float = 1.0) -> None:
    """Append one relation to ``doc``."""
    rel = _as_relation(doc, (head, tail, label, score))
    if _anchor_key(doc) not in doc.user_data:  # copied from another Doc, stored without an anchor, or none
        set_relations(doc, get_relations(doc))
    doc.user_data[USER_DATA_KEY].append(rel.to_dict())


def relations_from_json(doc: Doc, data: Union[dict, Sequence[dict]]) -> List[Relation]:
    """The relations of ``data`` as Relations on ``doc``: ``data`` is ``doc.to_json(underscore=["relations"])``
    (its ``"_"`` ``"relations"``) or a list of :meth:`Relation.to_json` forms. Each argument must be a span
    of tokens of ``doc`` and, where the JSON gives its ``"text"``, that text; else ValueError naming the
    relation. ``set_relations(doc, data["_"]["relations"])`` stores them (``Doc.from_json`` does that)."""
    if isinstance(data, dict):
        data = (data.get("_") or {}).get(EXTENSION) or []
    return [_relation_from_json(doc, item, f"relation {i}") for i, item in enumerate(data)]


def from_docs(
    docs: Iterable[Doc],
    ensure_whitespace: bool = True,
    attrs: Optional[Sequence] = None,
    *,
    exclude: Iterable[str] = (),
) -> Optional[Doc]:
    """``Doc.from_docs`` (same arguments) that keeps the relations: each Doc's relations (as
    :func:`get_relations` reads them) on the joined Doc's spans, moved by the tokens before that Doc.
    With ``"user_data"`` in ``exclude`` there are none, as spaCy leaves out all user data then."""
    docs, exclude = list(docs), tuple(exclude)
    with warnings.catch_warnings():  # spaCy skips the stored list; it is set again below
        warnings.filterwarnings(
            "ignore", message=re.escape(f"[W102] Skipping unsupported user data '{USER_DATA_KEY}: ")
        )
        joined = Doc.from_docs(docs, ensure_whitespace=ensure_whitespace, attrs=attrs, exclude=exclude)
    if joined is None or "user_data" in exclude or not any(USER_DATA_KEY in d.user_data for d in docs):
        return joined
    relations, offset = [], 0
    for doc in docs:
        for r in get_relations(doc):
            head, tail = (
                Span(joined, a.start + offset, a.end + offset, label=a.label) for a in (r.head, r.tail)
            )
            relations.append(Relation(head, tail, r.label, r.score))
        offset += len(doc)
    set_relations(joined, relations)
    return joined


def relation_keys(doc: Doc) -> List[Tuple[Tuple[int, int], Tuple[int, int], str]]:
    """Relations as hashable ``((h_start, h_end), (t_start, t_end), label)``
    triples of CHARACTER offsets (old token-offset items are converted)."""
    out = []
    for item, head, tail, char in _stored(doc):
        keys = []
        for data in (head, tail):
            start, end = int(data[0]), int(data[1])
            if not char:
                span = _span_from_data(doc, data, False)
                start, end = span.start_char, span.end_char
            keys.append((start, end))
        out.append((keys[0], keys[1], item["label"]))
    return out


def _relations_setter(doc: Doc, value: Optional[Iterable[RelationLike]]) -> None:
    set_relations(doc, value or [])


def register_extension() -> None:
    """Register ``Doc._.relations`` (idempotent)."""
    if not Doc.has_extension(EXTENSION):
        Doc.set_extension(EXTENSION, getter=get_relations, setter=_relations_setter)
