"""Readers -> Docs -> split -> DocBin files + report, for every format.

Outputs are written to a temporary folder inside the output folder and moved
into place when all are written (a failed conversion leaves the previous
outputs as they were); files of the previous conversion under the same name
that this one does not write are then removed (see :func:`_stale_outputs`).
The temporary folder is ``.convert-<pid>-*``; one left by a process that no
longer runs is removed by the next conversion (:mod:`spacy_bio_rel.tempfiles`).
"""

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import spacy
from spacy.tokens import Doc, DocBin

from spacy_bio_rel.converters.ace import AceSettings, read_ace
from spacy_bio_rel.converters.brat import BratSettings, read_brat
from spacy_bio_rel.converters.conll04 import read_conll04
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.splits import DEFAULT_SEED, assign_by_lists, kfold, read_id_list
from spacy_bio_rel.converters.textio import DEFAULT_ENCODING
from spacy_bio_rel.converters.types import SourceDocument
from spacy_bio_rel.tempfiles import publish, staging_folder

Unit = Tuple[str, List[Doc]]
Progress = Callable[[int, int], None]


@dataclass
class OutputSettings:
    """Where and how the Docs are written.

    * no split: ``<output_dir>/<name>.spacy``;
    * ``folds`` > 1: ``fold0.spacy`` ... (document-level, seeded);
    * ``id_lists`` (part -> file of doc ids): ``<part>.spacy`` for each part.
    The report goes to ``<output_dir>/<report_name>`` (default ``<name>.report.json``).
    """

    output_dir: Path
    name: str = "all"
    folds: int = 0
    seed: int = DEFAULT_SEED
    id_lists: Dict[str, Path] = field(default_factory=dict)
    report_name: Optional[str] = None

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        if self.folds and self.id_lists:
            raise ValueError("Choose either k folds or document id lists, not both")
        if self.folds == 1 or self.folds < 0:
            raise ValueError(f"folds must be 0 (no folds) or >= 2, got {self.folds}")


def progress_printer(label: str, every: int = 50, stream=None) -> Progress:
    """A callback showing a tqdm progress bar ``label`` (on stderr), moved every ``every`` items and at
    the end, where it closes."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    state: Dict[str, Any] = {}

    def show(i: int, total: int) -> None:
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, desc=label, unit="doc", file=stream, dynamic_ncols=True)
        if i % every == 0 or i == total:
            bar.update(i - bar.n)
        if i == total:
            bar.close()
            state.pop("bar")

    return show


def _sources_to_units(
    sources: Iterable[SourceDocument], nlp, settings: DocSettings, report: ConversionReport
) -> Iterable[Unit]:
    for src in sources:
        yield src.id, build_docs(src, nlp, settings, report)


def _partition(
    ids: List[str], out: OutputSettings, report: ConversionReport
) -> Tuple[Dict[str, List[str]], Dict[str, str]]:
    """Part name -> doc ids, and part name -> where its type filter is learned."""
    if out.id_lists:
        lists = {name: read_id_list(path) for name, path in out.id_lists.items()}
        parts, unassigned, missing, dups = assign_by_lists(ids, lists)
        for d in unassigned:
            report.drop("document_in_no_split", d, f"not listed in any of {sorted(lists)}")
        for name, m in missing.items():
            for i in m:
                report.note("listed_id_without_document", f"{out.id_lists[name]}", f"{i} (part {name})")
        for d in dups:
            report.note("id_listed_twice", d, "listed in two parts; kept in the first")
        src = {name: ("train" if "train" in parts else "itself") for name in parts}
        return parts, src
    if out.folds:
        folds = kfold(ids, out.folds, out.seed)
        parts = {f"fold{i}": f for i, f in enumerate(folds)}
        return parts, {name: "the other folds" for name in parts}
    return {out.name: list(ids)}, {out.name: "itself"}


def write_units(
    units: Iterable[Unit], out: OutputSettings, report: ConversionReport, sentence_window: int = 1
) -> ConversionReport:
    """Collect per-document Docs, split by document, write DocBins and the report.

    ``sentence_window``: the report counts the candidate pairs at most ``sentence_window - 1``
    sentence boundaries apart (``max_sentence_distance + 1`` when cross-sentence relations are kept).
    """
    by_id: Dict[str, List[Doc]] = {}
    for doc_id, docs in units:
        if doc_id in by_id:
            report.note("duplicate_document_id", doc_id, "Docs merged under one id")
            by_id[doc_id].extend(docs)
        else:
            by_id[doc_id] = list(docs)
            report.documents += 1
        for doc in docs:
            report.add_doc(doc)
    if not by_id:
        raise ValueError(
            f"Nothing to write for {report.source}: no document was converted "
            f"(left out: {dict(report.drops)})"
        )
    parts, filter_src = _partition(list(by_id), out, report)
    out.output_dir.mkdir(parents=True, exist_ok=True)
    report_path = out.output_dir / (out.report_name or f"{out.name}.report.json")
    report.settings["report_path"] = str(report_path)
    with staging_folder(out.output_dir, "convert") as tmp:
        for name, ids in parts.items():
            docs = [d for i in ids for d in by_id[i]]
            DocBin(docs=docs, store_user_data=True).to_disk(tmp / f"{name}.spacy")
            src = filter_src[name]
            if src == "train":
                ref = [d for i in parts["train"] for d in by_id[i]]
            elif src == "the other folds":
                ref = [d for other, oids in parts.items() if other != name for i in oids for d in by_id[i]]
            else:
                ref = None
            report.add_split(
                name,
                docs,
                len(ids),
                out.output_dir / f"{name}.spacy",
                type_pairs_from=ref,
                filter_source=src,
                sentence_window=sentence_window,
            )
        stale = _stale_outputs(out, report_path, parts)
        report.write_json(tmp / report_path.name)
        for name in parts:
            publish(tmp / f"{name}.spacy", out.output_dir / f"{name}.spacy")
        publish(tmp / report_path.name, report_path)
    for path in stale:
        path.unlink()
        print(f"Removed {path} (written by the previous conversion, not by this one)", file=sys.stderr)
    return report


FOLD_RE = re.compile(r"fold(\d+)\.spacy")


def _stale_outputs(out: OutputSettings, report_path: Path, parts: Dict[str, List[str]]) -> List[Path]:
    """Outputs of an earlier conversion into ``output_dir`` that this one does not write.

    Only the converter's own outputs: the parts listed in the earlier report of
    the same name, and ``fold<i>.spacy`` files beyond this conversion's folds
    (a folder of folds is read as one corpus). Other files are never touched.
    """
    new = {out.output_dir / f"{name}.spacy" for name in parts}
    old: List[Path] = []
    try:
        previous = json.loads(report_path.read_text(encoding="utf-8")).get("splits", {})
        old = [out.output_dir / Path(split["path"]).name for split in previous.values() if split.get("path")]
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    if out.folds:
        old += [
            p
            for p in out.output_dir.glob("fold*.spacy")
            if FOLD_RE.fullmatch(p.name) and int(FOLD_RE.fullmatch(p.name).group(1)) >= out.folds
        ]
    return sorted({p for p in old if p.suffix == ".spacy" and p not in new and p.is_file()})


def convert_ace(
    root: Path,
    out: OutputSettings,
    ace: AceSettings,
    doc: DocSettings,
    report: Optional[ConversionReport] = None,
    progress: Optional[Progress] = None,
) -> ConversionReport:
    report = report or ConversionReport()
    report.source = str(root)
    report.settings.update(
        format="ace",
        language=ace.language,
        subfolder=ace.folder,
        span=ace.span,
        metonymy=ace.metonymy,
        values=ace.values,
        timex=ace.timex,
        mismatch=ace.mismatch,
        max_mismatch=ace.max_mismatch,
        encoding=ace.encoding,
        exclude_relations=list(ace.exclude),
        sentences=doc.sentences,
        boundary_fix=doc.boundary_fix,
        unit=doc.unit,
        max_sentence_distance=doc.max_sentence_distance,
    )
    nlp = spacy.blank(ace.language)
    sources = read_ace(Path(root), ace, report, progress)
    units = _sources_to_units(sources, nlp, doc, report)
    return write_units(units, out, report, sentence_window=doc.max_sentence_distance + 1)


def convert_brat(
    folder: Path,
    out: OutputSettings,
    brat: BratSettings,
    doc: DocSettings,
    report: Optional[ConversionReport] = None,
    progress: Optional[Progress] = None,
) -> ConversionReport:
    report = report or ConversionReport()
    report.source = str(folder)
    report.settings.update(
        format="brat",
        lang=doc.lang,
        mismatch=brat.mismatch,
        max_mismatch=brat.max_mismatch,
        encoding=brat.encoding,
        exclude_relations=list(brat.exclude_relations),
        sentences=doc.sentences,
        boundary_fix=doc.boundary_fix,
        unit=doc.unit,
        max_sentence_distance=doc.max_sentence_distance,
    )
    nlp = spacy.blank(doc.lang)
    sources = read_brat(Path(folder), brat, report, progress)
    units = _sources_to_units(sources, nlp, doc, report)
    return write_units(units, out, report, sentence_window=doc.max_sentence_distance + 1)


def convert_conll04(
    path: Path,
    out: OutputSettings,
    report: Optional[ConversionReport] = None,
    progress: Optional[Progress] = None,
    encoding: str = DEFAULT_ENCODING,
    exclude: Sequence[str] = (),
) -> ConversionReport:
    report = report or ConversionReport()
    report.source = str(path)
    report.settings.update(format="conll04", encoding=encoding, exclude_relations=list(exclude))
    vocab = spacy.blank("en").vocab
    return write_units(read_conll04(Path(path), report, vocab, progress, encoding, exclude), out, report)


def convert_prodigy(
    path: Path,
    out: OutputSettings,
    lang: str = "en",
    accept: Sequence[str] = ("accept",),
    report: Optional[ConversionReport] = None,
    progress: Optional[Progress] = None,
    encoding: str = DEFAULT_ENCODING,
    exclude: Sequence[str] = (),
) -> ConversionReport:
    report = report or ConversionReport()
    report.source = str(path)
    report.settings.update(
        format="prodigy", lang=lang, accept=list(accept), encoding=encoding, exclude_relations=list(exclude)
    )
    vocab = spacy.blank(lang).vocab
    return write_units(
        read_prodigy(Path(path), report, vocab, accept, progress, encoding, exclude), out, report
    )
