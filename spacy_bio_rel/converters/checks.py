"""The checks every reader applies, written once: overlaps, relation labels, relation pairs, mismatches.

* :func:`resolve_overlaps`: ``Doc.ents`` cannot overlap. Spans are taken in
  text order (whatever order the input lists them in): the one starting first
  is kept, the longer when two start together, then the one listed first; a
  span overlapping a kept one is left out (``overlapping_entity``, the example
  names the kept one).
* :func:`excluded`: relation labels the user left out (``--exclude``), counted
  as ``<label>_excluded``.
* :func:`check_relations`: both arguments the same span (``self_relation``); a
  repeated relation is merged (noted); a second, different label on the same
  ordered pair is left out (``conflicting_relation``, naming the label kept);
  a pair labelled differently in its two directions is kept and noted
  (``pair_labelled_in_both_directions``: unordered training sees one label).
* :func:`mismatched_document`: a document in which more than ``max_fraction``
  of the mentions' stored texts differ from the text at their offsets (and at
  least two do) has offsets that cannot be trusted (a wrong encoding, a byte
  order mark, shifted annotation): it is left out (``document_text_mismatch``).
"""

from typing import Dict, Iterable, List, Sequence, Tuple

from spacy.tokens import Span

from spacy_bio_rel.converters.report import ConversionReport

DEFAULT_MAX_MISMATCH = 0.1

Key = Tuple[Tuple[int, int], Tuple[int, int]]


def resolve_overlaps(
    spans: Sequence[Span], names: Sequence[str], where: str, report: ConversionReport
) -> List[int]:
    """Indices of the spans kept, in text order; ``names[k]`` names span k in ``where``."""
    order = sorted(range(len(spans)), key=lambda k: (spans[k].start, -len(spans[k]), k))
    kept: List[int] = []
    for k in order:
        span = spans[k]
        if kept and span.start < spans[kept[-1]].end:
            other = spans[kept[-1]]
            same = (span.start, span.end) == (other.start, other.end)
            report.drop(
                "overlapping_entity",
                f"{where} {names[k]}",
                f"{span.text!r} [{span.label_}] {'same span as' if same else 'overlaps'} "
                f"kept {names[kept[-1]]} {other.text!r} [{other.label_}]",
            )
            continue
        kept.append(k)
    return kept


def excluded(label: str, exclude: Iterable[str], where: str, report: ConversionReport) -> bool:
    """True (and counted) when ``label`` is one the user left out."""
    if label in exclude:
        report.drop(f"{label.lower()}_excluded", where, f"{label} is left out (--exclude)")
        return True
    return False


def check_relations(
    items: Iterable[Tuple[Span, Span, str, str]], where: str, report: ConversionReport
) -> List[Tuple[Span, Span, str]]:
    """``(head, tail, label, name)`` items -> the gold relations kept, ``(head, tail, label)``."""
    seen: Dict[Key, Tuple[str, str]] = {}
    out: List[Tuple[Span, Span, str]] = []
    for head, tail, label, name in items:
        loc = f"{where} {name}"
        if (head.start, head.end) == (tail.start, tail.end):
            report.drop("self_relation", loc, f"{label}: both arguments are {head.text!r}")
            continue
        key = ((head.start, head.end), (tail.start, tail.end))
        if key in seen:
            first_label, first = seen[key]
            if first_label == label:
                report.note("duplicate_relation_merged", loc, f"{label} repeats {first}")
            else:
                report.drop(
                    "conflicting_relation",
                    loc,
                    f"{label} on {head.text!r} -> {tail.text!r}, a pair already labelled "
                    f"{first_label} by {first} (kept)",
                )
            continue
        back = seen.get((key[1], key[0]))
        if back is not None and back[0] != label:
            report.note(
                "pair_labelled_in_both_directions",
                loc,
                f"{label} on {head.text!r} -> {tail.text!r}, {back[0]} the other way ({back[1]})",
            )
        seen[key] = (label, name)
        out.append((head, tail, label))
    return out


def mismatched_document(
    path: str, n_mismatch: int, n_checked: int, max_fraction: float, report: ConversionReport
) -> bool:
    """True (and counted) when the document's offsets cannot be trusted."""
    if n_mismatch < 2 or n_mismatch <= max_fraction * n_checked:
        return False
    report.drop(
        "document_text_mismatch",
        path,
        f"{n_mismatch} of {n_checked} mentions' stored texts differ from the text at their "
        f"offsets (more than --max-mismatch {max_fraction:g}): wrong --encoding, or shifted offsets",
    )
    return True
