"""Doc -> candidate entity pairs.

A candidate is a pair of entities from ``Doc.ents`` inside one sentence
(``doc.sents`` when sentence boundaries are set, else the whole Doc), or, with
``sentence_window = k > 1``, in sentences at most ``k - 1`` boundaries apart;
its ``sent`` is then the token span of the sentences from the head's to the
tail's (the "covering span"), read by the model as one sequence.

* ``directed=True`` (the paper's approach 2): both orders of every pair; the
  gold label of (e1, e2) is the relation annotated from e1 to e2, else Other.
* ``directed=False`` (approach 1): one instance per unordered pair, e1 first
  in text order; a relation annotated in either direction makes it positive.

Gold labels, the type filter's learning and candidate counts live in
:mod:`.gold`. The type filter keeps candidates whose entity-type combination occurs in a
positive training instance: ordered ``(type1, type2)`` when directed, the
sorted pair when undirected.
"""

from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from spacy.attrs import IDX
from spacy.pipeline import Sentencizer
from spacy.tokens import Doc, Span

OTHER = "Other"
TypePair = Tuple[str, str]
Offsets = Tuple[int, int]


@dataclass(frozen=True)
class Candidate:
    """One candidate pair: token offsets of the sentence and both targets,
    the targets' entity labels and their character offsets (gold matching).

    ``predicted``: in training with ``train_entities`` "predicted" or "both", a
    pair of the entities an upstream ``ner`` predicted; its gold label needs
    the entity types to match as well (:func:`.training.gold.gold_labels`).
    """

    sent: Offsets
    head: Offsets
    tail: Offsets
    head_label: str
    tail_label: str
    head_chars: Offsets = (-1, -1)
    tail_chars: Offsets = (-1, -1)
    predicted: bool = False

    def type_pair(self, directed: bool) -> TypePair:
        pair = (self.head_label, self.tail_label)
        return pair if directed else tuple(sorted(pair))  # type: ignore[return-value]


def sentence_bounds(doc: Doc) -> List[Offsets]:
    """Token offsets of the sentences of ``doc`` (the whole Doc if unset)."""
    if len(doc) == 0:
        return []
    if doc.has_annotation("SENT_START"):
        return [(s.start, s.end) for s in doc.sents]
    return [(0, len(doc))]


def check_sentence_window(value, where: str = "sentence_window") -> None:
    """Raise a one-line ValueError unless ``value`` is a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a whole number of at least 1, got {value!r}")


def iter_candidates(
    doc: Doc, directed: bool, ents: Optional[Sequence[Span]] = None, sentence_window: int = 1
) -> Iterator[Candidate]:
    """All entity pairs at most ``sentence_window - 1`` sentence boundaries apart (1: inside one
    sentence), in a deterministic order: by the head's sentence, the head, the tail's sentence, the tail.

    ``ents``: non-overlapping entity spans of ``doc`` in text order (default
    ``doc.ents``), e.g. gold entities carried over from a reference Doc. An entity
    that crosses a sentence boundary belongs to no sentence and gives no pair.
    A candidate's ``sent`` covers the sentences from the head's to the tail's
    (with window 1, the one sentence of both).
    """
    check_sentence_window(sentence_window)
    ents = list(doc.ents if ents is None else ents)
    if len(ents) < 2:
        return
    bounds = sentence_bounds(doc)
    groups: List[List[Span]] = []
    i = 0
    for s_start, s_end in bounds:
        while i < len(ents) and ents[i].start < s_start:
            i += 1
        group = []
        j = i
        while j < len(ents) and ents[j].end <= s_end:
            group.append(ents[j])
            j += 1
        i = j
        groups.append(group)
    reach = sentence_window - 1
    for si, group in enumerate(groups):
        others = range(si if not directed else max(0, si - reach), min(len(groups), si + reach + 1))
        for a, e1 in enumerate(group):
            for sj in others:
                for b, e2 in enumerate(groups[sj]):
                    if sj == si and (a == b or (not directed and b < a)):
                        continue
                    yield Candidate(
                        sent=(bounds[min(si, sj)][0], bounds[max(si, sj)][1]),
                        head=(e1.start, e1.end),
                        tail=(e2.start, e2.end),
                        head_label=e1.label_,
                        tail_label=e2.label_,
                        head_chars=(e1.start_char, e1.end_char),
                        tail_chars=(e2.start_char, e2.end_char),
                    )


def sentence_index(doc: Doc) -> List[int]:
    """The index of each token's sentence (all 0 without sentence boundaries)."""
    out = [0] * len(doc)
    for k, (start, end) in enumerate(sentence_bounds(doc)):
        out[start:end] = [k] * (end - start)
    return out


def transfer_entities(reference: Doc, predicted: Doc) -> Tuple[List[Span], int]:
    """The reference's entities as spans of ``predicted`` (matched by
    character offsets, widened to token boundaries) and how many could not be
    placed (no token there, or overlapping an entity already placed)."""
    if (
        len(reference) == len(predicted)
        and reference.text == predicted.text
        and (reference.to_array(IDX) == predicted.to_array(IDX)).all()
    ):
        return [Span(predicted, e.start, e.end, label=e.label_) for e in reference.ents], 0
    out: List[Span] = []
    lost = 0
    for e in reference.ents:
        span = predicted.char_span(e.start_char, e.end_char, label=e.label_, alignment_mode="expand")
        if span is None or (out and span.start < out[-1].end):
            lost += 1
            continue
        out.append(span)
    return out, lost


def pair_distance(c: Candidate) -> int:
    """Tokens between the two targets of a candidate (0 when adjacent)."""
    return max(0, max(c.head[0], c.tail[0]) - min(c.head[1], c.tail[1]))


def cap_per_sentence(cands: List[Candidate], cap: int) -> Tuple[List[Candidate], int]:
    """At most ``cap`` candidates per ``sent`` (a sentence, or a covering span of sentences with
    ``sentence_window > 1``: the pairs between one sentence and another): the nearest pairs (fewest tokens between the
    targets; the earlier candidate on a tie), in their original order; and how many were left out."""
    by_sent: Dict[Offsets, List[int]] = {}
    for i, c in enumerate(cands):
        by_sent.setdefault(c.sent, []).append(i)
    if all(len(ix) <= cap for ix in by_sent.values()):
        return cands, 0
    keep = set()
    for ix in by_sent.values():
        keep.update(sorted(ix, key=lambda i: (pair_distance(cands[i]), i))[:cap])
    return [c for i, c in enumerate(cands) if i in keep], len(cands) - len(keep)


SENTENCE_FINAL = frozenset(Sentencizer.default_punct_chars)


def runs_across_sentences(doc: Doc) -> bool:
    """Whether ``doc`` has no sentence boundaries but more than one sentence: a token made of
    sentence-final punctuation (the characters of spaCy's ``sentencizer``, e.g. ``.!?。！？``) is
    followed by a token that is neither punctuation nor whitespace, where the ``sentencizer``
    would start a new sentence. Tokens such as ``Mr.`` or ``3.5`` end no sentence."""
    if len(doc) < 2 or doc.has_annotation("SENT_START"):
        return False
    seen_end = False
    for token in doc:
        if seen_end and not token.is_punct and not token.is_space:
            return True
        if token.text and all(c in SENTENCE_FINAL for c in token.text):
            seen_end = True
    return False
