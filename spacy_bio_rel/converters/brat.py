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
* Files are decoded strictly (:mod:`.textio`, ``encoding``, default UTF-8);
  a byte order mark is removed, so offsets count from the text after it.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional

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
        raise NoBratDocumentsError(f"No brat documents (*.ann) in {folder}")
    return files


def _sort_key(p: Path):
    return (0, int(p.stem), "") if p.stem.isdigit() else (1, 0, p.stem)


def read_brat(
    folder: Path, settings: BratSettings, report: ConversionReport, progress=None
) -> Iterator[SourceDocument]:
    files = sorted(find_brat_files(folder, settings.recursive), key=_sort_key)
    n_read = 0
    for i, ann_path in enumerate(files):
        if progress is not None:
            progress(i + 1, len(files))
        txt_path = ann_path.with_suffix(".txt")
        if not txt_path.exists():
            report.drop("missing_txt", str(ann_path), f"no text file {txt_path.name}")
            continue
        text = read_text(txt_path, settings.encoding)
        ann = read_text(ann_path, settings.encoding)
        if not text.strip():
            report.drop("empty_document", str(txt_path), "the text file is empty")
            continue
        rel = ann_path.relative_to(folder).with_suffix("")
        src = parse_ann(ann, text, str(ann_path), str(rel), settings, report)
        if src is not None:
            n_read += 1
            yield src
    if n_read == 0:
        raise NoBratDocumentsError(f"None of the {len(files)} documents in {folder} could be read")
