"""Brat standoff (SanWen) ``N.txt`` + ``N.ann`` -> SourceDocuments.

* ``T<n>\\t<Type> <start> <end>\\t<text>``: an entity, end exclusive. An
  entity whose text holds a line break continues on the next ``.ann`` line;
  such lines are joined back. Discontinuous entities (``s e;s e``) are left
  out and counted, and so are the relations that use them.
* ``R<n>\\t<Label> Arg1:T<a> Arg2:T<b>``: a directed relation; ``Coreference``
  is not a relation for this task and is left out (counted).
* ``*`` (coreference sets) and ``#`` (annotator notes) lines are skipped and
  counted; so are event/attribute/normalisation lines (``E``, ``A``, ``M``, ``N``).
* The stored text of an entity is checked against the text at its offsets;
  a mismatch is reported and counted (kept by default, offsets win). A
  document where more than ``max_mismatch`` of them differ is left out
  (:func:`.checks.mismatched_document`).
* A ``.txt`` without its ``.ann`` is left out, counted as ``missing_ann``
  (an ``.ann`` without its ``.txt`` as ``missing_txt``).
* ``\\r\\n`` line ends: offsets count the characters of the file as it is;
  when the stored entity texts match only with ``\\r\\n`` read as one
  character (line ends converted after annotation), the text is read that
  way, noted (:func:`read_line_ends`).
* Files are decoded strictly (:mod:`.textio`, ``encoding``, default UTF-8);
  a byte order mark is removed, so offsets count from the text after it.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from spacy_bio_rel.converters.checks import DEFAULT_MAX_MISMATCH, excluded, mismatched_document
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.textio import DEFAULT_ENCODING, check_encoding, read_text
from spacy_bio_rel.converters.types import MentionData, RelationData, SourceDocument

SKIPPED_PREFIXES = {
    "*": "coreference_set_line",
    "#": "annotator_note_line",
    "E": "event_line",
    "A": "attribute_line",
    "M": "attribute_line",
    "N": "normalization_line",
}


class NoBratDocumentsError(ValueError):
    """An input folder holds no brat documents."""


@dataclass
class BratSettings:
    exclude_relations: tuple = ("Coreference",)
    mismatch: str = "keep"  # "keep" or "drop"
    recursive: bool = False
    encoding: str = DEFAULT_ENCODING  # of the .txt and .ann files (strict; a byte order mark is removed)
    max_mismatch: float = DEFAULT_MAX_MISMATCH  # share of mismatching mentions that leaves a document out

    def __post_init__(self) -> None:
        if self.mismatch not in ("keep", "drop"):
            raise ValueError(f"mismatch must be 'keep' or 'drop', got {self.mismatch!r}")
        if not 0 <= self.max_mismatch <= 1:
            raise ValueError(f"max_mismatch must be between 0 and 1, got {self.max_mismatch}")
        check_encoding(self.encoding)


def _logical_lines(ann: str) -> List[List]:
    """``[line_no, text]`` items; a line that starts no annotation continues the one before."""
    out: List[List] = []
    for no, line in enumerate(ann.split("\n"), 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            continue
        first = line[0]
        starts = first in "TR" + "".join(SKIPPED_PREFIXES) and (
            first in "*#" or (len(line) > 1 and line[1].isdigit())
        )
        if not starts and out and out[-1][1].startswith("T"):
            out[-1][1] += "\n" + line
            out[-1][2] = True
        else:
            out.append([no, line, False])
    return out


def parse_ann(
    ann: str, text: str, where: str, doc_id: str, settings: BratSettings, report: ConversionReport
) -> Optional[SourceDocument]:
    """The document (None, counted, when its stored texts show that its offsets cannot be trusted)."""
    mentions: List[MentionData] = []
    relations: List[RelationData] = []
    known = set()
    n_checked = n_mismatch = 0
    for no, line, continued in _logical_lines(ann):
        loc = f"{where}:{no}"
        prefix = line[0]
        if prefix in SKIPPED_PREFIXES and prefix not in "TR":
            report.note(f"skipped_{SKIPPED_PREFIXES[prefix]}", loc, line[:60])
            continue
        fields = line.split("\t")
        if prefix == "T":
            if len(fields) < 2:
                report.drop("malformed_line", loc, f"entity line without type/offsets: {line[:60]!r}")
                continue
            tid = fields[0]
            known.add(tid)
            stored = "\t".join(fields[2:]) if len(fields) > 2 else None
            head, _, offsets = fields[1].partition(" ")
            if ";" in offsets:
                report.drop("discontinuous_entity", f"{loc} {tid}", f"{head} {offsets} {stored!r}")
                continue
            try:
                start, end = (int(x) for x in offsets.split())
            except ValueError:
                report.drop("malformed_line", f"{loc} {tid}", f"bad offsets {offsets!r}")
                continue
            if start < 0 or end > len(text) or start >= end:
                report.drop(
                    "offsets_outside_text",
                    f"{loc} {tid}",
                    f"[{start}, {end}) outside the text (length {len(text)})",
                )
                continue
            if continued:
                report.note("entity_text_continued_on_next_line", f"{loc} {tid}", repr(stored))
            n_checked += stored is not None
            if stored is not None and text[start:end] != stored:
                n_mismatch += 1
                msg = f"stored {stored!r} but text has {text[start:end]!r}"
                if settings.mismatch == "drop":
                    report.drop("text_mismatch", f"{loc} {tid}", msg)
                    continue
                report.note("text_mismatch", f"{loc} {tid}", msg + " (kept)")
            mentions.append(MentionData(id=tid, start=start, end=end, label=head))
        elif prefix == "R":
            rid = fields[0]
            parts = fields[1].split() if len(fields) > 1 else []
            if not parts:
                report.drop("malformed_line", loc, f"relation line without label: {line[:60]!r}")
                continue
            label = parts[0]
            args = dict(p.split(":", 1) for p in parts[1:] if ":" in p)
            if excluded(label, settings.exclude_relations, f"{loc} {rid}", report):
                continue
            if "Arg1" not in args or "Arg2" not in args:
                report.drop(
                    "relation_missing_argument", f"{loc} {rid}", f"needs Arg1 and Arg2: {line[:60]!r}"
                )
                continue
            relations.append(RelationData(id=rid, head=args["Arg1"], tail=args["Arg2"], label=label))
        else:
            report.drop("malformed_line", loc, f"unknown annotation line {line[:60]!r}")
    if mismatched_document(where, n_mismatch, n_checked, settings.max_mismatch, report):
        return None
    return SourceDocument(
        id=doc_id, path=where, text=text, mentions=mentions, relations=relations, known_ids=known
    )


def find_brat_files(folder: Path, recursive: bool = False) -> List[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise NoBratDocumentsError(f"Brat input {folder} is not a folder")
    files = sorted(folder.rglob("*.ann") if recursive else folder.glob("*.ann"))
    if not files:
        n_txt = len(_texts_without_ann(folder, recursive))
        raise NoBratDocumentsError(
            f"No brat documents (*.ann) in {folder}"
            + (f" ({n_txt} .txt files without .ann)" if n_txt else "")
        )
    return files


def _texts_without_ann(folder: Path, recursive: bool) -> List[Path]:
    texts = folder.rglob("*.txt") if recursive else folder.glob("*.txt")
    return sorted(p for p in texts if not p.with_suffix(".ann").exists())


def _stored_texts_matching(ann: str, text: str) -> int:
    """How many entity lines' stored texts equal the text at their offsets."""
    n = 0
    for _, line, _ in _logical_lines(ann):
        fields = line.split("\t")
        if line[0] != "T" or len(fields) < 3:
            continue
        offsets = fields[1].partition(" ")[2].split()
        if len(offsets) == 2 and all(x.isdigit() for x in offsets):
            start, end = int(offsets[0]), int(offsets[1])
            n += text[start:end] == "\t".join(fields[2:])
    return n


def read_line_ends(text: str, ann: str, where: str, report: ConversionReport) -> str:
    """The text whose offsets the ``.ann`` uses, when the ``.txt`` has ``\\r\\n`` line ends.

    Brat counts the characters of the file as it is, ``\\r\\n`` as two. A file whose line ends were
    converted after annotation (e.g. by git on Windows) has offsets that count them as one: the
    reading whose stored entity texts match more often is used (the file as it is on a tie), noted
    as ``crlf_line_ends_normalised`` or ``crlf_line_ends_kept``.
    """
    if "\r\n" not in text:
        return text
    normalised = text.replace("\r\n", "\n")
    as_is, as_one = _stored_texts_matching(ann, text), _stored_texts_matching(ann, normalised)
    counts = f"{as_is} stored entity texts match counting \\r\\n as 2 characters, {as_one} as 1"
    if as_one > as_is:
        report.note("crlf_line_ends_normalised", where, f"{counts}: read with \\n line ends")
        return normalised
    report.note("crlf_line_ends_kept", where, f"{counts}: offsets count \\r\\n as 2 characters")
    return text


def _sort_key(p: Path):
    return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)


def read_brat(
    folder: Path, settings: BratSettings, report: ConversionReport, progress=None
) -> Iterator[SourceDocument]:
    folder = Path(folder)
    files = sorted(find_brat_files(folder, settings.recursive), key=_sort_key)
    for txt_path in _texts_without_ann(folder, settings.recursive):
        report.drop("missing_ann", str(txt_path), f"no annotation file {txt_path.with_suffix('.ann').name}")
    n_read = 0
    unread: Counter = Counter()  # why documents were not read
    first: Dict[str, str] = {}
    for i, ann_path in enumerate(files):
        if progress is not None:
            progress(i + 1, len(files))
        txt_path = ann_path.with_suffix(".txt")
        if not txt_path.exists():
            report.drop("missing_txt", str(ann_path), f"no text file {txt_path.name}")
            unread["missing_txt"] += 1
            first.setdefault("missing_txt", str(ann_path))
            continue
        text = read_text(txt_path, settings.encoding)
        ann = read_text(ann_path, settings.encoding)
        if not text.strip():
            report.drop("empty_document", str(txt_path), "the text file is empty")
            unread["empty_document"] += 1
            first.setdefault("empty_document", str(txt_path))
            continue
        text = read_line_ends(text, ann, str(txt_path), report)
        rel = ann_path.relative_to(folder).with_suffix("")
        src = parse_ann(ann, text, str(ann_path), str(rel), settings, report)
        if src is not None:
            n_read += 1
            yield src
        else:
            unread["document_text_mismatch"] += 1
            first.setdefault("document_text_mismatch", str(ann_path))
    if n_read == 0:
        reasons = ", ".join(f"{n} {reason} (first: {first[reason]})" for reason, n in unread.most_common())
        raise NoBratDocumentsError(
            f"None of the {len(files)} documents in {folder} could be read: {reasons}; "
            "the reasons are explained in the examples with --verbose"
        )
