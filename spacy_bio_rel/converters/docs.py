"""SourceDocument (text + mentions + relations) -> spaCy Docs.

Steps, each counted in the report when it changes or leaves out an item:
1. a mention whose id was used before is left out; mentions are trimmed of
   surrounding whitespace;
2. the text is tokenised (``spacy.blank(lang)``: English words, Chinese one
   token per character); a mention boundary inside a token is fixed by
   splitting the token (``split``) or expanding the span to whole tokens
   (``expand``);
3. sentence boundaries are set on every token (:mod:`.sentences`);
4. an entity crossing a sentence boundary is left out; overlapping entities
   are resolved by :func:`.checks.resolve_overlaps` (the one that starts
   first is kept, the longer when two start together);
5. relations become gold relations (``set_relations``) when both arguments
   were kept and lie in one sentence, or at most ``max_sentence_distance``
   sentences apart (stored as ordinary relations, by character offsets; only
   with one Doc per document), after :func:`.checks.check_relations`
   (self-relations, duplicates, conflicting labels). The report counts the
   cross-sentence relations kept and left out by their distance in sentences
   (``cross_sentence_relations_kept_at_distance_K`` /
   ``cross_sentence_relations_dropped_at_distance_K`` under its figures);
6. output is one Doc per sentence or one per document.
"""

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from spacy_bio_rel.converters.checks import check_relations, resolve_overlaps
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.sentences import MODES, char_boundaries, set_sentence_starts
from spacy_bio_rel.converters.types import MentionData, SourceDocument
from spacy_bio_rel.relations import set_relations

DOC_ID_KEY = "spacy_bio_rel.doc_id"
SENT_INDEX_KEY = "spacy_bio_rel.sent_index"
BOUNDARY_FIXES = ("split", "expand")
UNITS = ("sentence", "document")


@dataclass
class DocSettings:
    """How a document becomes Docs."""

    lang: str = "en"
    sentences: str = "rules"  # see sentences.MODES
    boundary_fix: str = "split"  # mention boundary inside a token: "split" or "expand"
    unit: str = "sentence"  # "sentence": one Doc per sentence; "document": one per document
    max_sentence_distance: int = 0  # keep relations whose arguments are at most this many sentences apart

    def __post_init__(self) -> None:
        if self.sentences not in MODES:
            raise ValueError(f"sentences must be one of {MODES}, got {self.sentences!r}")
        if self.boundary_fix not in BOUNDARY_FIXES:
            raise ValueError(f"boundary_fix must be one of {BOUNDARY_FIXES}, got {self.boundary_fix!r}")
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")
        k = self.max_sentence_distance
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"max_sentence_distance must be a whole number of at least 0, got {k!r}")
        if k and self.unit != "document":
            raise ValueError(
                f"max_sentence_distance = {k} keeps relations across sentences, which a Doc per sentence "
                "cannot hold: use unit 'document' (--unit document)"
            )


def _trim(src: SourceDocument, report: ConversionReport) -> List[MentionData]:
    text = src.text
    out = []
    seen = set()
    for m in src.mentions:
        where = f"{src.path} mention {m.id}"
        if m.id in seen:  # relations name mentions by id: a second one would be ambiguous
            report.drop(
                "duplicate_mention_id", where, f"{text[m.start : m.end]!r} [{m.label}]: the id is used before"
            )
            continue
        seen.add(m.id)
        s, e = m.start, m.end
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s == e:
            report.drop("empty_mention", where, f"only whitespace at [{m.start}, {m.end})")
            continue
        if (s, e) != (m.start, m.end):
            report.note("mention_whitespace_trimmed", where, f"{text[m.start : m.end]!r} -> {text[s:e]!r}")
            m = MentionData(m.id, s, e, m.label, m.entity_id, m.mention_type)
        out.append(m)
    return out


def _inside(doc: Doc, pos: int) -> Optional[int]:
    """Index of the token that ``pos`` falls strictly inside, if any."""
    lo, hi = 0, len(doc)
    while lo < hi:
        mid = (lo + hi) // 2
        if doc[mid].idx + len(doc[mid].text) <= pos:
            lo = mid + 1
        else:
            hi = mid
    if lo < len(doc) and doc[lo].idx < pos < doc[lo].idx + len(doc[lo].text):
        return lo
    return None


def _fix_boundaries(
    doc: Doc, mentions: List[MentionData], src: SourceDocument, fix: str, report: ConversionReport
) -> Doc:
    cuts: Dict[int, set] = {}
    for m in mentions:
        for pos in (m.start, m.end):
            i = _inside(doc, pos)
            if i is None:
                continue
            where = f"{src.path} mention {m.id}"
            msg = f"boundary at {pos} inside token {doc[i].text!r} (mention {src.text[m.start : m.end]!r})"
            if fix == "split":
                report.note("token_split_at_mention_boundary", where, msg)
                cuts.setdefault(i, set()).add(pos)
            else:
                report.note("span_expanded_to_tokens", where, msg)
    if not cuts:
        return doc
    words: List[str] = []
    spaces: List[bool] = []
    for tok in doc:
        if tok.i not in cuts:
            words.append(tok.text)
            spaces.append(bool(tok.whitespace_))
            continue
        points = [tok.idx] + sorted(cuts[tok.i]) + [tok.idx + len(tok.text)]
        for a, b in zip(points, points[1:]):
            words.append(src.text[a:b])
            spaces.append(False)
        spaces[-1] = bool(tok.whitespace_)
    return Doc(doc.vocab, words=words, spaces=spaces)


def build_docs(
    src: SourceDocument, nlp: Language, settings: DocSettings, report: ConversionReport
) -> List[Doc]:
    """Docs for one source document (one per sentence or one for the whole)."""
    mentions = _trim(src, report)
    doc = nlp.make_doc(src.text)
    doc = _fix_boundaries(doc, mentions, src, settings.boundary_fix, report)
    flags = set_sentence_starts(doc, char_boundaries(doc, settings.lang, settings.sentences, src.breaks))
    sent_of = [0] * len(doc)
    sid = -1
    for i, flag in enumerate(flags):
        if flag:
            sid += 1
        sent_of[i] = sid

    spans: List[Tuple[Span, MentionData]] = []
    for m in mentions:
        where = f"{src.path} mention {m.id}"
        span = doc.char_span(m.start, m.end, label=m.label, alignment_mode="expand")
        if span is None or len(span) == 0:
            report.drop("no_token_span", where, f"no tokens for [{m.start}, {m.end})")
            continue
        if sent_of[span.start] != sent_of[span.end - 1]:
            report.drop(
                "entity_crosses_sentence", where, f"{span.text!r} [{m.label}] spans a sentence boundary"
            )
            continue
        spans.append((span, m))
    # before overlap resolution: ordered pairs per sentence (for comparison with
    # figures measured without it, e.g. the SanWen README)
    per_sent: Dict[int, int] = {}
    for span, _ in spans:
        per_sent[sent_of[span.start]] = per_sent.get(sent_of[span.start], 0) + 1
    report.stats["entities_before_overlap_resolution"] += len(spans)
    report.stats["ordered_pairs_before_overlap_resolution"] += sum(n * (n - 1) for n in per_sent.values())
    all_spans = {m.id: s for s, m in spans}
    kept = [
        spans[k]
        for k in resolve_overlaps(
            [s for s, _ in spans], [f"mention {m.id}" for _, m in spans], src.path, report
        )
    ]
    doc.ents = [s for s, _ in kept]
    by_id = {m.id: s for s, m in kept}
    read_ids = {m.id for m in src.mentions} | src.known_ids

    found: List[Tuple[Span, Span, str, str]] = []
    for r in src.relations:
        where = f"{src.path} relation {r.id}"
        missing = [
            (role, ref) for role, ref in (("Arg-1", r.head), ("Arg-2", r.tail)) if ref not in all_spans
        ]
        if missing:
            unknown = [f"{role}={ref}" for role, ref in missing if ref not in read_ids]
            if unknown:
                report.drop(
                    "unknown_argument_id",
                    where,
                    f"{r.label}: argument id {', '.join(unknown)} names no mention in the file",
                )
            else:
                report.drop(
                    "argument_left_out",
                    where,
                    f"{r.label}: argument {', '.join(f'{a}={b}' for a, b in missing)} was left out",
                )
            continue
        head, tail = all_spans[r.head], all_spans[r.tail]
        distance = abs(sent_of[head.start] - sent_of[tail.start])
        if distance > settings.max_sentence_distance:
            report.drop(
                "cross_sentence_relation",
                where,
                f"{r.label}: {head.text!r} and {tail.text!r} are {distance} sentences apart",
            )
            report.stats[f"cross_sentence_relations_dropped_at_distance_{distance}"] += 1
            continue
        if not distance:
            report.stats["in_sentence_relations_before_overlap_resolution"] += 1
        lost = [f"{a}={b}" for a, b in (("Arg-1", r.head), ("Arg-2", r.tail)) if b not in by_id]
        if lost:
            report.drop(
                "argument_lost_to_overlap",
                where,
                f"{r.label}: argument {', '.join(lost)} overlaps a kept entity and was left out",
            )
            continue
        found.append((head, tail, r.label, f"relation {r.id}"))
    rels = check_relations(found, src.path, report)
    for head, tail, _ in rels:
        distance = abs(sent_of[head.start] - sent_of[tail.start])
        if distance:
            report.stats[f"cross_sentence_relations_kept_at_distance_{distance}"] += 1

    if settings.unit == "document":
        set_relations(doc, rels)
        doc.user_data[DOC_ID_KEY] = src.id
        return [doc]
    return _per_sentence(doc, flags, rels, src.id)


def _per_sentence(doc: Doc, flags: List[bool], rels: List[Tuple[Span, Span, str]], doc_id: str) -> List[Doc]:
    """One Doc per sentence (leading/trailing space tokens left out), built directly."""
    bounds = [i for i, f in enumerate(flags) if f] + [len(doc)]
    ents = sorted(doc.ents, key=lambda e: e.start)
    out: List[Doc] = []
    e_idx = 0
    for k, (s0, s1) in enumerate(zip(bounds, bounds[1:])):
        toks = [t for t in doc[s0:s1] if not t.is_space]
        if not toks:
            continue
        start, end = toks[0].i, toks[-1].i + 1
        words = [t.text for t in doc[start:end]]
        spaces = [bool(t.whitespace_) for t in doc[start:end]]
        spaces[-1] = False
        sdoc = Doc(doc.vocab, words=words, spaces=spaces, sent_starts=[True] + [False] * (len(words) - 1))
        while e_idx < len(ents) and ents[e_idx].start < start:
            e_idx += 1
        sents_ents = []
        while e_idx < len(ents) and ents[e_idx].end <= end:
            e = ents[e_idx]
            sents_ents.append(Span(sdoc, e.start - start, e.end - start, label=e.label_))
            e_idx += 1
        sdoc.ents = sents_ents
        inside = [(h, t, lab) for h, t, lab in rels if start <= h.start and h.end <= end]
        set_relations(
            sdoc,
            [
                (
                    Span(sdoc, h.start - start, h.end - start, label=h.label_),
                    Span(sdoc, t.start - start, t.end - start, label=t.label_),
                    lab,
                )
                for h, t, lab in inside
            ],
        )
        sdoc.user_data[DOC_ID_KEY] = doc_id
        sdoc.user_data[SENT_INDEX_KEY] = k
        out.append(sdoc)
    return out
