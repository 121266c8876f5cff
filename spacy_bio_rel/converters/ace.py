"""ACE 2005 ``.apf.xml`` + ``.sgm`` -> mentions and relation mentions.

Only reading and checking happens here; :mod:`.docs` turns the result into
Docs. START and END are inclusive: a mention is ``text[START:END + 1]``.
A document whose offsets are not integers is left out (``malformed_document``,
naming the file and mention), and so is one where more than ``max_mismatch``
of the mentions' stored texts differ from the text (``document_text_mismatch``);
the others are converted. The ``.sgm`` files are decoded strictly
(:mod:`.textio`).
"""

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from spacy_bio_rel.converters.checks import DEFAULT_MAX_MISMATCH, excluded, mismatched_document
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.sgml import read_sgm
from spacy_bio_rel.converters.textio import DEFAULT_ENCODING, check_encoding
from spacy_bio_rel.converters.types import MentionData, RelationData, SourceDocument

ENTITY_TYPES = ("PER", "ORG", "GPE", "LOC", "FAC", "VEH", "WEA")
RELATION_TYPES = ("ART", "GEN-AFF", "ORG-AFF", "PART-WHOLE", "PER-SOC", "PHYS", "METONYMY")
LANGUAGE_FOLDERS = {"en": "English", "zh": "Chinese", "ar": "Arabic"}
DEFAULT_SUBFOLDER = {"en": "timex2norm", "zh": "adj", "ar": "adj"}
APF_SUFFIX = ".apf.xml"


@dataclass
class AceSettings:
    """What to take from the annotation."""

    language: str = "en"
    subfolder: Optional[str] = None  # None: the language default (timex2norm / adj)
    span: str = "head"  # "head" or "extent"
    metonymy: bool = False
    values: bool = False  # <value> mentions as entities (type from TYPE, e.g. Numeric)
    timex: bool = False  # <timex2> mentions as entities (type TIMEX2)
    mismatch: str = "keep"  # stored text differs from text at offsets: "keep" or "drop"
    exclude: tuple = ()  # relation types left out (counted)
    encoding: str = DEFAULT_ENCODING  # of the .sgm files (strict; a byte order mark is removed)
    max_mismatch: float = DEFAULT_MAX_MISMATCH  # share of mismatching mentions that leaves a document out

    def __post_init__(self) -> None:
        check_encoding(self.encoding)
        if not 0 <= self.max_mismatch <= 1:
            raise ValueError(f"max_mismatch must be between 0 and 1, got {self.max_mismatch}")
        if self.span not in ("head", "extent"):
            raise ValueError(f"span must be 'head' or 'extent', got {self.span!r}")
        if self.mismatch not in ("keep", "drop"):
            raise ValueError(f"mismatch must be 'keep' or 'drop', got {self.mismatch!r}")
        if self.language not in LANGUAGE_FOLDERS:
            raise ValueError(f"language must be one of {sorted(LANGUAGE_FOLDERS)}, got {self.language!r}")

    @property
    def folder(self) -> str:
        return self.subfolder or DEFAULT_SUBFOLDER[self.language]


class NoDocumentsError(ValueError):
    """A root folder holds no documents to convert."""


class BadDocument(ValueError):
    """A document that cannot be read (e.g. an offset that is not a number): left out, counted."""


def language_root(root: Path, language: str) -> Path:
    """Accept ``<root>``, ``<root>/data`` or the language folder itself."""
    root = Path(root)
    name = LANGUAGE_FOLDERS[language]
    if not root.exists():
        raise NoDocumentsError(f"ACE root {root} does not exist")
    for cand in (root / "data" / name, root / name):
        if cand.is_dir():
            return cand
    return root  # the language folder itself (or any folder holding the sub-folders)


def find_apf_files(root: Path, settings: AceSettings) -> List[Path]:
    """All ``*.apf.xml`` files in the chosen sub-folder, sorted by path."""
    base = language_root(root, settings.language)
    files = sorted(p for p in base.rglob("*" + APF_SUFFIX) if p.parent.name == settings.folder)
    if not files:
        any_apf = sorted(base.rglob("*" + APF_SUFFIX))
        hint = ""
        if any_apf:
            folders = sorted({p.parent.name for p in any_apf})
            hint = f" (found .apf.xml files in sub-folders {folders}: choose one with --subfolder)"
        raise NoDocumentsError(
            f"No documents under {base}: no '*{APF_SUFFIX}' files in a '{settings.folder}' sub-folder{hint}"
        )
    return files


def doc_stem(path: Path) -> str:
    name = path.name
    return name[: -len(APF_SUFFIX)] if name.endswith(APF_SUFFIX) else path.stem


def _charseq(elem: Optional[ET.Element], where: str) -> Optional[Tuple[int, int, str]]:
    """``(start, end_exclusive, stored_text)`` of ``elem/charseq``."""
    if elem is None:
        return None
    cs = elem.find("charseq")
    if cs is None:
        return None
    try:
        start, end = int(cs.get("START")), int(cs.get("END")) + 1
    except (TypeError, ValueError):
        raise BadDocument(
            f"{where} {elem.tag}: charseq START={cs.get('START')!r} END={cs.get('END')!r} "
            f"is not a pair of integers"
        )
    return start, end, cs.text or ""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _check_offsets(
    text: str,
    where: str,
    kind: str,
    span: Tuple[int, int, str],
    settings: AceSettings,
    report: ConversionReport,
    tally: Counter,
) -> bool:
    """True when the mention can be kept; every problem is counted."""
    start, end, stored = span
    if start < 0 or end > len(text) or start >= end:
        report.drop(
            "offsets_outside_text",
            where,
            f"{kind} offsets [{start}, {end - 1}] outside the text (length {len(text)})",
        )
        return False
    actual = text[start:end]
    tally["checked"] += 1
    if actual != stored and _norm(actual) != _norm(stored):
        tally["mismatch"] += 1
        if settings.mismatch == "drop":
            report.drop("text_mismatch", where, f"{kind} stored {stored!r} but text has {actual!r}")
            return False
        report.note("text_mismatch", where, f"{kind} stored {stored!r} but text has {actual!r} (kept)")
    return True


def _mentions(
    doc_el: ET.Element, text: str, fname: str, settings: AceSettings, report: ConversionReport, tally: Counter
) -> Tuple[List[MentionData], set]:
    mentions: List[MentionData] = []
    all_ids: set = set()
    kinds = [("entity", "entity_mention")]
    kinds.append(("value", "value_mention"))
    kinds.append(("timex2", "timex2_mention"))
    for tag, mtag in kinds:
        for ent in doc_el.iter(tag):
            for m in ent.findall(mtag):
                mid = m.get("ID", "?")
                all_ids.add(mid)
                where = f"{fname} {mtag} {mid}"
                if tag == "entity":
                    label = ent.get("TYPE", "")
                    if label not in ENTITY_TYPES:
                        report.note("unusual_entity_type", where, f"entity TYPE {label!r}")
                elif tag == "value":
                    if not settings.values:
                        report.drop("value_mention_excluded", where, "values are not entities (see --values)")
                        continue
                    label = ent.get("TYPE", "VALUE")
                else:
                    if not settings.timex:
                        report.drop("timex_mention_excluded", where, "timex2 are not entities (see --timex)")
                        continue
                    label = "TIMEX2"
                extent = _charseq(m.find("extent"), where)
                head = _charseq(m.find("head"), where) if tag == "entity" else None
                use = head if (settings.span == "head" and head is not None) else extent
                if use is None:
                    report.drop("mention_without_offsets", where, f"no {settings.span}/charseq")
                    continue
                kind = "head" if use is head else "extent"
                if not _check_offsets(text, where, kind, use, settings, report, tally):
                    continue
                mentions.append(
                    MentionData(
                        id=mid,
                        start=use[0],
                        end=use[1],
                        label=label,
                        entity_id=ent.get("ID", ""),
                        mention_type=m.get("TYPE", ""),
                    )
                )
    return mentions, all_ids


def _relations(
    doc_el: ET.Element, fname: str, settings: AceSettings, report: ConversionReport
) -> List[RelationData]:
    out: List[RelationData] = []
    for rel in doc_el.iter("relation"):
        label = rel.get("TYPE", "")
        for rm in rel.findall("relation_mention"):
            rid = rm.get("ID", "?")
            where = f"{fname} relation_mention {rid}"
            if label == "METONYMY" and not settings.metonymy:
                report.drop("metonymy_excluded", where, "METONYMY left out (see --metonymy)")
                continue
            if excluded(label, settings.exclude, where, report):
                continue
            args: Dict[str, str] = {}
            for arg in rm.findall("relation_mention_argument"):
                role = arg.get("ROLE", "")
                if role in ("Arg-1", "Arg-2"):
                    args[role] = arg.get("REFID", "")
                else:
                    report.note("non_pair_argument_ignored", where, f"role {role} (not an entity pair)")
            if "Arg-1" not in args or "Arg-2" not in args:
                report.drop(
                    "relation_missing_argument", where, f"needs Arg-1 and Arg-2, found {sorted(args)}"
                )
                continue
            out.append(RelationData(id=rid, head=args["Arg-1"], tail=args["Arg-2"], label=label))
    return out


def read_ace_document(
    apf_path: Path, settings: AceSettings, report: ConversionReport
) -> Optional[SourceDocument]:
    """One document (or None, counted in ``report``, when it cannot be read)."""
    apf_path = Path(apf_path)
    stem = doc_stem(apf_path)
    fname = str(apf_path)
    sgm_path = apf_path.with_name(stem + ".sgm")
    if not sgm_path.exists():
        report.drop("missing_sgm", fname, f"no text file {sgm_path.name} next to the annotation")
        return None
    try:
        tree = ET.parse(str(apf_path))
    except (ET.ParseError, LookupError, UnicodeError) as e:  # LookupError: an unknown declared encoding
        report.drop("malformed_xml", fname, f"XML error: {e}")
        return None
    doc_el = tree.getroot().find("document")
    if doc_el is None:
        doc_el = tree.getroot() if tree.getroot().tag == "document" else None
    if doc_el is None:
        report.drop("malformed_xml", fname, "no <document> element")
        return None
    sgml = read_sgm(sgm_path, settings.encoding)
    if not sgml.text.strip():
        report.drop("empty_document", str(sgm_path), "no text after markup removal")
        return None
    tally: Counter = Counter()
    try:
        mentions, all_ids = _mentions(doc_el, sgml.text, fname, settings, report, tally)
    except BadDocument as e:
        report.drop("malformed_document", fname, str(e))
        return None
    if mismatched_document(fname, tally["mismatch"], tally["checked"], settings.max_mismatch, report):
        return None
    relations = _relations(doc_el, fname, settings, report)
    return SourceDocument(
        id=doc_el.get("DOCID") or stem,
        path=fname,
        text=sgml.text,
        mentions=mentions,
        relations=relations,
        breaks=sgml.tag_positions,
        known_ids=all_ids,
    )


def read_ace(
    root: Path, settings: AceSettings, report: ConversionReport, progress=None
) -> Iterator[SourceDocument]:
    """All readable documents under ``root``; raises NoDocumentsError when none."""
    files = find_apf_files(Path(root), settings)
    n_read = 0
    for i, path in enumerate(files):
        doc = read_ace_document(path, settings, report)
        if progress is not None:
            progress(i + 1, len(files))
        if doc is not None:
            n_read += 1
            yield doc
    if n_read == 0:
        raise NoDocumentsError(
            f"None of the {len(files)} documents under {root} could be read "
            f"(see the report: {dict(report.drops)})"
        )
