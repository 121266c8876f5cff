"""``predict --engine ray``: the same records as :mod:`spacy_bio_rel.predict.run`, computed by Ray Data workers.

Steps (each one function below):

1. :func:`scan_inputs` (driver): INPUT is a ``.txt``/``.jsonl``/``.parquet``
   file or a folder of them (shards). Every file is checked completely with
   :func:`spacy_bio_rel.predict.run.scan_input` (or the Parquet schema and the
   ``text`` column) before any work starts, so a malformed line stops with
   ``FILE:LINE: ...`` here, never as a stack trace from a worker. The scan
   also notes where each run of :data:`READ_CHUNK` documents starts (byte
   offset and line number; a Parquet row group).
2. :func:`chunk_dataset`: a Ray Data dataset of those chunks (one row each,
   a few bytes: where to read, not what).
3. :class:`Annotator`: ``map_batches`` with this callable class and
   ``concurrency=N``: every actor loads the pipeline once in ``__init__``
   (the ``nlp`` object is never pickled) and sets torch's threads to its CPU
   share; ``__call__`` takes one chunk, reads its documents from the file
   (:func:`read_chunk`, with their line numbers), runs ``nlp.pipe`` over them
   and builds each record with the local command's
   :func:`~spacy_bio_rel.predict.run.doc_to_record` (or ``doc_to_prodigy``), then
   adds ``"_input": "FILE:LINE"``: the record minus ``_input`` is the local
   record, key for key. Reading in the actor keeps every CPU Ray grants for
   the model: a separate read stage would need CPUs of its own, and with
   ``workers x cpus_per_worker`` equal to the cluster's CPUs it would never
   be scheduled.
4. :func:`write_shards` (driver): the records, in input order
   (``preserve_order``), go to ``part-00000.jsonl`` ... (or ``.parquet``) in a
   temporary folder next to OUTPUT, renamed to OUTPUT when every document is
   done (without ``overwrite``, never onto a folder another run wrote there
   meanwhile: :func:`spacy_bio_rel.predict.run.output_file`). Each record arrives once: Ray re-runs the batch of a worker that
   died (actors restart, their tasks are retried), and only a finished
   batch's output reaches the writer.

Threads: an actor asks Ray for ``cpus_per_worker`` CPUs and runs torch on
that many threads, so ``workers x cpus_per_worker`` never exceeds the
cluster's CPUs (Ray does not start an actor it has no CPUs for).
"""

import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from spacy_bio_rel.distributed import ray_session, require_ray
from spacy_bio_rel.predict.run import (
    InputError,
    OutputExistsError,
    PredictReport,
    doc_to_prodigy,
    doc_to_record,
    iter_lines,
    output_file,
    scan_input,
)
from spacy_bio_rel.util import load_pipeline, set_torch_threads

CHUNK_DOCS = 1000  # documents per Ray task (a chunk): the unit of scheduling and of retry
TEXT_SUFFIXES = (".txt", ".jsonl")
INPUT_SUFFIXES = TEXT_SUFFIXES + (".parquet",)
RAY_FORMATS = ("jsonl", "prodigy", "parquet")
ID_KEY = "_input"
MAX_RESTARTS = 3  # a dead actor is restarted this often ...
MAX_TASK_RETRIES = 3  # ... and its unfinished batches run again


# -- 1. input ----------------------------------------------------------------------------------
@dataclass
class Chunk:
    path: str
    name: str  # the file's name relative to INPUT, used in "_input"
    kind: str  # "txt", "jsonl" or "parquet"
    offset: int  # byte offset (text) or row group (parquet)
    first: int  # line (text) or row (parquet) number of the chunk's start, from 1
    n_docs: int


@dataclass
class RayInput:
    root: Path
    files: List[Path]
    chunks: List[Chunk] = field(default_factory=list)
    n_docs: int = 0
    n_empty: int = 0
    skipped: List[str] = field(default_factory=list)

    def skipped_message(self) -> Optional[str]:
        return "\n".join(self.skipped) or None


def input_files(path: Union[str, Path]) -> List[Path]:
    """INPUT itself, or the ``.txt``/``.jsonl``/``.parquet`` files of the folder INPUT (not hidden, sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in INPUT_SUFFIXES
            and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
        )
        if not files:
            raise InputError(f"{path}: the folder holds no {', '.join(INPUT_SUFFIXES)} files")
        return files
    if not path.is_file():
        raise InputError(f"{path}: input file or folder not found")
    if path.suffix.lower() not in INPUT_SUFFIXES:
        raise InputError(
            f"{path}: --engine ray reads {', '.join(INPUT_SUFFIXES)} files or folders of them "
            f"(got {path.suffix or '(no suffix)'!r}; .spacy input: use --engine local)"
        )
    return [path]


def _scan_parquet(path: Path, name: str) -> Tuple[List[Chunk], int, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # noqa: BLE001  (not Parquet, truncated, ...)
        raise InputError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})") from None
    fields = {f.name: f.type for f in pf.schema_arrow}
    if "text" not in fields:
        raise InputError(f'{path}: no "text" column (columns: {", ".join(fields) or "none"})')
    if not (pa.types.is_string(fields["text"]) or pa.types.is_large_string(fields["text"])):
        raise InputError(f'{path}: the "text" column must hold strings, it holds {fields["text"]}')
    chunks, n_docs, n_empty, row = [], 0, 0, 1
    for g in range(pf.num_row_groups):
        texts = pf.read_row_group(g, columns=["text"]).column("text").to_pylist()
        for i, t in enumerate(texts):
            if t is None:
                raise InputError(f'{path}:{row + i}: "text" is null')
        kept = sum(1 for t in texts if t.strip())
        chunks.append(Chunk(str(path), name, "parquet", g, row, kept))
        n_docs += kept
        n_empty += len(texts) - kept
        row += len(texts)
    return chunks, n_docs, n_empty


def scan_inputs(path: Union[str, Path], chunk_docs: int = CHUNK_DOCS) -> RayInput:
    """Check every input file (raises :class:`InputError` naming FILE:LINE) and cut them into chunks."""
    root = Path(path)
    files = input_files(root)
    result = RayInput(root, files)
    for f in files:
        name = f.relative_to(root).as_posix() if root.is_dir() else f.name
        if f.suffix.lower() == ".parquet":
            chunks, n_docs, n_empty = _scan_parquet(f, name)
            if n_empty:
                result.skipped.append(f"skipped {n_empty} empty text(s) of {f}")
        else:
            summary = scan_input(f, chunk_docs=chunk_docs)
            chunks = [Chunk(str(f), name, summary.kind, o, no, n) for o, no, n in summary.chunks]
            n_docs, n_empty = summary.n_docs, summary.n_empty
            if summary.skipped_message():
                result.skipped.append(summary.skipped_message())
        result.chunks += [c for c in chunks if c.n_docs]
        result.n_docs += n_docs
        result.n_empty += n_empty
    return result


# -- 2. reading (on the workers) ------------------------------------------------------------------
def _json_default(value: Any) -> str:
    return str(value)


def read_chunk(c: Chunk) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    """``("FILE:LINE", text, other keys)`` for the documents of one chunk (in a worker)."""
    if c.kind == "parquet":
        import pyarrow.parquet as pq

        table = pq.ParquetFile(c.path).read_row_group(c.offset)
        for i, item in enumerate(table.to_pylist()):
            text = item.pop("text")
            if (
                text.strip()
            ):  # Parquet values JSON cannot hold (dates, bytes) become strings, as in JSON output
                yield f"{c.name}:{c.first + i}", text, json.loads(json.dumps(item, default=_json_default))
    else:
        for no, text, extra in iter_lines(Path(c.path), c.kind, c.offset, c.first, c.n_docs):
            yield f"{c.name}:{no}", text, extra


def chunk_dataset(ray_input: RayInput):
    """A Ray Data dataset with one row per chunk (a block each, so chunks spread over the workers)."""
    ray = require_ray()
    items = [vars(c) for c in ray_input.chunks]
    return ray.data.from_items(items, override_num_blocks=max(1, len(items)))


# -- 3. the model, once per worker ----------------------------------------------------------------
def _claim(marker: str) -> bool:
    """True for the one caller that creates ``marker`` (fault injection in the tests)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        return False


class Annotator:
    """A Ray Data actor: loads the pipeline once, turns batches of rows into records (JSON lines)."""

    def __init__(
        self,
        model: str,
        fmt: str = "jsonl",
        batch_size: int = 64,
        threads: int = 1,
        gpu: bool = False,
        fail_once: Optional[str] = None,
    ):
        import spacy
        import torch

        torch.set_num_threads(max(1, threads))
        if gpu:
            spacy.require_gpu(0)  # Ray sets CUDA_VISIBLE_DEVICES to this actor's GPU
        self.nlp = load_pipeline(model)
        set_torch_threads(self.nlp, max(1, threads))  # the relation component predicts on the actor's CPUs
        self.build = doc_to_prodigy if fmt == "prodigy" else doc_to_record
        self.batch_size = batch_size
        self.fail_once = fail_once  # a marker path: the 2nd chunk of the first actor to claim it dies
        self.calls = 0

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, list]:
        chunks = [
            Chunk(**{k: batch[k][i].item() if hasattr(batch[k][i], "item") else batch[k][i] for k in batch})
            for i in range(len(batch["path"]))
        ]
        rows = [row for c in chunks for row in read_chunk(c)]
        ids = [key for key, _, _ in rows]
        pairs = ((text, extra) for _, text, extra in rows)
        lines, n_ents, n_rels = [], [], []
        for (doc, extra), key in zip(self.nlp.pipe(pairs, as_tuples=True, batch_size=self.batch_size), ids):
            record = self.build(doc, extra)
            record.pop(ID_KEY, None)
            record[ID_KEY] = key
            lines.append(json.dumps(record, ensure_ascii=False))
            n_ents.append(len(doc.ents))
            n_rels.append(len(record.get("relations", [])))
        self.calls += 1
        if self.fail_once and self.calls == 2 and _claim(self.fail_once):
            os._exit(1)  # die mid-run, after the work and before returning it
        return {ID_KEY: ids, "record": lines, "n_entities": n_ents, "n_relations": n_rels}


# -- 4. output (in the driver) --------------------------------------------------------------------
def ray_output_format(path: Path, fmt: Optional[str]) -> str:
    if fmt is None:
        return "parquet" if Path(path).suffix.lower() == ".parquet" else "jsonl"
    if fmt not in RAY_FORMATS:
        raise ValueError(f"--engine ray writes {', '.join(RAY_FORMATS)} (a folder of shards), got {fmt!r}")
    return fmt


def check_output_folder(path: Path, overwrite: bool) -> None:
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists: choose another path or pass --overwrite")
    if path.exists() and not path.is_dir():
        raise OutputExistsError(f"{path} is a file: --engine ray writes a folder of shards")


def _parquet_table(records: List[Dict[str, Any]]):
    """Records as an Arrow table: typed ``entities``/``relations``, the other keys inferred."""
    import pyarrow as pa

    entity = pa.struct(
        [("start", pa.int64()), ("end", pa.int64()), ("label", pa.string()), ("text", pa.string())]
    )
    relation = pa.struct(
        [("head", pa.int64()), ("tail", pa.int64()), ("label", pa.string()), ("score", pa.float64())]
    )
    typed = {
        "text": pa.string(),
        "entities": pa.list_(entity),
        "relations": pa.list_(relation),
        ID_KEY: pa.string(),
    }
    keys = list(dict.fromkeys(k for r in records for k in r))
    columns = {}
    for k in keys:
        values = [r.get(k) for r in records]
        columns[k] = pa.array(values, type=typed.get(k))
    return pa.table(columns)


class ShardWriter:
    """Records to ``part-00000.jsonl`` ... (or ``.parquet``), ``shard_size`` records per file."""

    def __init__(self, folder: Path, fmt: str, shard_size: int):
        self.folder, self.parquet, self.shard_size = folder, fmt == "parquet", shard_size
        self.buffer: List[str] = []
        self.n_shards = 0

    def add(self, lines: List[str]) -> None:
        for line in lines:
            self.buffer.append(line)
            if len(self.buffer) >= self.shard_size:
                self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        name = self.folder / f"part-{self.n_shards:05d}.{'parquet' if self.parquet else 'jsonl'}"
        if self.parquet:
            import pyarrow.parquet as pq

            pq.write_table(_parquet_table([json.loads(x) for x in self.buffer]), name)
        else:
            with open(name, "w", encoding="utf-8") as f:
                f.writelines(x + "\n" for x in self.buffer)
        self.n_shards += 1
        self.buffer = []


def write_shards(dataset, folder: Path, fmt: str, shard_size: int, report: PredictReport, bar) -> None:
    writer = ShardWriter(folder, fmt, shard_size)
    for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
        lines = [str(x) for x in batch["record"]]
        writer.add(lines)
        report.n_docs += len(lines)
        report.n_entities += int(sum(batch["n_entities"]))
        report.n_relations += int(sum(batch["n_relations"]))
        bar.update(len(lines))
    writer.flush()


# -- the command ----------------------------------------------------------------------------------
def _check_pipeline(model: str, ray_input: RayInput) -> None:
    """Load the pipeline once in the driver to refuse one without a relation_extractor or entities."""
    from spacy_bio_rel.util import load_pipeline, relation_component, require_entity_setter

    nlp = load_pipeline(model)
    relation_component(nlp)
    require_entity_setter(nlp)


def _model_ref(model: Union[str, Path]) -> str:
    """An absolute path for a model folder (workers may run elsewhere), else the package name."""
    return str(Path(model).resolve()) if Path(model).exists() else str(model)


def predict_ray(
    model: Union[str, Path],
    input_path: Union[str, Path],
    output_path: Union[str, Path],
    *,
    fmt: Optional[str] = None,
    batch_size: int = 64,
    workers: int = 1,
    cpus_per_worker: float = 1,
    gpus_per_worker: float = 0,
    address: Optional[str] = None,
    shard_size: int = 100_000,
    overwrite: bool = False,
    progress: bool = True,
    chunk_docs: int = CHUNK_DOCS,
    ray_input: Optional[RayInput] = None,
    fail_once: Optional[str] = None,
) -> PredictReport:
    """Run the pipeline ``model`` over INPUT on Ray with ``workers`` actors; write a folder of shards.

    ``chunk_docs``: documents per Ray task (the unit that goes to a worker, and that is retried).
    ``fail_once``: a marker file path; the first actor to create it dies on its second chunk
    (the fault test). Returns the counts, as :func:`spacy_bio_rel.predict.run.predict` does.
    """
    from spacy_bio_rel.predict.run import _progress

    output_path = Path(output_path)
    fmt = ray_output_format(output_path, fmt)
    check_output_folder(output_path, overwrite)
    if min(batch_size, workers, shard_size, chunk_docs) < 1 or cpus_per_worker <= 0 or gpus_per_worker < 0:
        raise ValueError(
            "--batch-size, --workers, --cpus-per-worker, --shard-size and --chunk-size must be "
            "positive, --gpus-per-worker at least 0"
        )
    ray_input = ray_input or scan_inputs(input_path, chunk_docs)
    _check_pipeline(str(model), ray_input)
    report = PredictReport(skipped=ray_input.skipped_message(), output=str(output_path))
    if not ray_input.chunks:  # no documents: an empty output folder, no Ray needed
        with output_file(output_path, overwrite, folder=True):
            pass
        return report
    with ray_session(address) as ray:
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True  # records leave in input order, whatever finishes first
        ctx.enable_progress_bars = False
        start = time.perf_counter()
        with warnings.catch_warnings():  # Ray 2.51+ calls actor options given as keywords deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = chunk_dataset(ray_input).map_batches(
                Annotator,
                fn_constructor_kwargs={
                    "model": _model_ref(model),
                    "fmt": fmt,
                    "batch_size": batch_size,
                    "threads": max(1, int(cpus_per_worker)),
                    "gpu": gpus_per_worker > 0,
                    "fail_once": fail_once,
                },
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=cpus_per_worker,
                num_gpus=gpus_per_worker or None,
                max_restarts=MAX_RESTARTS,
                max_task_retries=MAX_TASK_RETRIES,
            )
        with (
            output_file(output_path, overwrite, folder=True) as tmp,
            _progress(ray_input.n_docs, progress) as bar,
        ):
            write_shards(dataset, tmp, fmt, shard_size, report, bar)
            if report.n_docs != ray_input.n_docs:  # never expected: Ray delivers every batch once
                raise RuntimeError(
                    f"{ray_input.n_docs} documents in the input, {report.n_docs} predicted: nothing written"
                )
        report.seconds = time.perf_counter() - start
    return report
