"""``spacy-bio-rel predict MODEL INPUT OUTPUT``: the command line of :mod:`.predict`."""
from pathlib import Path
from typing import Optional

import typer

from .pipeline_info import PipelineError
from .predict import FORMATS, InputError, OutputExistsError, check_output, output_format, predict, scan_input


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def predict_cmd(
    model: str = typer.Argument(..., metavar="MODEL", help="Trained pipeline (folder or package) with a relation_extractor; "
                                "for raw text it needs an ner (or entity_ruler) before it."),
    input_path: Path = typer.Argument(..., metavar="INPUT", help=".txt (one document per line), .jsonl "
                                      "({\"text\": ...} per line, other keys kept) or .spacy (Docs, may carry entities)."),
    output_path: Path = typer.Argument(..., metavar="OUTPUT", help=".jsonl records or a .spacy DocBin."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help=f"One of {', '.join(FORMATS)}; default from "
                                      "OUTPUT's suffix (.spacy: spacy, else jsonl). prodigy: rel.manual tasks."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="Documents per nlp.pipe batch."),
    n_process: int = typer.Option(1, "--n-process", "-n", help="Worker processes (CPU; each runs torch on one thread)."),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help="GPU id, -1 for CPU."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write an HTML picture of the first documents here."),
    html_limit: int = typer.Option(100, "--html-limit", help="Documents drawn in the --html file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT (and the --html file) if they exist."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Predict entities and relations for every document of INPUT and write them to OUTPUT."""
    try:
        fmt = output_format(output_path, fmt)
        check_output(output_path, overwrite)  # fail before the model loads
        if html is not None:
            check_output(html, overwrite)
        if gpu_id >= 0 and n_process > 1:
            raise ValueError("--gpu-id runs one process: leave --n-process at 1")
        summary = scan_input(input_path)
    except (InputError, OutputExistsError, ValueError) as e:
        _fail(str(e))
    import spacy

    if gpu_id >= 0:
        try:
            spacy.require_gpu(gpu_id)
        except Exception as e:  # noqa: BLE001  (no cupy, no such device, ...)
            _fail(f"cannot use GPU {gpu_id}: {e}")
    try:
        nlp = spacy.load(model)
    except (OSError, IOError) as e:
        _fail(f"cannot load the pipeline {model!r}: {e}")
    try:
        report = predict(nlp, input_path, output_path, fmt=fmt, batch_size=batch_size, n_process=n_process,
                         overwrite=overwrite, html=html, html_limit=html_limit, progress=not quiet, summary=summary)
    except (InputError, OutputExistsError, PipelineError, ValueError) as e:
        _fail(str(e))
    typer.echo(report.summary(), err=True)


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command to ``app``."""
    app.command("predict")(predict_cmd)
