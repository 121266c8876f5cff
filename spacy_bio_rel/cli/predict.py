"""``spacy-bio-rel predict MODEL INPUT OUTPUT``: the command line of :mod:`.predict`."""

from pathlib import Path
from typing import Optional

import typer

from spacy_bio_rel.cli.errors import check_writable, cli_errors, fail
from spacy_bio_rel.cli.options import BF16_HELP, GPU_HELP, use_gpu
from spacy_bio_rel.ml.precision import use_bfloat16
from spacy_bio_rel.predict.run import (
    FORMATS,
    InputError,
    OutputExistsError,
    check_distinct,
    check_output,
    output_format,
    predict,
    scan_input,
    to_stdout,
)
from spacy_bio_rel.util import PipelineError, load_pipeline, set_torch_threads


def predict_cmd(
    model: str = typer.Argument(
        ...,
        metavar="MODEL",
        help="Trained pipeline (folder or package) with a relation_extractor; "
        "for raw text it needs an ner (or entity_ruler) before it.",
    ),
    input_path: Path = typer.Argument(
        ...,
        metavar="INPUT",
        help=".txt (one document per line), .jsonl "
        '({"text": ...} per line, other keys kept) or .spacy (Docs, may carry entities).',
    ),
    output_path: Path = typer.Argument(
        ...,
        metavar="OUTPUT",
        help=".jsonl records (or prodigy tasks), a .spacy DocBin, or - for records on standard output "
        "(other suffixes are refused).",
    ),
    fmt: Optional[str] = typer.Option(
        None,
        "--format",
        "-f",
        help=f"One of {', '.join(FORMATS)}; default from "
        "OUTPUT's suffix (.spacy: spacy, else jsonl). prodigy: rel.manual tasks.",
    ),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(
        1, "--n-process", "-n", help="Worker processes (CPU; each runs torch on one thread)."
    ),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
    bf16: bool = typer.Option(False, "--bf16", help=BF16_HELP),
    threads: Optional[int] = typer.Option(
        None,
        "--threads",
        help="torch threads of the relation component while "
        "predicting (default: the pipeline's torch_threads, 1; 0: torch's own "
        "setting). More than 1 helps only on cores nothing else uses.",
    ),
    html: Optional[Path] = typer.Option(
        None, "--html", help="Also write an HTML picture of the first documents here."
    ),
    html_limit: int = typer.Option(100, "--html-limit", help="Documents drawn in the --html file."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace OUTPUT (and the --html file) if they exist."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    engine: str = typer.Option(
        "local",
        "--engine",
        help="'local' (this process, --n-process) or 'ray' (Ray Data "
        "workers; INPUT may be a folder of .txt/.jsonl/.parquet shards, OUTPUT is a folder "
        'of shards; needs pip install "spacy-bio-rel\\[ray]").',
    ),
    address: Optional[str] = typer.Option(
        None,
        "--address",
        help="--engine ray: join this Ray cluster "
        "(HOST:PORT, ray://HOST:10001 or auto); default: start a local instance.",
    ),
    workers: int = typer.Option(1, "--workers", help="--engine ray: pipeline copies (Ray actors)."),
    cpus_per_worker: float = typer.Option(
        1.0,
        "--cpus-per-worker",
        help="--engine ray: CPUs each worker asks for; torch runs on that many threads.",
    ),
    gpus_per_worker: float = typer.Option(
        0.0,
        "--gpus-per-worker",
        help="--engine ray: GPUs per worker (e.g. 1, or 0.5 to share one GPU between two workers).",
    ),
    shard_size: int = typer.Option(100_000, "--shard-size", help="--engine ray: records per output shard."),
    chunk_size: int = typer.Option(
        1000,
        "--chunk-size",
        help="--engine ray: documents per Ray task (the unit "
        "a worker takes, and that is run again if the worker dies).",
    ),
):
    """Predict entities and relations for every document of INPUT and write them to OUTPUT."""
    if engine != "local":
        if threads is not None:
            fail("--threads goes with --engine local; with --engine ray use --cpus-per-worker")
        if bf16:
            fail("--bf16 goes with --engine local")
        return _predict_ray(
            model,
            input_path,
            output_path,
            fmt,
            batch_size,
            n_process,
            gpu_id,
            html,
            overwrite,
            quiet,
            engine,
            address,
            workers,
            cpus_per_worker,
            gpus_per_worker,
            shard_size,
            chunk_size,
        )
    if (
        address is not None
        or workers != 1
        or gpus_per_worker
        or cpus_per_worker != 1.0
        or shard_size != 100_000
        or chunk_size != 1000
    ):
        fail(
            "--address, --workers, --cpus-per-worker, --gpus-per-worker, --shard-size and --chunk-size go with "
            "--engine ray"
        )
    with cli_errors(InputError, OutputExistsError, ValueError):
        fmt = output_format(output_path, fmt)
        check_output(output_path, overwrite)  # fail before the model loads
        check_writable(output_path, "file")
        if html is not None:
            if to_stdout(html):
                raise ValueError("--html takes a file name, not -")
            check_output(html, overwrite)
            check_distinct(output_path, html=html)
            check_writable(html, "file")
        if gpu_id >= 0 and n_process > 1:
            raise ValueError("--gpu-id runs one process: leave --n-process at 1")
        if bf16 and n_process > 1:
            raise ValueError("--bf16 runs one process: leave --n-process at 1")
        summary = scan_input(input_path)
    use_gpu(gpu_id)
    # a missing, truncated or foreign pipeline: whatever spaCy or thinc raise, one line
    with cli_errors(Exception, prefix=f"cannot load the pipeline {model!r}: "):
        nlp = load_pipeline(model)
    with cli_errors(InputError, OutputExistsError, PipelineError, ValueError, OSError):
        if threads is not None:
            set_torch_threads(nlp, threads)
        if bf16:
            use_bfloat16(nlp)
        report = predict(
            nlp,
            input_path,
            output_path,
            fmt=fmt,
            batch_size=batch_size,
            n_process=n_process,
            overwrite=overwrite,
            html=html,
            html_limit=html_limit,
            progress=not quiet,
            summary=summary,
        )
    typer.echo(report.summary(), err=True)


def _predict_ray(
    model,
    input_path,
    output_path,
    fmt,
    batch_size,
    n_process,
    gpu_id,
    html,
    overwrite,
    quiet,
    engine,
    address,
    workers,
    cpus_per_worker,
    gpus_per_worker,
    shard_size,
    chunk_size,
) -> None:
    """``--engine ray``: check everything here (one line, exit 1), then run :func:`predict_ray`."""
    from spacy_bio_rel.distributed import RayMissingError, check_engine

    with cli_errors(RayMissingError, ValueError):
        check_engine(engine)
    from spacy_bio_rel.distributed.ray_predict import (
        check_output_folder,
        predict_ray,
        ray_output_format,
        scan_inputs,
    )

    with cli_errors(InputError, OutputExistsError, ValueError):
        if n_process != 1 or gpu_id >= 0 or html is not None:
            raise ValueError(
                "with --engine ray use --workers and --gpus-per-worker (not --n-process or "
                "--gpu-id); --html is for --engine local"
            )
        fmt = ray_output_format(output_path, fmt)
        check_output_folder(output_path, overwrite)
        if chunk_size < 1:
            raise ValueError("--chunk-size must be at least 1")
        check_writable(output_path, "folder")
        ray_input = scan_inputs(input_path, chunk_size)
    with (
        cli_errors(OSError, prefix=f"cannot load the pipeline {model!r}: "),
        cli_errors(InputError, OutputExistsError, PipelineError, ValueError),
    ):
        report = predict_ray(
            model,
            input_path,
            output_path,
            fmt=fmt,
            batch_size=batch_size,
            workers=workers,
            cpus_per_worker=cpus_per_worker,
            gpus_per_worker=gpus_per_worker,
            address=address,
            shard_size=shard_size,
            chunk_docs=chunk_size,
            overwrite=overwrite,
            progress=not quiet,
            ray_input=ray_input,
        )
    typer.echo(report.summary(), err=True)


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command to ``app``."""
    app.command("predict")(predict_cmd)
