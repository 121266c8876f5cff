"""Text in, relations out: read inputs, stream them through ``nlp.pipe``, write records.

Inputs (by suffix): ``.txt`` (one document per line; empty lines are skipped
and counted), ``.jsonl`` (one object per line with a string ``"text"``; every
other key is kept in the output) or ``.spacy`` (a DocBin whose Docs may carry
entities). Outputs: ``jsonl`` records, a ``.spacy`` DocBin, or ``prodigy``
``rel.manual`` tasks; OUTPUT is a ``.jsonl`` or ``.spacy`` file (other suffixes
are refused) or ``-`` for standard output (records only). Per record (``jsonl``)::

    {"text": ..., "entities": [{"start", "end", "label", "text"}],
     "relations": [{"head": i, "tail": j, "label", "score"}], ...input keys}

``start``/``end`` are character offsets, ``head``/``tail`` index
``entities``. The input is checked completely before the model runs (UTF-8,
JSON, ``"text"``; errors name the file and line), the output is written to a
temporary file next to it and put in place only when every document is done, so a
failure leaves nothing half-written. Without ``overwrite`` it is hard-linked into
place, which fails if the output exists by then: of two runs into one new path,
the second to finish stops with an error and the first one's output stays. The
``--html`` file must not be the output itself (:func:`check_distinct`). Memory stays flat: inputs are
generators, ``nlp.pipe`` works in batches, records are written as they come
(the ``.spacy`` output is the exception: a DocBin is written in one piece).

With ``n_process > 1`` the workers are forked with torch limited to one
thread (``torch.set_num_threads(1)`` before the fork, ``OMP_NUM_THREADS=1``
for platforms that spawn): a forked child that inherits torch's OpenMP
thread pool deadlocks on its first parallel operation.
"""

import contextlib
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from spacy_bio_rel.relations import get_relations
from spacy_bio_rel.tempfiles import NoHardLinksError, atomic_output
from spacy_bio_rel.training.readers import msgpack_decoders_looked_up_once
from spacy_bio_rel.util import relation_component, require_entity_setter

INPUT_SUFFIXES = (".txt", ".jsonl", ".spacy")
FORMATS = ("jsonl", "spacy", "prodigy")
OUTPUT_SUFFIXES = {".jsonl": "jsonl", ".spacy": "spacy"}  # suffix -> default format
STDOUT = "-"  # OUTPUT that means standard output (jsonl or prodigy records)
OUR_KEYS = ("text", "entities", "relations")


class InputError(ValueError):
    """Bad input: the message names the file and the line."""


class OutputExistsError(FileExistsError):
    pass


# -- input ----------------------------------------------------------------------------
@dataclass
class InputSummary:
    path: Path
    kind: str  # "txt", "jsonl", "spacy"
    n_docs: int = 0
    n_empty: int = 0
    empty_lines: List[int] = field(default_factory=list)  # the first few only: memory stays flat
    # with ``scan_input(chunk_docs=K)``: where each run of K documents starts, for readers that split the
    # file (the Ray engine): (byte offset, line number, documents in the chunk)
    chunks: List[Tuple[int, int, int]] = field(default_factory=list)

    @property
    def raw_text(self) -> bool:
        return self.kind != "spacy"

    def skipped_message(self) -> Optional[str]:
        if not self.n_empty:
            return None
        first = ", ".join(map(str, self.empty_lines)) + (
            ", ..." if self.n_empty > len(self.empty_lines) else ""
        )
        return f"skipped {self.n_empty} empty line(s) of {self.path} (line {first})"


def input_kind(path: Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in INPUT_SUFFIXES:
        raise InputError(
            f"{path}: unknown input type {suffix or '(no suffix)'!r}; expected one of "
            f'{", ".join(INPUT_SUFFIXES)} (.txt: one document per line; .jsonl: {{"text": ...}} '
            "per line; .spacy: a DocBin)"
        )
    return suffix[1:]


def _lines(path: Path, offset: int = 0, first: int = 1) -> Iterator[Tuple[int, str, int]]:
    """``(line number, text without the line break, byte offset of the line)``, decoding each line as
    UTF-8 strictly; from byte ``offset``, which starts line number ``first``."""
    with open(path, "rb") as f:
        f.seek(offset)
        for no, raw in enumerate(f, first):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(
                    f"{path}:{no}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}); "
                    "convert the file to UTF-8"
                ) from None
            if no == 1:
                line = line.lstrip("\ufeff")
            yield no, line.rstrip("\r\n"), offset
            offset += len(raw)


def _jsonl_item(path: Path, no: int, line: str) -> Dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}:{no}: invalid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(item, dict):
        raise InputError(f'{path}:{no}: expected a JSON object with a "text" key, got {type(item).__name__}')
    if "text" not in item:
        raise InputError(
            f'{path}:{no}: the object has no "text" key (keys: {", ".join(map(str, item)) or "none"})'
        )
    if not isinstance(item["text"], str):
        raise InputError(f'{path}:{no}: "text" must be a string, got {type(item["text"]).__name__}')
    return item


def scan_input(path: Union[str, Path], chunk_docs: int = 0) -> InputSummary:
    """Check the whole input (one pass, constant memory): count documents, note empty lines, raise
    :class:`InputError` on the first bad line. With ``chunk_docs`` > 0 (text input), also note where
    each run of that many documents starts (``summary.chunks``)."""
    path = Path(path)
    kind = input_kind(path)
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    summary = InputSummary(path, kind)
    if kind == "spacy":
        try:
            summary.n_docs = len(DocBin().from_disk(path))
        except Exception as e:  # noqa: BLE001  (any unreadable DocBin)
            raise InputError(f"{path}: not a readable DocBin ({type(e).__name__}: {e})") from None
        return summary
    for no, line, offset in _lines(path):
        if not line.strip():
            summary.n_empty += 1
            if len(summary.empty_lines) < 5:
                summary.empty_lines.append(no)
        else:
            if kind == "jsonl":
                _jsonl_item(path, no, line)
            if chunk_docs > 0 and summary.n_docs % chunk_docs == 0:
                summary.chunks.append((offset, no, 0))
            summary.n_docs += 1
    if summary.chunks:  # documents in each chunk
        last = summary.n_docs - chunk_docs * (len(summary.chunks) - 1)
        summary.chunks = [(o, no, chunk_docs) for o, no, _ in summary.chunks[:-1]] + [
            summary.chunks[-1][:2] + (last,)
        ]
    return summary


def iter_lines(
    path: Path, kind: str, offset: int = 0, first: int = 1, n_docs: Optional[int] = None
) -> Iterator[Tuple[int, str, Dict[str, Any]]]:
    """``(line number, text, other keys)`` per non-empty line of a ``.txt`` or ``.jsonl`` file, from byte
    ``offset`` (line ``first``), at most ``n_docs`` of them."""
    if n_docs == 0:
        return
    done = 0
    for no, line, _ in _lines(path, offset, first):
        if not line.strip():
            continue
        if kind == "jsonl":
            item = _jsonl_item(path, no, line)
            yield no, item.pop("text"), item
        else:
            yield no, line, {}
        done += 1
        if n_docs is not None and done >= n_docs:
            return


def iter_texts(path: Path, kind: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """``(text, other keys)`` per non-empty line of a ``.txt`` or ``.jsonl`` file."""
    for _, text, extra in iter_lines(path, kind):
        yield text, extra


def iter_docbin(path: Path, nlp: Language) -> Iterator[Doc]:
    with msgpack_decoders_looked_up_once():
        yield from DocBin().from_disk(path).get_docs(nlp.vocab)


# -- records ----------------------------------------------------------------------------
def _entities_and_index(doc: Doc, rels) -> Tuple[List[Span], Dict[Tuple[int, int, str], int]]:
    """The Doc's entities, plus any relation argument that is not one of them, in text order."""
    spans = {(e.start, e.end, e.label_): e for e in doc.ents}
    for r in rels:
        for span in (r.head, r.tail):
            spans.setdefault((span.start, span.end, span.label_), span)
    ordered = sorted(spans.values(), key=lambda s: (s.start, s.end, s.label_))
    return ordered, {(s.start, s.end, s.label_): i for i, s in enumerate(ordered)}


def doc_to_record(doc: Doc, extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The ``jsonl`` record of a predicted Doc: text, entities (character offsets), relations."""
    rels = get_relations(doc)
    ents, index = _entities_and_index(doc, rels)
    record = dict(extra or {})
    record.update(
        {
            "text": doc.text,
            "entities": [
                {"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text} for e in ents
            ],
            "relations": [
                {
                    "head": index[(r.head.start, r.head.end, r.head.label_)],
                    "tail": index[(r.tail.start, r.tail.end, r.tail.label_)],
                    "label": r.label,
                    "score": round(float(r.score), 6),
                }
                for r in rels
            ],
        }
    )
    return record


def _prodigy_span(span: Span) -> Dict[str, Any]:
    return {
        "start": span.start_char,
        "end": span.end_char,
        "token_start": span.start,
        "token_end": span.end - 1,
        "label": span.label_,
    }


def doc_to_prodigy(doc: Doc, extra: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A Prodigy ``rel.manual`` task: tokens, spans (``token_end`` inclusive) and relations whose
    ``head``/``child`` are the last token of each argument, as Prodigy writes them."""
    rels = get_relations(doc)
    ents, _ = _entities_and_index(doc, rels)
    task = dict(extra or {})
    task.update(
        {
            "text": doc.text,
            "tokens": [
                {
                    "text": t.text,
                    "start": t.idx,
                    "end": t.idx + len(t.text),
                    "id": t.i,
                    "ws": bool(t.whitespace_),
                }
                for t in doc
            ],
            "spans": [_prodigy_span(e) for e in ents],
            "relations": [
                {
                    "head": r.head.end - 1,
                    "child": r.tail.end - 1,
                    "head_span": _prodigy_span(r.head),
                    "child_span": _prodigy_span(r.tail),
                    "label": r.label,
                    "score": round(float(r.score), 6),
                }
                for r in rels
            ],
        }
    )
    return task


# -- output -----------------------------------------------------------------------------
def to_stdout(path: Union[str, Path]) -> bool:
    """``-`` as OUTPUT: the records go to standard output."""
    return str(path) == STDOUT


def output_format(path: Path, fmt: Optional[str]) -> str:
    """The format for OUTPUT ``path``: ``.jsonl`` holds jsonl records (or prodigy tasks with ``fmt``),
    ``.spacy`` a DocBin, ``-`` jsonl records (or prodigy tasks) on standard output; any other suffix is
    refused, so that a name such as ``out.csv`` never silently holds JSON lines."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if to_stdout(path):
        if fmt == "spacy":
            raise ValueError("a .spacy DocBin cannot be written to standard output ('-'): name a .spacy file")
        return fmt or "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ValueError(
            f"{path}: unknown output suffix {suffix or '(none)'!r}: name it .jsonl (records or prodigy tasks) "
            "or .spacy (a DocBin), or pass - for standard output"
        )
    if fmt is None:
        return OUTPUT_SUFFIXES[suffix]
    if (suffix == ".spacy") != (fmt == "spacy"):
        raise ValueError(
            f"{path}: a {suffix} file cannot hold {fmt} output; name it "
            f"{'.spacy' if fmt == 'spacy' else '.jsonl'} or use --format {OUTPUT_SUFFIXES[suffix]}"
        )
    return fmt


def check_output(path: Path, overwrite: bool) -> None:
    if to_stdout(path):
        return
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists: choose another path or pass --overwrite")
    if path.exists() and path.is_dir():
        raise OutputExistsError(f"{path} is a folder")


def check_distinct(output: Union[str, Path], **others: Optional[Union[str, Path]]) -> None:
    """Refuse a second output (``html=...``) that is the same file as ``output``: the same path once
    resolved (links followed), or, where both exist, the same file (``os.path.samefile``: a hard link)."""
    if to_stdout(output):
        return
    first = Path(output)
    for option, other in others.items():
        if other is None or to_stdout(other):
            continue
        second = Path(other)
        same = first.resolve() == second.resolve()
        if not same and first.exists() and second.exists():
            same = os.path.samefile(first, second)
        if same:
            raise ValueError(
                f"--{option} {second} is the same file as OUTPUT {first}: one would overwrite the other; "
                "name another file"
            )


@contextlib.contextmanager
def output_file(path: Path, overwrite: bool, *, folder: bool = False) -> Iterator[Path]:
    """A temporary path next to ``path`` (a folder with ``folder=True``), put at ``path`` when the block
    succeeds and removed in any case (:func:`spacy_bio_rel.tempfiles.atomic_output`). Without ``overwrite``
    nothing at ``path`` is replaced, also if it appeared while this run worked: another run that wrote it
    meanwhile keeps its result and this one raises :class:`OutputExistsError`."""
    path = Path(path)
    try:
        with atomic_output(path, folder=folder, exclusive=not overwrite) as tmp:
            yield tmp
    except NoHardLinksError as e:
        raise OSError(e.errno, f"{e.strerror}: pass --overwrite to replace it in place", str(path)) from None
    except FileExistsError as e:
        if e.filename != str(path):
            raise
        raise OutputExistsError(
            f"{path} was written by another process while this run worked: it is kept, this run's output "
            "is not written; choose another path or pass --overwrite"
        ) from None


# -- running ------------------------------------------------------------------------------
@contextlib.contextmanager
def worker_settings(n_process: int) -> Iterator[None]:
    """For ``n_process > 1``: fork (where there is fork) with torch at one thread, restored after."""
    if n_process <= 1:
        yield
        return
    import torch

    threads = torch.get_num_threads()
    env = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    method = multiprocessing.get_start_method(allow_none=True)
    torch.set_num_threads(1)
    os.environ.update({k: "1" for k in env})
    if "fork" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("fork", force=True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        multiprocessing.set_start_method(method, force=True)


def predicted_docs(
    nlp: Language, summary: InputSummary, *, batch_size: int = 64, n_process: int = 1
) -> Iterator[Tuple[Doc, Dict[str, Any]]]:
    """``(predicted Doc, other input keys)`` in input order, lazily."""
    with worker_settings(n_process):
        if summary.raw_text:
            stream = nlp.pipe(
                iter_texts(summary.path, summary.kind),
                as_tuples=True,
                batch_size=batch_size,
                n_process=n_process,
            )
            yield from stream
        else:
            for doc in nlp.pipe(iter_docbin(summary.path, nlp), batch_size=batch_size, n_process=n_process):
                yield doc, {}


@dataclass
class PredictReport:
    n_docs: int = 0
    n_entities: int = 0
    n_relations: int = 0
    n_without_entities: int = 0  # documents with no entity: no relation can be found there
    seconds: float = 0.0
    skipped: Optional[str] = None
    output: str = ""
    html: Optional[str] = None

    def summary(self) -> str:
        rate = self.n_docs / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"wrote {self.n_docs:,} documents ({self.n_entities:,} entities, {self.n_relations:,} relations) "
            f"to {self.output} in {self.seconds:.1f} s ({rate:,.1f} documents/s)"
        ]
        if self.n_docs and self.n_without_entities == self.n_docs:
            lines.append(
                f"warning: no entities in the {self.n_docs:,} documents, so no relations: with text input "
                "the pipeline's ner (or entity_ruler) found none; .spacy input must carry doc.ents"
            )
        elif self.n_without_entities:
            lines.append(f"{self.n_without_entities:,} of the documents have no entities (and no relations)")
        if self.skipped:
            lines.append(self.skipped)
        if self.html:
            lines.append(f"wrote {self.html}")
        return "\n".join(lines)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="doc",
        desc="predict",
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5,
        smoothing=0.1,
        dynamic_ncols=True,
    )


def predict(
    nlp: Language,
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    fmt: Optional[str] = None,
    batch_size: int = 64,
    n_process: int = 1,
    overwrite: bool = False,
    html: Optional[Union[str, Path]] = None,
    html_limit: int = 100,
    progress: bool = True,
    summary: Optional[InputSummary] = None,
) -> PredictReport:
    """Run ``nlp`` over every document of ``input_path`` and write the predictions to ``output_path``."""
    from spacy_bio_rel.predict.render import render  # only needed with html

    input_path, output_path = Path(input_path), Path(output_path)
    fmt = output_format(output_path, fmt)
    check_output(output_path, overwrite)
    if html is not None:
        check_output(Path(html), overwrite)
        check_distinct(output_path, html=html)
    if batch_size < 1 or n_process < 1:
        raise ValueError("batch_size and n_process must be at least 1")
    summary = summary or scan_input(input_path)
    relation_component(nlp)
    if summary.raw_text:
        require_entity_setter(nlp)
    report = PredictReport(skipped=summary.skipped_message(), output=str(output_path))
    sample: List[Doc] = []
    start = time.perf_counter()
    stdout = to_stdout(output_path)
    if stdout:
        report.output = "standard output"
    target = contextlib.nullcontext() if stdout else output_file(output_path, overwrite)
    with target as tmp, _progress(summary.n_docs, progress) as bar:
        docbin = DocBin(store_user_data=True) if fmt == "spacy" else None
        stream = contextlib.closing(predicted_docs(nlp, summary, batch_size=batch_size, n_process=n_process))
        # the stream is closed on errors too: the workers stop and torch's thread setting is restored
        if stdout:
            sink = contextlib.nullcontext(sys.stdout)
        elif docbin is None:
            sink = open(tmp, "w", encoding="utf-8")
        else:
            sink = contextlib.nullcontext()
        with (
            sink as out,
            stream as pairs,
        ):
            for doc, extra in pairs:
                report.n_docs += 1
                report.n_entities += len(doc.ents)
                report.n_without_entities += not len(doc.ents)
                report.n_relations += len(get_relations(doc))
                if docbin is not None:
                    docbin.add(doc)
                else:
                    record = doc_to_prodigy(doc, extra) if fmt == "prodigy" else doc_to_record(doc, extra)
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                if html is not None and len(sample) < html_limit:
                    sample.append(doc)
                bar.update(1)
        if docbin is not None:
            docbin.to_disk(tmp)
        if html is not None:
            with output_file(Path(html), overwrite) as html_tmp:
                html_tmp.write_text(render(sample, title=f"{input_path.name}: relations"), encoding="utf-8")
            report.html = str(html)
    report.seconds = time.perf_counter() - start
    return report
