"""Relations as a picture: a self-contained HTML page in the displaCy look.

Each document is drawn as SVG: its text on one line per group of sentences
(a group holds the sentences that relations link), entities as rounded boxes
in their label colour with the label underneath, and one arc per relation
from the head entity to the tail entity (arrowhead at the tail) with the
relation label and its score on top. Arcs are stacked by length so that
nested ones stay readable. Widths come from an estimate per character (CJK
and other wide characters one em, Latin about half) and every text element
is stretched to its estimated width (``textLength``), so the layout holds
whatever font the browser picks; Chinese needs no special setting.

``render(docs)`` returns an :class:`RelationsHTML` string (a complete page,
UTF-8) that Jupyter shows inline by itself; ``render(docs, jupyter=True)``
displays it right away, as ``displacy.render`` does. Every entity is a
``<g class="entity" data-id="d0-e1" ...>`` and every relation a
``<g class="relation" data-head="d0-e1" data-tail="d0-e2" ...>``, so the
drawing can be checked by parsing the HTML.

Long lines wrap: a line holds at most ``max_chars`` characters (default
:data:`MAX_LINE_CHARS`, 100; wide CJK characters count two; 0: no wrapping)
and breaks between tokens, never inside an entity and never under a relation
arc, so every arc stays whole on its line. A stretch that a relation spans (or
one token longer than the limit) stays on one line, longer than the limit.

``to_displacy(doc)`` gives the same entities and relations in displaCy's
manual format, for ``spacy.displacy.render(..., manual=True)`` with
``style="ent"`` (``text``, ``ents``, ``title``) or ``style="dep"``
(``words``, ``arcs``: one arc per relation between the entity words).
"""

import hashlib
import html
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from spacy.displacy.render import DEFAULT_LABEL_COLORS
from spacy.tokens import Doc, Span

from spacy_bio_rel.relations import Relation, get_relations

PALETTE = [
    "#7aecec",
    "#bfeeb7",
    "#feca74",
    "#ff9561",
    "#aa9cfc",
    "#c887fb",
    "#9cc9cc",
    "#ffeb80",
    "#ff8197",
    "#f0d0ff",
    "#bfe1d9",
    "#e4e7d2",
    "#fdd5b1",
    "#c4d7f2",
    "#f6c1c1",
    "#d9f2a5",
]
FONT_SIZE = 16
MAX_LINE_CHARS = 100  # wrap lines longer than this many characters (wide CJK characters count two)
LEVEL_HEIGHT = 26
ARC_COLOR = "#444"
FONT_FAMILY = (
    "-apple-system, 'Segoe UI', Helvetica, Arial, 'Noto Sans CJK SC', 'PingFang SC', "
    "'Microsoft YaHei', 'DejaVu Sans', sans-serif"
)

STYLE = """
.spacy-bio-rel { font-family: -apple-system, "Segoe UI", Helvetica, Arial, "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", sans-serif; line-height: 1.5; }
.spacy-bio-rel figure { margin: 0 0 1.5em 0; padding: 0.5em 0; border-bottom: 1px solid #eee; overflow-x: auto; }
.spacy-bio-rel figcaption { color: #888; font-size: 12px; }
.spacy-bio-rel svg { display: block; margin: 0.25em 0; }
.spacy-bio-rel svg text { white-space: pre; }
.spacy-bio-rel .not-drawn { color: #a00; font-size: 12px; }
"""


class RelationsHTML(str):
    """The rendered page (a ``str``); Jupyter displays it inline through ``_repr_html_``."""

    fragment: str = ""

    def _repr_html_(self) -> str:
        return self.fragment


def label_color(label: str, colors: Optional[Dict[str, str]] = None) -> str:
    """The colour of an entity label: ``colors``, then displaCy's, then a fixed palette by label."""
    if colors and label in colors:
        return colors[label]
    if label in DEFAULT_LABEL_COLORS:
        return DEFAULT_LABEL_COLORS[label]
    digest = hashlib.md5(label.encode("utf-8")).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def char_width(ch: str) -> float:
    """Estimated width of one character in ems."""
    if ch.isspace():
        return 0.35
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if unicodedata.combining(ch):
        return 0.0
    if ch.isupper() or ch.isdigit():
        return 0.66
    if ch in "iljtf.,;:'|!":
        return 0.32
    return 0.56


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return sum(char_width(c) for c in text) * size


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class _Box:
    key: str  # data-id
    span: Span
    x: float = 0.0
    width: float = 0.0


def _drawable_spans(doc: Doc, rels: Sequence[Relation]) -> List[Span]:
    """Entities and relation arguments, without overlaps (the earlier, then longer, span wins)."""
    cands = {(e.start, e.end, e.label_): e for e in doc.ents}
    for r in rels:
        for span in (r.head, r.tail):
            cands.setdefault((span.start, span.end, span.label_), span)
    kept: List[Span] = []
    for span in sorted(cands.values(), key=lambda s: (s.start, -(s.end - s.start), s.label_)):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def _row_ranges(
    doc: Doc, boxes: Sequence[_Box], rels: Sequence[Tuple[_Box, _Box, Relation]]
) -> List[Tuple[int, int]]:
    """Token ranges drawn on one line each: sentences, merged where a relation links them."""
    if len(doc) == 0:
        return []
    if doc.has_annotation("SENT_START"):
        ranges = [[s.start, s.end] for s in doc.sents]
    else:
        return [(0, len(doc))]
    for head, tail, _ in rels:
        lo = min(head.span.start, tail.span.start)
        hi = max(head.span.end, tail.span.end)
        first = next(i for i, (a, b) in enumerate(ranges) if a <= lo < b)
        last = next(i for i, (a, b) in enumerate(ranges) if a < hi <= b)
        if first != last:
            ranges[first : last + 1] = [[ranges[first][0], ranges[last][1]]]
    for box in boxes:  # an entity across a sentence boundary keeps its sentences together
        first = next(i for i, (a, b) in enumerate(ranges) if a <= box.span.start < b)
        last = next(i for i, (a, b) in enumerate(ranges) if a < box.span.end <= b)
        if first != last:
            ranges[first : last + 1] = [[ranges[first][0], ranges[last][1]]]
    return [tuple(r) for r in ranges]


def _line_chars(text: str) -> int:
    """Length of ``text`` in characters, wide (CJK) characters counting two."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _wrap(
    doc: Doc,
    start: int,
    end: int,
    boxes: Sequence[_Box],
    rels: Sequence[Tuple[_Box, _Box, Relation]],
    max_chars: int,
) -> List[Tuple[int, int]]:
    """Token ranges of at most ``max_chars`` characters covering ``start:end``, cut between tokens where
    no entity and no relation arc would be cut (a line runs longer only where no such cut exists)."""
    if max_chars <= 0:
        return [(start, end)]
    blocked = set()
    for b in boxes:
        blocked.update(range(b.span.start + 1, b.span.end))
    for head, tail, _ in rels:
        lo = min(head.span.start, tail.span.start)
        hi = max(head.span.end, tail.span.end)
        blocked.update(range(lo + 1, hi))
    prefix = [0]
    for t in doc[start:end]:
        prefix.append(prefix[-1] + _line_chars(t.text_with_ws))

    def chars(a: int, b: int) -> int:
        return prefix[b - start] - prefix[a - start]

    cuts = [c for c in range(start + 1, end) if c not in blocked]
    lines: List[Tuple[int, int]] = []
    line_start = start
    while chars(line_start, end) > max_chars:
        after = [c for c in cuts if c > line_start]
        fitting = [c for c in after if chars(line_start, c) <= max_chars]
        if fitting:
            cut = fitting[-1]
        elif after:
            cut = after[0]  # no cut within the limit: the shortest line over it
        else:
            break
        lines.append((line_start, cut))
        line_start = cut
    lines.append((line_start, end))
    return lines


def _levels(arcs: Sequence[Tuple[float, float]]) -> List[int]:
    """Height level per arc (1 = lowest): shorter arcs lower, an arc above every arc it overlaps.

    ``arcs``: the horizontal extent of each arc (with its label)."""
    order = sorted(range(len(arcs)), key=lambda i: (abs(arcs[i][1] - arcs[i][0]), min(arcs[i])))
    levels = [0] * len(arcs)
    placed: List[int] = []
    for i in order:
        lo, hi = sorted(arcs[i])
        below = [levels[j] for j in placed if min(arcs[j]) <= hi + 2 and max(arcs[j]) >= lo - 2]
        levels[i] = 1 + max(below, default=0)
        placed.append(i)
    return levels


def _render_row(
    doc: Doc,
    start: int,
    end: int,
    boxes: Sequence[_Box],
    rels: Sequence[Tuple[_Box, _Box, Relation]],
    colors,
    scores: bool,
) -> str:
    pad = 6
    # 1. horizontal layout: plain runs and entity boxes
    items: List[Tuple[str, object, float, float]] = []  # kind, payload, x, width
    by_start = {b.span.start: b for b in boxes if start <= b.span.start < end}
    x, i, plain = 10.0, start, ""
    while i < end:
        box = by_start.get(i)
        if box is None:
            plain += doc[i].text_with_ws
            i += 1
            continue
        if plain:
            items.append(("plain", plain, x, text_width(plain)))
            x += text_width(plain)
            plain = ""
        box.width = text_width(box.span.text) + 2 * pad
        box.x = x
        items.append(("entity", box, x, box.width))
        x += box.width
        ws = box.span[-1].whitespace_
        if ws:
            items.append(("plain", ws, x, text_width(ws)))
            x += text_width(ws)
        i = box.span.end
    if plain:
        items.append(("plain", plain, x, text_width(plain)))
        x += text_width(plain)
    width = x + 10
    # 2. arc end points: each entity's attachments spread over its width, ordered by the other end
    attach: Dict[str, List[Tuple[float, int, str]]] = {}
    for k, (head, tail, _) in enumerate(rels):
        attach.setdefault(head.key, []).append((tail.x + tail.width / 2, k, "head"))
        attach.setdefault(tail.key, []).append((head.x + head.width / 2, k, "tail"))
    ends: Dict[Tuple[int, str], float] = {}
    box_of = {b.key: b for b in boxes}
    for key, items_at in attach.items():
        b = box_of[key]
        items_at.sort()
        for n, (_, k, role) in enumerate(items_at, 1):
            ends[(k, role)] = b.x + b.width * n / (len(items_at) + 1)
    arcs = [(ends[(k, "head")], ends[(k, "tail")]) for k in range(len(rels))]
    labels = [rel.label + (f" {rel.score:.2f}" if scores else "") for _, _, rel in rels]
    label_widths = [text_width(label, 11) + 6 for label in labels]
    # an arc occupies its span and its label's width at its level
    levels = _levels(
        [
            (min(min(a), sum(a) / 2 - lw / 2), max(max(a), sum(a) / 2 + lw / 2))
            for a, lw in zip(arcs, label_widths)
        ]
    )
    top = (max(levels, default=0)) * LEVEL_HEIGHT + 14
    box_top = top + 4
    baseline = box_top + FONT_SIZE + 3
    box_h = FONT_SIZE + 9
    height = box_top + box_h + 16
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-size="{FONT_SIZE}" font-family="{FONT_FAMILY}">'
    ]
    # 3. text and entities
    for kind, payload, ix, iw in items:
        if kind == "plain":
            if payload.strip():
                out.append(
                    f'<text x="{ix:.1f}" y="{baseline:.1f}" textLength="{iw:.1f}" '
                    f'lengthAdjust="spacingAndGlyphs">{_esc(payload)}</text>'
                )
            continue
        b: _Box = payload
        s = b.span
        out.append(
            f'<g class="entity" data-id="{b.key}" data-label="{_esc(s.label_)}" data-start="{s.start_char}" '
            f'data-end="{s.end_char}" data-text="{_esc(s.text)}">'
            f'<rect x="{ix:.1f}" y="{box_top:.1f}" width="{iw:.1f}" height="{box_h}" rx="5" '
            f'fill="{label_color(s.label_, colors)}"/>'
            f'<text x="{ix + pad:.1f}" y="{baseline:.1f}" textLength="{iw - 2 * pad:.1f}" '
            f'lengthAdjust="spacingAndGlyphs">{_esc(s.text)}</text>'
            f'<text class="entity-label" x="{ix + iw / 2:.1f}" y="{box_top + box_h + 12:.1f}" '
            f'text-anchor="middle" font-size="10" font-weight="bold" fill="#333">{_esc(s.label_)}</text></g>'
        )
    # 4. arcs
    for (head, tail, rel), (hx, tx), level, label, lw in zip(rels, arcs, levels, labels, label_widths):
        y0, yl = box_top, top - level * LEVEL_HEIGHT + 14
        d = 1 if tx >= hx else -1
        r = min(6.0, abs(tx - hx) / 2)
        path = (
            f"M{hx:.1f},{y0:.1f} L{hx:.1f},{yl + r:.1f} Q{hx:.1f},{yl:.1f} {hx + d * r:.1f},{yl:.1f} "
            f"L{tx - d * r:.1f},{yl:.1f} Q{tx:.1f},{yl:.1f} {tx:.1f},{yl + r:.1f} L{tx:.1f},{y0 - 1:.1f}"
        )
        mx = (hx + tx) / 2
        out.append(
            f'<g class="relation" data-head="{head.key}" data-tail="{tail.key}" data-label="{_esc(rel.label)}" '
            f'data-score="{rel.score:.6g}">'
            f'<path d="{path}" fill="none" stroke="{ARC_COLOR}" stroke-width="1.5"/>'
            f'<path d="M{tx - 4:.1f},{y0 - 7:.1f} L{tx:.1f},{y0 - 1:.1f} L{tx + 4:.1f},{y0 - 7:.1f}" '
            f'fill="{ARC_COLOR}" stroke="{ARC_COLOR}"/>'
            f'<rect x="{mx - lw / 2:.1f}" y="{yl - 8:.1f}" width="{lw:.1f}" height="15" fill="white" opacity="0.9"/>'
            f'<text class="relation-label" x="{mx:.1f}" y="{yl + 4:.1f}" text-anchor="middle" font-size="11" fill="#222">{_esc(label)}</text>'
            f"</g>"
        )
    out.append("</svg>")
    return "".join(out)


def render_doc(
    doc: Doc,
    index: int = 0,
    *,
    colors: Optional[Dict[str, str]] = None,
    scores: bool = True,
    max_chars: int = MAX_LINE_CHARS,
) -> str:
    """One ``<figure>`` with the SVG lines of ``doc`` (lines wrapped at ``max_chars``, see module doc)."""
    rels_all = get_relations(doc)
    spans = _drawable_spans(doc, rels_all)
    boxes = [_Box(f"d{index}-e{k}", s) for k, s in enumerate(spans)]
    by_key = {(b.span.start, b.span.end, b.span.label_): b for b in boxes}
    rels, not_drawn = [], []
    for r in rels_all:
        head = by_key.get((r.head.start, r.head.end, r.head.label_))
        tail = by_key.get((r.tail.start, r.tail.end, r.tail.label_))
        if head is None or tail is None:
            not_drawn.append(r)
        else:
            rels.append((head, tail, r))
    parts = [f'<figure class="doc" data-doc="{index}">']
    lines = [
        line
        for start, end in _row_ranges(doc, boxes, rels)
        for line in _wrap(doc, start, end, boxes, rels, max_chars)
    ]
    for start, end in lines:
        row_boxes = [b for b in boxes if start <= b.span.start < end]
        row_rels = [t for t in rels if start <= t[0].span.start < end]
        parts.append(_render_row(doc, start, end, row_boxes, row_rels, colors, scores))
    for r in not_drawn:
        parts.append(f'<div class="not-drawn">not drawn (overlapping argument): {_esc(repr(r))}</div>')
    parts.append(
        f"<figcaption>#{index + 1}: {len(spans)} entities, {len(rels)} relations</figcaption></figure>"
    )
    return "".join(parts)


def render(
    docs: Union[Doc, Iterable[Doc]],
    *,
    title: str = "spacy-bio-rel: relations",
    colors: Optional[Dict[str, str]] = None,
    scores: bool = True,
    jupyter: bool = False,
    lang: Optional[str] = None,
    max_chars: int = MAX_LINE_CHARS,
) -> Optional[RelationsHTML]:
    """HTML of ``docs`` (a Doc or several): entities in their label colours, an arc per relation.

    ``colors``: entity label -> CSS colour (else displaCy's colours, else a fixed palette);
    ``scores``: show each relation's score beside its label; ``max_chars``: the longest line in
    characters (wide CJK characters count two; 0: no wrapping), broken between tokens but never inside
    an entity or under a relation arc. Returns a complete UTF-8 page as a
    :class:`RelationsHTML` string (shown inline by Jupyter); with ``jupyter=True`` displays it
    in the notebook and returns None.
    """
    if isinstance(docs, Doc):
        docs = [docs]
    docs = list(docs)
    body = "".join(
        render_doc(doc, i, colors=colors, scores=scores, max_chars=max_chars) for i, doc in enumerate(docs)
    )
    fragment = f'<div class="spacy-bio-rel"><style>{STYLE}</style>{body}</div>'
    lang = lang or (docs[0].lang_ if docs else "en")
    page = (
        f'<!DOCTYPE html>\n<html lang="{_esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{_esc(title)}</title>\n'
        f'</head>\n<body style="margin: 1.5em">\n{fragment}\n</body>\n</html>\n'
    )
    out = RelationsHTML(page)
    out.fragment = fragment
    if jupyter:
        from IPython.display import HTML, display  # noqa: PLC0415  (only in notebooks)

        display(HTML(fragment))
        return None
    return out


def to_displacy(doc: Doc, title: Optional[str] = None) -> Dict[str, Any]:
    """``doc``'s entities and relations in displaCy's manual format.

    ``spacy.displacy.render(to_displacy(doc), style="ent", manual=True)`` reads ``text``, ``ents``
    (``start``/``end`` characters, ``label``) and ``title``; ``style="dep"`` reads ``words`` (each token,
    an entity as one word tagged with its label) and ``arcs``, one per relation between the words of its
    arguments (``start`` < ``end`` word indices, ``label`` the relation label, ``dir`` ``"right"`` when the
    head comes first: the arrow points at the tail). Overlapping entities are drawn as in :func:`render`
    (the earlier, then longer, span wins); a relation whose argument is left out is not in ``arcs``.
    """
    rels = get_relations(doc)
    spans = _drawable_spans(doc, rels)
    words: List[Dict[str, str]] = []
    word_of: Dict[Tuple[int, int, str], int] = {}
    by_start = {s.start: s for s in spans}
    i = 0
    while i < len(doc):
        span = by_start.get(i)
        if span is None:
            words.append({"text": doc[i].text, "tag": ""})
            i += 1
            continue
        word_of[(span.start, span.end, span.label_)] = len(words)
        words.append({"text": span.text, "tag": span.label_})
        i = span.end
    arcs = []
    for r in rels:
        head = word_of.get((r.head.start, r.head.end, r.head.label_))
        tail = word_of.get((r.tail.start, r.tail.end, r.tail.label_))
        if head is None or tail is None or head == tail:
            continue
        arcs.append(
            {
                "start": min(head, tail),
                "end": max(head, tail),
                "label": r.label,
                "dir": "right" if head < tail else "left",
            }
        )
    return {
        "text": doc.text,
        "ents": [{"start": s.start_char, "end": s.end_char, "label": s.label_} for s in spans],
        "title": title,
        "words": words,
        "arcs": arcs,
    }
