"""CoNLL04 in SpERT-style JSON -> one Doc per sentence.

Each item: ``{"tokens": [...], "tags": [BILOU or BIO tags] | "entities":
[{"type", "start", "end"}], "relations": [{"head", "tail", "type"}],
"orig_id": n}``. ``head``/``tail`` index the entities in order of appearance.
Both shapes are read: the project's copy has ``tags``, SpERT's release has
``entities`` (end exclusive, in any order: they are sorted before the overlap
check, and ``head``/``tail`` keep indexing the list as given).

Tokens are normalised as a tokenizer would make them, counted: a token of
whitespace only (``"\\n"``) is left out and the entities after it move up; a
token with whitespace inside (``"a b"``) is split into words there. An item
with both ``entities`` and ``tags`` uses the entities (``tags_ignored``).

An item whose shape is wrong (a field of the wrong JSON type, a non-integer
offset, a token that is not a non-empty string, tags not matching tokens) is
left out as ``malformed_item``, naming the file, item and field; an entity
without ``type`` is ``entity_without_type``, a relation without ``type``
``relation_without_label``.
"""

import json
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from spacy_bio_rel.converters.checks import check_relations, excluded, resolve_overlaps
from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.textio import DEFAULT_ENCODING, read_text
from spacy_bio_rel.relations import set_relations

Entity = Tuple[int, int, str]


class NoItemsError(ValueError):
    """An input file holds no items to convert."""


def decode_tags(tags: List[str], where: str, report: ConversionReport) -> List[Entity]:
    """BILOU (or BIO) tags -> ``(start, end_exclusive, type)`` in order of appearance.

    A sequence that breaks the scheme (``I-``/``L-`` with no open entity of
    that type) is repaired by starting an entity there, and counted.
    """
    out: List[Entity] = []
    open_start: Optional[int] = None
    open_type = ""
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, typ = tag.partition("-")
        if prefix in ("I", "L") and (open_start is None or typ != open_type):
            if open_start is not None:
                out.append((open_start, i, open_type))
            report.note(
                "malformed_tag_sequence", where, f"token {i} tag {tag!r} continues no entity (repaired)"
            )
            open_start, open_type = i, typ
        elif prefix in ("I", "L"):
            pass
        else:
            if open_start is not None:
                out.append((open_start, i, open_type))
                open_start = None
            if prefix == "B":
                open_start, open_type = i, typ
            elif prefix == "U":
                out.append((i, i + 1, typ))
            elif tag != "O":
                report.note("malformed_tag_sequence", where, f"token {i}: unknown tag {tag!r} read as O")
        if prefix == "L" and open_start is not None:
            out.append((open_start, i + 1, open_type))
            open_start = None
    return out


class MalformedItem(ValueError):
    """An item (or part of it) does not have the shape of the format; the item is left out."""


def _int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedItem(f"{what} {value!r} is not an integer")
    return value


def _list(item: dict, key: str) -> list:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedItem(f'"{key}" is a {type(value).__name__}, not a list')
    return value


def _entities(item: dict, n_tokens: int, where: str, report: ConversionReport) -> List[Optional[Entity]]:
    """``(start, end, type)`` per listed entity (None when it is left out, counted)."""
    if "entities" in item:
        out: List[Optional[Entity]] = []
        for k, e in enumerate(_list(item, "entities")):
            if not isinstance(e, dict):
                raise MalformedItem(f"entity {k} is a {type(e).__name__}, not an object")
            start, end = _int(e.get("start"), f"entity {k} start"), _int(e.get("end"), f"entity {k} end")
            typ = e.get("type")
            if not isinstance(typ, str) or not typ:
                report.drop("entity_without_type", f"{where} entity {k}", f"type {typ!r} at [{start}, {end})")
                out.append(None)
                continue
            out.append((start, end, typ))
        return out
    tags = _list(item, "tags")
    if not all(isinstance(t, str) for t in tags):
        raise MalformedItem('"tags" holds a value that is not a string')
    if len(tags) != n_tokens:
        raise MalformedItem(f"{n_tokens} tokens but {len(tags)} tags")
    out = []
    for k, (start, end, typ) in enumerate(decode_tags(tags, where, report)):
        if not typ:
            report.drop(
                "entity_without_type", f"{where} entity {k}", f"tags without a type at [{start}, {end})"
            )
        out.append((start, end, typ) if typ else None)
    return out


def _words(tokens: List[str], where: str, report: ConversionReport) -> Tuple[List[str], List[int]]:
    """The Doc's words, and for every token index (and the end) the index of its first word.

    A token of whitespace only is left out (``whitespace_token``); a token with whitespace inside is
    split there into words (``token_split_at_whitespace``), as a tokenizer would split the text;
    whitespace around a token is removed (``token_whitespace_trimmed``). Entities move with their tokens.
    """
    words: List[str] = []
    shift: List[int] = []
    for i, t in enumerate(tokens):
        shift.append(len(words))
        parts = t.split()
        if not parts:
            report.drop("whitespace_token", f"{where} token {i}", f"{t!r} left out, later tokens move up")
        elif len(parts) > 1:
            report.note("token_split_at_whitespace", f"{where} token {i}", f"{t!r} -> {parts}")
        elif parts[0] != t:
            report.note("token_whitespace_trimmed", f"{where} token {i}", f"{t!r} -> {parts[0]!r}")
        words.extend(parts)
    shift.append(len(words))
    return words, shift


def item_to_doc(
    item: dict, vocab: Vocab, where: str, report: ConversionReport, exclude: Sequence[str] = ()
) -> Optional[Doc]:
    """One Doc (or None, counted); a malformed item raises MalformedItem."""
    tokens = _list(item, "tokens")
    if not tokens:
        report.drop("empty_document", where, "no tokens")
        return None
    for i, t in enumerate(tokens):
        if not isinstance(t, str) or not t:
            raise MalformedItem(f"token {i} is {t!r}, not a non-empty string")
    words, shift = _words(tokens, where, report)
    if not words:
        report.drop("empty_document", where, "only whitespace tokens")
        return None
    doc = Doc(vocab, words=words, spaces=[True] * (len(words) - 1) + [False])
    for tok in doc:
        tok.is_sent_start = tok.i == 0
    if "tags" in item and "entities" in item:
        report.note("tags_ignored", where, 'the item has both "entities" and "tags": the entities are used')
    ents = _entities(item, len(tokens), where, report)
    spans: List[Span] = []
    names: List[str] = []
    index: List[int] = []  # listed entity -> position in spans, -1 when left out
    for k, ent in enumerate(ents):
        if ent is not None and not (0 <= ent[0] < ent[1] <= len(tokens)):
            report.drop(
                "offsets_outside_text",
                f"{where} entity {k}",
                f"[{ent[0]}, {ent[1]}) outside {len(tokens)} tokens",
            )
            ent = None
        elif ent is not None:
            start, end = shift[ent[0]], shift[ent[1]]
            if start == end:
                report.drop(
                    "entity_only_whitespace",
                    f"{where} entity {k}",
                    f"tokens [{ent[0]}, {ent[1]}) are whitespace",
                )
                ent = None
            else:
                ent = (start, end, ent[2])
        index.append(-1 if ent is None else len(spans))
        if ent is not None:
            spans.append(Span(doc, ent[0], ent[1], label=ent[2]))
            names.append(f"entity {k}")
    kept = resolve_overlaps(spans, names, where, report)
    doc.ents = [spans[j] for j in kept]
    kept_set = set(kept)
    found = []
    for k, r in enumerate(_list(item, "relations")):
        rwhere = f"{where} relation {k}"
        if not isinstance(r, dict):
            raise MalformedItem(f"relation {k} is a {type(r).__name__}, not an object")
        h, t, label = r.get("head"), r.get("tail"), r.get("type")
        if not isinstance(label, str) or not label:
            report.drop("relation_without_label", rwhere, f"type {label!r}")
            continue
        if excluded(label, exclude, rwhere, report):
            continue
        bad = [x for x in (h, t) if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < len(ents)]
        if bad:
            report.drop(
                "unknown_argument_id",
                rwhere,
                f"{label}: head {h!r}/tail {t!r} index no entity ({len(ents)} entities)",
            )
            continue
        if index[h] < 0 or index[t] < 0:
            report.drop("argument_left_out", rwhere, f"{label}: an argument was left out")
            continue
        if index[h] not in kept_set or index[t] not in kept_set:
            report.drop("argument_lost_to_overlap", rwhere, f"{label}: an argument overlaps a kept entity")
            continue
        found.append((spans[index[h]], spans[index[t]], label, f"relation {k}"))
    set_relations(doc, check_relations(found, where, report))
    doc.user_data[DOC_ID_KEY] = str(item.get("orig_id", where))
    return doc


def read_conll04(
    path: Path,
    report: ConversionReport,
    vocab: Optional[Vocab] = None,
    progress=None,
    encoding: str = DEFAULT_ENCODING,
    exclude: Sequence[str] = (),
) -> Iterator[Tuple[str, List[Doc]]]:
    """``(doc_id, [doc])`` per JSON item (each item is one sentence)."""
    path = Path(path)
    if not path.exists():
        raise NoItemsError(f"CoNLL04 file {path} does not exist")
    try:
        data = json.loads(read_text(path, encoding))
    except json.JSONDecodeError as e:
        raise NoItemsError(f"{path} is not valid JSON: {e}")
    if not isinstance(data, list) or not data:
        raise NoItemsError(f"{path} holds no items (expected a non-empty JSON list)")
    vocab = vocab or Vocab()
    for i, item in enumerate(data):
        if progress is not None:
            progress(i + 1, len(data))
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            report.drop("malformed_item", where, f"expected an object, got {type(item).__name__}")
            continue
        try:
            doc = item_to_doc(item, vocab, where, report, exclude)
        except MalformedItem as e:
            report.drop("malformed_item", where, str(e))
            continue
        if doc is not None:
            yield doc.user_data[DOC_ID_KEY], [doc]
