"""Rule-based sentence boundaries, set on every token of a Doc.

Boundaries are character offsets where a sentence may start; a token starts a
sentence when it is the first non-space token at or after such an offset (and
after the previous non-space token). Space tokens never start a sentence, so
runs of newlines stay with the sentence before them.

Modes:
* ``rules`` — English: after a token made of ``.``, ``!``, ``?`` or ``…``
  (closing quotes and brackets after it stay in the sentence), at blank lines
  and where markup tags were removed. Chinese: after 。｡！？!? (the delimiter
  belongs to the sentence before it) and at every line break.
* ``lines`` — at every line break (and removed markup tags).
* ``none`` — no splitting: the whole document is one sentence.
"""

import bisect
import re
from typing import Iterable, List, Sequence

import numpy
from spacy.attrs import SENT_START
from spacy.tokens import Doc

MODES = ("rules", "lines", "none")
ZH_ENDERS = "。｡！？!?"
LINE_BREAKS = "\n\r\u2028\u2029\x85\x0b\x0c"
EN_FINAL_RE = re.compile(r"^(?:[.!?]+|\.\.\.|…)$")
EN_CLOSERS = {'"', "'", "''", ")", "]", "}", "”", "’", "»"}
BLANK_LINE_RE = re.compile(r"\n[ \t\r\f\v]*\n")


def char_boundaries(doc: Doc, lang: str, mode: str, breaks: Iterable[int] = ()) -> List[int]:
    """Sorted character offsets where a sentence may start."""
    if mode not in MODES:
        raise ValueError(f"sentence mode must be one of {MODES}, got {mode!r}")
    if mode == "none":
        return []
    text = doc.text
    out = set(breaks)
    if mode == "lines" or lang == "zh":
        out.update(i + 1 for i, c in enumerate(text) if c in LINE_BREAKS)
    if mode == "rules" and lang == "zh":
        out.update(i + 1 for i, c in enumerate(text) if c in ZH_ENDERS)
    elif mode == "rules":
        out.update(m.end() for m in BLANK_LINE_RE.finditer(text))
        n = len(doc)
        for i, tok in enumerate(doc):
            if EN_FINAL_RE.match(tok.text):
                k = i + 1  # closing quotes/brackets attached to the stop stay with it
                while k < n and doc[k].text in EN_CLOSERS and not doc[k - 1].whitespace_:
                    k += 1
                if k < n:
                    out.add(doc[k].idx)
    return sorted(out)


def sentence_start_flags(doc: Doc, boundaries: Sequence[int]) -> List[bool]:
    """Per token: does it start a sentence, given character ``boundaries``."""
    flags: List[bool] = []
    prev_end = None
    for tok in doc:
        if tok.i == 0:
            flags.append(True)
        elif tok.is_space or prev_end is None:
            flags.append(False)
        else:
            k = bisect.bisect_left(boundaries, prev_end)
            flags.append(k < len(boundaries) and boundaries[k] <= tok.idx)
        if not tok.is_space:
            prev_end = tok.idx + len(tok.text)
    return flags


def set_flags(doc: Doc, flags: Sequence[bool]) -> None:
    """Set ``is_sent_start`` on every token at once (True/False, never unknown)."""
    if len(doc):
        values = numpy.array([1 if f else -1 for f in flags], dtype="int32").reshape(-1, 1)
        doc.from_array([SENT_START], values.astype("uint64"))


def set_sentence_starts(doc: Doc, boundaries: Sequence[int]) -> List[bool]:
    """Set ``is_sent_start`` on every token from character ``boundaries``."""
    flags = sentence_start_flags(doc, boundaries)
    set_flags(doc, flags)
    return flags


def split_sentences(doc: Doc, lang: str, mode: str = "rules", breaks: Iterable[int] = ()) -> Doc:
    set_sentence_starts(doc, char_boundaries(doc, lang, mode, breaks))
    return doc
