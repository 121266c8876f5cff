"""Prodigy relation annotations (JSONL, ``rel.manual``) -> one Doc per example.

Each line: ``{"text", "tokens": [{"text", "start", "end", "id", "ws"}],
"spans": [{"start", "end", "token_start", "token_end", "label"}],
"relations": [{"head", "child", "head_span", "child_span", "label"}],
"answer": "accept"}``. ``token_end`` is inclusive. A relation argument is
found as Prodigy's recipes find it, by its token index ``head``/``child`` (the
span ending at that token, else the span holding it); ``head_span``/
``child_span`` are used only when there is no index, and a record that
disagrees with the index is noted (``relation_span_record_disagrees``; it
happens for spans at character 0). Only answers in ``accept`` (default:
``accept``) are kept; the rest are counted. A file in which no example has an
``answer`` holds unannotated tasks (``predict --format prodigy`` writes them):
all its examples are read, noted as ``unannotated_task``. An example is one sentence (the
sentence start is set on its first token). An example whose shape is wrong
(``tokens`` not objects, ``relations`` not a list, ``ws`` not a boolean; the
strings ``"true"``/``"false"`` are read and noted) is left out as
``malformed_example``, naming the file, line and field. An example whose
``text`` differs from the text its tokens make is left out
(``text_disagrees_with_tokens``); a span whose character offsets lie outside
the text is left out (``offsets_outside_text``), one whose character offsets
differ from those of its tokens is kept with the tokens' (noted).
"""

import json
import re
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from spacy_bio_rel.converters.checks import check_relations, excluded, resolve_overlaps
from spacy_bio_rel.converters.conll04 import MalformedItem, NoItemsError
from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.textio import DEFAULT_ENCODING, read_text
from spacy_bio_rel.relations import set_relations

ANSWER_KEY = re.compile(
    r'"answer"\s*:'
)  # a Prodigy answer in a JSON line (escaped quotes inside text do not match)
WS_STRINGS = {"true": True, "false": False}


def _span_key(span) -> Optional[Tuple[int, int]]:
    """``(token_start, token_end + 1)`` of a span record, None when it has none."""
    if not isinstance(span, dict):
        return None
    a, b = span.get("token_start"), span.get("token_end")
    if any(isinstance(x, bool) or not isinstance(x, int) for x in (a, b)):
        return None
    return a, b + 1


def _chars(span: dict) -> Optional[Tuple[int, int]]:
    """``(start, end)`` character offsets of a span record, None when it has none."""
    a, b = span.get("start"), span.get("end")
    if any(isinstance(x, bool) or not isinstance(x, int) for x in (a, b)):
        return None
    return a, b


def _list(eg: dict, key: str) -> list:
    value = eg.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedItem(f'"{key}" is a {type(value).__name__}, not a list')
    return value


def _words(eg: dict, where: str, report: ConversionReport) -> Tuple[List[str], List[bool]]:
    words, spaces = [], []
    for i, t in enumerate(_list(eg, "tokens")):
        if not isinstance(t, dict):
            raise MalformedItem(f'token {i} is a {type(t).__name__}, not an object with "text" and "ws"')
        text, ws = t.get("text"), t.get("ws", True)
        if not isinstance(text, str) or not text:
            raise MalformedItem(f"token {i} text {text!r} is not a non-empty string")
        if isinstance(ws, str) and ws.lower() in WS_STRINGS:
            report.note(
                "ws_given_as_string", f"{where} token {i}", f"ws {ws!r} read as {WS_STRINGS[ws.lower()]}"
            )
            ws = WS_STRINGS[ws.lower()]
        if not isinstance(ws, bool):
            raise MalformedItem(f"token {i} ws {ws!r} is not true or false")
        words.append(text)
        spaces.append(ws)
    return words, spaces


def _argument(
    r: dict, role: str, kept: List[Span], dropped: List[Span], where: str, report: ConversionReport
) -> Tuple[Optional[Span], str]:
    """The kept span of one relation argument, or None and the reason it is not one.

    As Prodigy's recipes do, the token index ``r[role]`` decides: the span
    ending at that token, else the span holding it. The ``<role>_span`` record
    is used only when there is no index (a disagreeing record is noted).
    """
    index, key = r.get(role), _span_key(r.get(f"{role}_span"))
    by_index = isinstance(index, int) and not isinstance(index, bool)
    for spans, reason in ((kept, ""), (dropped, "argument_lost_to_overlap")):
        if by_index:
            span = next((s for s in spans if s.end - 1 == index), None) or next(
                (s for s in spans if s.start <= index < s.end), None
            )
        else:
            span = next((s for s in spans if (s.start, s.end) == key), None)
        if span is None:
            continue
        if by_index and key is not None and key != (span.start, span.end):
            report.note(
                "relation_span_record_disagrees",
                f"{where} {role}",
                f"token {index} is in {span.text!r} [{span.start}, {span.end}) but the {role}_span "
                f"record says tokens [{key[0]}, {key[1]}): the token index wins",
            )
        return (None, reason) if reason else (span, "")
    return None, "argument_not_an_entity"


def example_to_doc(
    eg: dict, vocab: Vocab, where: str, report: ConversionReport, exclude: Sequence[str] = ()
) -> Optional[Doc]:
    """One Doc (or None, counted); a malformed example raises MalformedItem."""
    words, spaces = _words(eg, where, report)
    if not words:
        report.drop("empty_document", where, "no tokens")
        return None
    doc = Doc(vocab, words=words, spaces=spaces)
    text = eg.get("text")
    if isinstance(text, str) and text != doc.text:
        i = next((i for i, (a, b) in enumerate(zip(text, doc.text)) if a != b), min(len(text), len(doc.text)))
        report.drop(
            "text_disagrees_with_tokens",
            where,
            f'"text" has {text[i : i + 20]!r} at character {i}, the tokens {doc.text[i : i + 20]!r}',
        )
        return None
    for tok in doc:
        tok.is_sent_start = tok.i == 0
    spans: List[Span] = []
    names: List[str] = []
    for k, sp in enumerate(_list(eg, "spans")):
        key = _span_key(sp)
        swhere = f"{where} span {k}"
        if key is None or not (0 <= key[0] < key[1] <= len(doc)):
            report.drop("offsets_outside_text", swhere, f"token offsets {key} outside {len(doc)} tokens")
            continue
        chars = _chars(sp)
        if chars is not None and not 0 <= chars[0] < chars[1] <= len(doc.text):
            report.drop(
                "offsets_outside_text", swhere, f"characters {chars} outside the text ({len(doc.text)})"
            )
            continue
        token_chars = (doc[key[0]].idx, doc[key[1] - 1].idx + len(doc[key[1] - 1]))
        if chars is not None and chars != token_chars:
            report.note(
                "span_characters_disagree_with_tokens",
                swhere,
                f"characters {chars} but tokens [{key[0]}, {key[1]}) cover {token_chars}: the tokens win",
            )
        label = sp.get("label")
        if not isinstance(label, str) or not label:
            report.drop("span_without_label", swhere, f"{doc[key[0] : key[1]].text!r} label {label!r}")
            continue
        spans.append(Span(doc, key[0], key[1], label=label))
        names.append(f"span {k}")
    kept_idx = resolve_overlaps(spans, names, where, report)
    kept = [spans[j] for j in kept_idx]
    kept_set = set(kept_idx)
    dropped = [s for j, s in enumerate(spans) if j not in kept_set]
    doc.ents = kept
    found = []
    for k, r in enumerate(_list(eg, "relations")):
        rwhere = f"{where} relation {k}"
        if not isinstance(r, dict):
            raise MalformedItem(f"relation {k} is a {type(r).__name__}, not an object")
        label = r.get("label")
        if not isinstance(label, str) or not label:
            report.drop("relation_without_label", rwhere, f"label {label!r}")
            continue
        if excluded(label, exclude, rwhere, report):
            continue
        (head, why_h), (child, why_c) = (
            _argument(r, role, kept, dropped, rwhere, report) for role in ("head", "child")
        )
        if head is None or child is None:
            report.drop(
                why_h or why_c,
                rwhere,
                f"{label}: head {r.get('head')!r}/child {r.get('child')!r} is not a kept entity span",
            )
            continue
        found.append((head, child, label, f"relation {k}"))
    set_relations(doc, check_relations(found, where, report))
    meta = eg.get("meta") if isinstance(eg.get("meta"), dict) else {}
    doc.user_data[DOC_ID_KEY] = str(meta.get("id", eg.get("_input_hash", where)))
    return doc


def read_prodigy(
    path: Path,
    report: ConversionReport,
    vocab: Optional[Vocab] = None,
    accept: Sequence[str] = ("accept",),
    progress=None,
    encoding: str = DEFAULT_ENCODING,
    exclude: Sequence[str] = (),
) -> Iterator[Tuple[str, List[Doc]]]:
    path = Path(path)
    if not path.exists():
        raise NoItemsError(f"Prodigy file {path} does not exist")
    vocab = vocab or Vocab()
    n = 0
    text = read_text(path, encoding)
    # tasks nobody annotated yet (predict --format prodigy): no example has an answer, all are read
    tasks = ANSWER_KEY.search(text) is None
    lines = text.split("\n")
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
        if tasks:
            report.note("unannotated_task", where, "no example of the file has an answer: read as a task")
        elif answer not in accept:
            report.drop(
                f"answer_{answer if isinstance(answer, str) and answer else 'missing'}",
                where,
                f"answer {answer!r} is not in {list(accept)}",
            )
            continue
        try:
            doc = example_to_doc(eg, vocab, where, report, exclude)
        except MalformedItem as e:
            report.drop("malformed_example", where, str(e))
            continue
        if doc is not None:
            yield doc.user_data[DOC_ID_KEY], [doc]
    if n == 0:
        raise NoItemsError(f"{path} holds no examples")
