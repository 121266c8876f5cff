"""Candidate pairs -> integer arrays for the network (:class:`RelBatch`).

Pure numpy, no learned state: the vocabularies are passed in (they belong to
the model's featurisation layer, :mod:`.ml.featurize`).

Per sentence, once per Doc: unit ids (word or character), BIO tag ids from ALL
entities of the sentence, and each entity's unit span. Per pair only indices
into those arrays are produced, never a per-unit loop.

Units are tokens (``granularity="token"``, word-wise) or the non-whitespace
characters of the sentence text (``granularity="char"``, character-wise),
whatever the tokenizer did.

Overlapping entities cannot come from ``Doc.ents``. Should a caller pass
overlapping spans to :func:`bio_tags` anyway, entities are tagged in order of
their start and a unit already tagged keeps its first tag (the earlier,
then longer entity wins), so the tag sequence stays a valid BIO sequence.

Long sentences: when a sentence has more than ``max_length`` units, each pair
sees a window of at most ``max_length`` units around its two targets (centred on
the stretch between them); pairs whose window coincides share it. When the two
targets lie further apart than that (the first unit of one to the last of the
other spans more than ``max_length`` units), the window is two pieces glued
together: ``max_length // 2`` units around the earlier target and the rest
around the later one, each centred on its target where the pieces do not
overlap, else starting at the earlier target and ending at the later one. The
network reads the glued window as one sentence: relative positions count units
of the window, so the targets of such a pair appear at most ``max_length``
units apart, and a target is read in the piece it overlaps most, cut to it. Any length and any
distance gives a window, on both network paths alike. ``max_length`` must be at least 2 (a unit
per target). A sentence with no unit at all (the characters of a whitespace-only sentence) is
read as one unknown unit, so that its pairs, too, have a window to be read in.

Pairs across sentences (the component's ``sentence_window > 1``): a candidate's ``sent`` is the
covering span of the sentences from the head's to the tail's, read exactly like one sentence
(units, the BIO tags of every entity in it, positions relative to each target, the windows above).
With a tag vocabulary that has a boundary tag (``TagVocab(sentence_boundary=True)``, built only
for ``sentence_window > 1``) the first unit of each sentence after the first in a covering span
carries it, or the unit before it when an entity starts that sentence (:func:`boundary_tags`), so
the network tells in- from cross-sentence pairs; without one, and in a single sentence, the tags
are the plain BIO tags.
"""

import bisect
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc, Span

from spacy_bio_rel.candidates import Candidate, Offsets, sentence_bounds
from spacy_bio_rel.data_classes import RelBatch, SentenceFeatures

PAD, UNK = 0, 1
TAG_PAD, TAG_O, TAG_B_UNK, TAG_I_UNK = 0, 1, 2, 3


class UnitVocab:
    """String -> id table for words or characters; 0 is padding, 1 unknown."""

    def __init__(self, strings: Sequence[str] = ()):
        self.strings: List[str] = list(strings)
        self.index: Dict[str, int] = {s: i + 2 for i, s in enumerate(self.strings)}

    def __len__(self) -> int:
        return len(self.strings) + 2

    def lookup(self, units: Sequence[str]) -> numpy.ndarray:
        get = self.index.get
        return numpy.fromiter((get(u, UNK) for u in units), dtype="int64", count=len(units))

    @classmethod
    def build(cls, counts: Dict[str, int], min_freq: int) -> "UnitVocab":
        kept = sorted((s for s, c in counts.items() if c >= min_freq), key=lambda s: (-counts[s], s))
        return cls(kept)


class TagVocab:
    """BIO tags: 0 pad, 1 O, 2/3 B-/I- of an entity type unseen in training, then B-/I- of each
    entity label; with ``sentence_boundary``, one more tag last: a sentence start inside a covering
    span (see :func:`boundary_tags`)."""

    def __init__(self, entity_labels: Sequence[str] = (), sentence_boundary: bool = False):
        self.entity_labels = list(entity_labels)
        self.b_ids = {lab: 4 + 2 * i for i, lab in enumerate(self.entity_labels)}
        self.boundary_id: Optional[int] = 4 + 2 * len(self.entity_labels) if sentence_boundary else None

    def __len__(self) -> int:
        return 4 + 2 * len(self.entity_labels) + (self.boundary_id is not None)

    def b_id(self, label: str) -> int:
        return self.b_ids.get(label, TAG_B_UNK)


def unit_token_index(doc: Doc, sent: Offsets, granularity: str) -> numpy.ndarray:
    """The Doc token index of each unit of a sentence (see :func:`sentence_units`)."""
    start, end = sent
    if granularity == "token":
        return numpy.arange(start, end, dtype="int64")
    span = doc[start:end]
    owner = numpy.empty(span.end_char - span.start_char, dtype="int64")
    for tok in span:
        owner[tok.idx - span.start_char : tok.idx - span.start_char + len(tok.text)] = tok.i
    text = doc.text[span.start_char : span.end_char]
    keep = numpy.fromiter((not c.isspace() for c in text), dtype=bool, count=len(text))
    return owner[keep]


def sentence_units(doc: Doc, sent: Offsets, granularity: str, lowercase: bool):
    """Unit strings of a sentence and a function token-offsets -> unit span."""
    start, end = sent
    if granularity == "token":
        words = [t.lower_ if lowercase else t.text for t in doc[start:end]]
        return words, lambda s, e: (s - start, e - start)
    if granularity != "char":
        raise ValueError(f"granularity must be 'token' or 'char', got {granularity!r}")
    span = doc[start:end]
    text = doc.text[span.start_char : span.end_char]
    if lowercase:
        text = text.lower()
    keep = numpy.fromiter((not c.isspace() for c in text), dtype=bool, count=len(text))
    # unit index of each character (for characters kept), and of each boundary
    before = numpy.concatenate([[0], numpy.cumsum(keep)])
    chars = [c for c, k in zip(text, keep) if k]
    base = span.start_char

    def to_units(s: int, e: int) -> Tuple[int, int]:
        cs = doc[s].idx - base
        ce = doc[e - 1].idx + len(doc[e - 1].text) - base
        us, ue = int(before[cs]), int(before[ce])
        return us, max(ue, us + 1)  # an all-whitespace entity still gets one unit

    return chars, to_units


def bio_tags(n: int, spans: Iterable[Tuple[int, int, str]], tag_vocab: TagVocab) -> numpy.ndarray:
    """BIO tag ids for ``n`` units from ``(start, end, label)`` unit spans."""
    tags = numpy.full(n, TAG_O, dtype="int64")
    taken = numpy.zeros(n, dtype=bool)
    for s, e, label in sorted(spans, key=lambda x: (x[0], -(x[1] - x[0]))):
        if e <= s or s >= n or taken[s:e].any():
            continue
        b = tag_vocab.b_id(label)
        tags[s] = b
        tags[s + 1 : e] = b + 1
        taken[s:e] = True
    return tags


def boundary_tags(tags: numpy.ndarray, starts: Iterable[int], boundary_id: int) -> numpy.ndarray:
    """``tags`` with the sentence-boundary tag on each sentence start ``starts`` (unit indices of the
    first units of the sentences after the first of a covering span): on that unit when it is
    tagged O, else (an entity starts the sentence) on the unit before it when that is O; an
    entity's tags are never replaced."""
    for u in starts:
        for v in (u, u - 1):
            if 0 <= v < len(tags) and tags[v] == TAG_O:
                tags[v] = boundary_id
                break
    return tags


def featurize_sentence(
    doc: Doc,
    sent: Offsets,
    unit_vocab: UnitVocab,
    tag_vocab: TagVocab,
    granularity: str,
    lowercase: bool,
    ents_in_sent: Optional[Sequence[Span]] = None,
    with_tokens: bool = False,
    sentence_starts: Sequence[int] = (),
) -> SentenceFeatures:
    """Unit and tag ids of one sentence (or covering span of sentences) and the unit span of each
    entity in it.

    ``ents_in_sent``: the entities that may lie in the sentence (default
    ``doc.ents``; a caller featurizing many sentences of one Doc passes a
    slice, and training passes the reference's gold entities).
    ``sentence_starts``: the tokens inside ``sent`` (after its first) that start a sentence; with
    a ``tag_vocab`` that has a boundary tag they get it (:func:`boundary_tags`).
    """
    units, to_units = sentence_units(doc, sent, granularity, lowercase)
    tokens = unit_token_index(doc, sent, granularity) if with_tokens else None
    if not units:  # no unit at all (characters of a whitespace-only sentence): one unknown unit
        units = [""]
        tokens = None if tokens is None else numpy.asarray([sent[0]], dtype="int64")
    ents = {}
    spans = []
    for ent in doc.ents if ents_in_sent is None else ents_in_sent:
        if ent.start >= sent[0] and ent.end <= sent[1]:
            us, ue = to_units(ent.start, ent.end)
            ents[(ent.start, ent.end)] = (us, ue)
            spans.append((us, ue, ent.label_))
    tags = bio_tags(len(units), spans, tag_vocab)
    if tag_vocab.boundary_id is not None and sentence_starts and len(units) > 1:
        starts = [to_units(t, t + 1)[0] for t in sentence_starts if sent[0] < t < sent[1]]
        tags = boundary_tags(tags, starts, tag_vocab.boundary_id)
    return SentenceFeatures(
        units=unit_vocab.lookup(units),
        tags=tags,
        ents=ents,
        tokens=tokens,
    )


def crop_window(
    n: int, a: Tuple[int, int], b: Tuple[int, int], max_length: int
) -> Tuple[Tuple[int, int], ...]:
    """The pieces ``[lo, hi)`` of the window around spans a and b: one piece of at most
    ``max_length`` units, or two (one around each target, together ``max_length`` units) when the
    targets are further apart than that (see the module docstring)."""
    if n <= max_length:
        return ((0, n),)
    lo, hi = min(a[0], b[0]), max(a[1], b[1])
    if hi - lo <= max_length:
        lo = max(0, min(lo - (max_length - (hi - lo)) // 2, n - max_length))
        return ((lo, lo + max_length),)
    first, second = (a, b) if (a[0], a[1]) <= (b[0], b[1]) else (b, a)
    half_a = max_length // 2
    half_b = max_length - half_a
    lo_a = max(0, first[0] - max(0, half_a - (first[1] - first[0])) // 2)
    hi_b = min(n, second[1] + max(0, half_b - (second[1] - second[0])) // 2)
    lo_b = hi_b - half_b
    if lo_a + half_a > lo_b or lo_b > second[0]:  # overlapping, or the later target cut: anchor them
        lo_a, lo_b = lo, hi - half_b
    return ((lo_a, lo_a + half_a), (lo_b, lo_b + half_b))


def window_span(pieces: Tuple[Tuple[int, int], ...], span: Tuple[int, int]) -> Tuple[int, int]:
    """A sentence unit span in the coordinates of the window made of ``pieces``: its part in the
    piece it overlaps most (the earlier piece on a tie), at least one unit."""
    best, best_overlap, offset = None, -1, 0
    for lo, hi in pieces:
        overlap = min(span[1], hi) - max(span[0], lo)
        if overlap > best_overlap:
            s = min(max(span[0], lo), hi - 1)
            best, best_overlap = (
                (s - lo + offset, max(min(span[1], hi) - lo + offset, s - lo + offset + 1)),
                overlap,
            )
        offset += hi - lo
    return best


def wide_pair(n: int, a: Tuple[int, int], b: Tuple[int, int], max_length: int) -> bool:
    """Whether the targets of a pair span more than ``max_length`` units (a glued window)."""
    return len(crop_window(n, a, b, max_length)) > 1


class Featurizer:
    """Builds :class:`RelBatch` es for candidate pairs of many Docs."""

    def __init__(
        self,
        unit_vocab: UnitVocab,
        tag_vocab: TagVocab,
        granularity: str = "token",
        lowercase: bool = True,
        max_length: int = 200,
        with_tokens: bool = False,
    ):
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2 (a window holds both targets), got {max_length}")
        self.unit_vocab = unit_vocab
        self.tag_vocab = tag_vocab
        self.granularity = granularity
        self.lowercase = lowercase
        self.max_length = max_length
        self.with_tokens = with_tokens

    def __call__(
        self,
        docs: Sequence[Doc],
        cands: Sequence[Sequence[Candidate]],
        ents: Optional[Sequence[Sequence[Span]]] = None,
        alt_ents: Optional[Sequence[Sequence[Span]]] = None,
    ) -> RelBatch:
        """Arrays for ``cands[i]`` (candidates of ``docs[i]``), pairs in order.

        ``ents[i]``: the entities ``docs[i]`` is read with (BIO tags); default
        its ``doc.ents``. ``alt_ents[i]``: a second reading, for the candidates
        marked ``predicted`` (training on gold and predicted entities at once).
        """
        offsets = numpy.cumsum([0] + [len(d) for d in docs])
        cache: Dict[Tuple[int, Offsets], SentenceFeatures] = {}
        windows: Dict[Tuple[int, Offsets, Tuple[Tuple[int, int], ...]], int] = {}
        win_arrays: List[Tuple[numpy.ndarray, numpy.ndarray]] = []
        ent_index: Dict[Tuple[int, int, int], int] = {}
        ent_rows: List[Tuple[int, int, int]] = []
        pair_e1: List[int] = []
        pair_e2: List[int] = []
        for d, (doc, doc_cands) in enumerate(zip(docs, cands)):
            doc_ents = (doc.ents if ents is None else ents[d]) if doc_cands else ()
            starts = [e.start for e in doc_ents]  # ascending: Doc.ents do not overlap
            readings = {False: (doc_ents, starts)}
            if alt_ents is not None and doc_cands:
                readings[True] = (alt_ents[d], [e.start for e in alt_ents[d]])
            marks = self.tag_vocab.boundary_id is not None and doc_cands
            boundaries = [s for s, _ in sentence_bounds(doc)[1:]] if marks else []
            for c in doc_cands:
                alt = c.predicted and alt_ents is not None
                key = (d, c.sent, alt)
                feats = cache.get(key)
                if feats is None:
                    sent_ents, sent_starts = readings[alt]
                    first, last = (bisect.bisect_left(sent_starts, i) for i in c.sent)
                    in_sent = sent_ents[first:last]
                    lo, hi = (bisect.bisect_right(boundaries, i) for i in (c.sent[0], c.sent[1] - 1))
                    feats = featurize_sentence(
                        doc,
                        c.sent,
                        self.unit_vocab,
                        self.tag_vocab,
                        self.granularity,
                        self.lowercase,
                        in_sent,
                        self.with_tokens,
                        boundaries[lo:hi],
                    )
                    cache[key] = feats
                u1, u2 = feats.ents[c.head], feats.ents[c.tail]
                pieces = crop_window(len(feats.units), u1, u2, self.max_length)
                wkey = (d, c.sent, alt, pieces)
                w = windows.get(wkey)
                if w is None:
                    w = windows[wkey] = len(win_arrays)
                    cut = numpy.concatenate([numpy.arange(lo, hi) for lo, hi in pieces])
                    toks = None if feats.tokens is None else feats.tokens[cut] + offsets[d]
                    win_arrays.append((feats.units[cut], feats.tags[cut], toks))
                idx = []
                for span in (u1, u2):
                    ekey = (w, *window_span(pieces, span))
                    e = ent_index.get(ekey)
                    if e is None:
                        e = ent_index[ekey] = len(ent_rows)
                        ent_rows.append(ekey)
                    idx.append(e)
                pair_e1.append(idx[0])
                pair_e2.append(idx[1])
        return self._pack(win_arrays, ent_rows, pair_e1, pair_e2, self.with_tokens)

    @staticmethod
    def _pack(win_arrays, ent_rows, pair_e1, pair_e2, with_tokens=False) -> RelBatch:
        S = len(win_arrays)
        N = max((len(u) for u, _, _ in win_arrays), default=1) or 1
        words = numpy.zeros((S, N), dtype="int64")
        tags = numpy.zeros((S, N), dtype="int64")
        lengths = numpy.zeros((S,), dtype="int64")
        unit_tokens = numpy.full((S, N), -1, dtype="int64") if with_tokens else None
        for i, (u, t, k) in enumerate(win_arrays):
            words[i, : len(u)] = u
            tags[i, : len(t)] = t
            lengths[i] = len(u)
            if unit_tokens is not None:
                unit_tokens[i, : len(k)] = k
        ents = numpy.asarray(ent_rows, dtype="int64").reshape(-1, 3)
        return RelBatch(
            words=words,
            tags=tags,
            lengths=lengths,
            ent_sent=ents[:, 0].copy(),
            ent_start=ents[:, 1].copy(),
            ent_end=ents[:, 2].copy(),
            pair_e1=numpy.asarray(pair_e1, dtype="int64"),
            pair_e2=numpy.asarray(pair_e2, dtype="int64"),
            unit_tokens=unit_tokens,
        )


def count_units(docs: Iterable[Doc], sents_of, granularity: str, lowercase: bool) -> Dict[str, int]:
    """Frequency of unit strings over the sentences of ``docs`` (for the vocab)."""
    counts: Dict[str, int] = {}
    for doc in docs:
        for sent in sents_of(doc):
            units, _ = sentence_units(doc, sent, granularity, lowercase)
            for u in units:
                counts[u] = counts.get(u, 0) + 1
    return counts
