"""``spacy-bio-rel calibrate MODEL DEV``: the command line of :mod:`.calibrate`."""

import json
from pathlib import Path
from typing import Optional

import spacy.util
import typer

from spacy_bio_rel.cli.errors import check_writable, cli_errors
from spacy_bio_rel.cli.options import GPU_HELP, REPORT_HELP, use_gpu
from spacy_bio_rel.scoring.calibrate import (
    CalibrationError,
    calibrate,
    format_table,
    load_examples,
    load_pipeline,
    save_pipeline,
)
from spacy_bio_rel.util import PipelineError, relation_component


def calibrate_cmd(
    model: str = typer.Argument(
        ...,
        metavar="MODEL",
        help="Trained pipeline with a relation_extractor: a folder, or an installed pipeline package's name.",
    ),
    data: Path = typer.Argument(
        ...,
        metavar="DEV_SPACY",
        help="DocBin (.spacy) file or folder with gold entities "
        "and relations (dev data; never the test data).",
    ),
    output: Optional[Path] = typer.Option(
        None,
        "--output-dir",
        help="Write the calibrated pipeline to this folder (default: MODEL itself, which needs --overwrite).",
    ),
    per_label: bool = typer.Option(
        False,
        "--per-label",
        help="Also choose one θ per label (coordinate ascent "
        "on micro F1), stored as the component's cfg 'thresholds'.",
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an existing output folder (or MODEL)."
    ),
    report: Optional[Path] = typer.Option(None, "--report", help=REPORT_HELP),
    gpu_id: int = typer.Option(-1, "--gpu-id", "-g", help=GPU_HELP),
):
    """Choose the threshold θ (raw class score) that maximises micro F1 on DEV_SPACY (gold entities),
    optionally one θ per label, and save the pipeline with it. F1 on the data θ was chosen on is optimistic."""
    with cli_errors(CalibrationError, PipelineError, ValueError, OSError):
        if output is None and not Path(model).exists() and spacy.util.is_package(model):
            raise CalibrationError(
                f"{model} is an installed package: pass --output-dir to write the calibrated pipeline"
            )
        target = output or Path(model)
        if target.exists() and not overwrite:
            raise CalibrationError(
                f"{target} exists: pass --overwrite to replace it"
                + ("" if output else " (or --output-dir to write elsewhere)")
            )
        check_writable(target, "folder")
        if report:
            check_writable(report, "file")
        use_gpu(gpu_id)
        nlp = load_pipeline(model)
        component = relation_component(nlp)
        examples = load_examples(nlp, data, component)
        result = calibrate(nlp, examples, per_label=per_label, component=component)
        save_pipeline(nlp, target, overwrite=overwrite)
    typer.echo(format_table(result))
    b, g = result["before"]["micro"], result["global"]["micro"]
    typer.echo(
        f"micro F1 on {data}: {100 * b['f']:.2f} at θ = {result['theta_before']:g} -> "
        f"{100 * g['f']:.2f} at θ = {result['theta']:.4g}"
        + (
            f" -> {100 * result['per_label']['micro']['f']:.2f} with per-label θ"
            if result["per_label"]
            else ""
        )
    )
    typer.echo("(chosen on this data: optimistic; report F1 on other data)")
    if report:
        with cli_errors(OSError):
            report.write_text(json.dumps(result, indent=1), encoding="utf-8")
    typer.echo(f"saved the calibrated pipeline to {target}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to ``app``."""
    app.command("calibrate")(calibrate_cmd)
