"""CoNLL04 in SpERT-style JSON -> one Doc per sentence.

Each item: ``{"tokens": [...], "tags": [BILOU or BIO tags] | "entities":
[{"type", "start", "end"}], "relations": [{"head", "tail", "type"}],
"orig_id": n}``. ``head``/``tail`` index the entities in order of appearance.
Both shapes are read: the project's copy has ``tags``, SpERT's release has
``entities`` (end exclusive).
"""
import json
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import set_relations
from .docs import DOC_ID_KEY
from .report import ConversionReport

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
            report.note("malformed_tag_sequence", where, f"token {i} tag {tag!r} continues no entity (repaired)")
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


def item_to_doc(item: dict, vocab: Vocab, where: str, report: ConversionReport) -> Optional[Doc]:
    tokens = item.get("tokens") or []
    if not tokens:
        report.drop("empty_document", where, "no tokens")
        return None
    doc = Doc(vocab, words=[str(t) for t in tokens], spaces=[True] * (len(tokens) - 1) + [False])
    for tok in doc:
        tok.is_sent_start = tok.i == 0
    if "entities" in item:
        ents = [(int(e["start"]), int(e["end"]), str(e["type"])) for e in item["entities"]]
    else:
        tags = item.get("tags") or []
        if len(tags) != len(tokens):
            report.drop("tag_count_mismatch", where, f"{len(tokens)} tokens but {len(tags)} tags")
            return None
        ents = decode_tags(tags, where, report)
    spans: List[Optional[Span]] = []
    last_end = 0
    for k, (s, e, typ) in enumerate(ents):
        if not (0 <= s < e <= len(doc)):
            report.drop("offsets_outside_text", f"{where} entity {k}", f"[{s}, {e}) outside {len(doc)} tokens")
            spans.append(None)
            continue
        if s < last_end:
            report.drop("overlapping_entity", f"{where} entity {k}", f"{doc[s:e].text!r} overlaps the one before")
            spans.append(None)
            continue
        spans.append(Span(doc, s, e, label=typ))
        last_end = e
    doc.ents = [s for s in spans if s is not None]
    rels = []
    seen = {}
    for k, r in enumerate(item.get("relations") or []):
        rwhere = f"{where} relation {k}"
        h, t, label = r.get("head"), r.get("tail"), r.get("type")
        if not isinstance(h, int) or not isinstance(t, int) or not (0 <= h < len(spans)) or not (0 <= t < len(spans)):
            report.drop("unknown_argument_id", rwhere, f"{label}: head {h}/tail {t} index no entity ({len(spans)} entities)")
            continue
        if spans[h] is None or spans[t] is None:
            report.drop("argument_left_out", rwhere, f"{label}: an argument was left out")
            continue
        if h == t:
            report.drop("self_relation", rwhere, f"{label}: head and tail are the same entity")
            continue
        if (h, t) in seen:
            if seen[(h, t)] == label:
                report.note("duplicate_relation_merged", rwhere, str(label))
            else:
                report.drop("conflicting_relation", rwhere, f"{label} on a pair already labelled {seen[(h, t)]}")
            continue
        seen[(h, t)] = label
        rels.append((spans[h], spans[t], str(label)))
    set_relations(doc, rels)
    doc.user_data[DOC_ID_KEY] = str(item.get("orig_id", where))
    return doc


def read_conll04(path: Path, report: ConversionReport, vocab: Optional[Vocab] = None,
                 progress=None) -> Iterator[Tuple[str, List[Doc]]]:
    """``(doc_id, [doc])`` per JSON item (each item is one sentence)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise NoItemsError(f"CoNLL04 file {path} does not exist")
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
        doc = item_to_doc(item, vocab, where, report)
        if doc is not None:
            yield doc.user_data[DOC_ID_KEY], [doc]
