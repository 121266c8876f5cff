"""Prodigy relation annotations (JSONL, ``rel.manual``) -> one Doc per example.

Each line: ``{"text", "tokens": [{"text", "start", "end", "id", "ws"}],
"spans": [{"start", "end", "token_start", "token_end", "label"}],
"relations": [{"head", "child", "head_span", "child_span", "label"}],
"answer": "accept"}``. ``token_end`` is inclusive; ``head``/``child`` are token
indices, used to find the span when ``head_span``/``child_span`` are missing.
Only answers in ``accept`` (default: ``accept``) are kept; the rest are counted.
An example is one sentence (the sentence start is set on its first token).
"""
import json
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ..relations import set_relations
from .conll04 import NoItemsError
from .docs import DOC_ID_KEY
from .report import ConversionReport


def _span_key(span: dict) -> Optional[Tuple[int, int]]:
    try:
        return int(span["token_start"]), int(span["token_end"]) + 1
    except (KeyError, TypeError, ValueError):
        return None


def example_to_doc(eg: dict, vocab: Vocab, where: str, report: ConversionReport) -> Optional[Doc]:
    tokens = eg.get("tokens") or []
    if not tokens:
        report.drop("empty_document", where, "no tokens")
        return None
    words = [str(t.get("text", "")) for t in tokens]
    spaces = [bool(t.get("ws", True)) for t in tokens]
    doc = Doc(vocab, words=words, spaces=spaces)
    for tok in doc:
        tok.is_sent_start = tok.i == 0
    cands = []
    for k, sp in enumerate(eg.get("spans") or []):
        key = _span_key(sp)
        swhere = f"{where} span {k}"
        if key is None or not (0 <= key[0] < key[1] <= len(doc)):
            report.drop("offsets_outside_text", swhere, f"token offsets {key} outside {len(doc)} tokens")
            continue
        if not sp.get("label"):
            report.drop("span_without_label", swhere, doc[key[0]:key[1]].text)
            continue
        cands.append((key[0], -(key[1] - key[0]), k, Span(doc, key[0], key[1], label=str(sp["label"]))))
    kept: List[Span] = []
    for _, _, k, span in sorted(cands, key=lambda c: c[:3]):
        if kept and span.start < kept[-1].end:
            report.drop("overlapping_entity", f"{where} span {k}",
                        f"{span.text!r} [{span.label_}] overlaps kept {kept[-1].text!r} [{kept[-1].label_}]")
            continue
        kept.append(span)
    doc.ents = kept
    by_key: Dict[Tuple[int, int], Span] = {(s.start, s.end): s for s in kept}
    by_token: Dict[int, Span] = {i: s for s in kept for i in range(s.start, s.end)}
    rels = []
    seen: Dict[Tuple, str] = {}
    for k, r in enumerate(eg.get("relations") or []):
        rwhere = f"{where} relation {k}"
        label = r.get("label")
        args = []
        for role in ("head", "child"):
            key = _span_key(r.get(f"{role}_span") or {})
            span = by_key.get(key) if key else None
            if span is None and key is None and isinstance(r.get(role), int):
                span = by_token.get(r[role])
            args.append(span)
        if not label:
            report.drop("relation_without_label", rwhere, "no label")
            continue
        if args[0] is None or args[1] is None:
            report.drop("argument_not_an_entity", rwhere,
                        f"{label}: head/child is not a kept entity span")
            continue
        if args[0] == args[1]:
            report.drop("self_relation", rwhere, f"{label}: head and child are the same span")
            continue
        pair = ((args[0].start, args[0].end), (args[1].start, args[1].end))
        if pair in seen:
            if seen[pair] == label:
                report.note("duplicate_relation_merged", rwhere, str(label))
            else:
                report.drop("conflicting_relation", rwhere, f"{label} on a pair already labelled {seen[pair]}")
            continue
        seen[pair] = label
        rels.append((args[0], args[1], str(label)))
    set_relations(doc, rels)
    meta = eg.get("meta") or {}
    doc.user_data[DOC_ID_KEY] = str(meta.get("id", eg.get("_input_hash", where)))
    return doc


def read_prodigy(path: Path, report: ConversionReport, vocab: Optional[Vocab] = None,
                 accept: Sequence[str] = ("accept",), progress=None) -> Iterator[Tuple[str, List[Doc]]]:
    path = Path(path)
    if not path.exists():
        raise NoItemsError(f"Prodigy file {path} does not exist")
    vocab = vocab or Vocab()
    n = 0
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for no, line in enumerate(lines, 1):
        if progress is not None:
            progress(no, len(lines))
        if not line.strip():
            continue
        where = f"{path}:{no}"
        n += 1
        try:
            eg = json.loads(line)
        except json.JSONDecodeError as e:
            report.drop("malformed_json", where, str(e))
            continue
        if not isinstance(eg, dict):
            report.drop("malformed_json", where, f"expected an object, got {type(eg).__name__}")
            continue
        answer = eg.get("answer")
        if answer not in accept:
            report.drop(f"answer_{answer or 'missing'}", where, f"answer {answer!r} is not in {list(accept)}")
            continue
        doc = example_to_doc(eg, vocab, where, report)
        if doc is not None:
            yield doc.user_data[DOC_ID_KEY], [doc]
    if n == 0:
        raise NoItemsError(f"{path} holds no examples")
