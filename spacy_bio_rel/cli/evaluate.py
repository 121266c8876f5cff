"""The ``--entities predicted`` and ``--sweep`` branches of ``spacy-bio-rel evaluate``."""

from pathlib import Path
from typing import Optional

import typer

from spacy_bio_rel.cli.errors import cli_errors
from spacy_bio_rel.scoring.evaluate import write_scores
from spacy_bio_rel.scoring.evaluate_e2e import (
    ENTITY_SETTINGS,
    describe,
    evaluate_predicted_entities,
    parse_cutoffs,
    sweep_dataset,
)
from spacy_bio_rel.util import PipelineError


def evaluate_e2e_or_sweep(
    model: str,
    data: Path,
    entities: str,
    sweep: bool,
    cutoffs: Optional[str],
    report: Optional[Path],
    negative_ratio: Optional[float],
    seed: int,
) -> None:
    if entities not in ENTITY_SETTINGS:
        raise typer.BadParameter(f"--entities must be one of {', '.join(ENTITY_SETTINGS)}, got {entities!r}")
    with cli_errors(PipelineError, ValueError, OSError):
        grid = parse_cutoffs(cutoffs)
        if sweep:
            scores = sweep_dataset(
                model, data, entities=entities, cutoffs=grid, negative_ratio=negative_ratio, seed=seed
            )
        else:
            if negative_ratio is not None:
                raise ValueError("--negative-ratio applies to the gold-entity setting only")
            scores = evaluate_predicted_entities(model, data)
    typer.echo(describe(scores))
    if report:
        with cli_errors(OSError):
            write_scores(scores, report)
        typer.echo(f"wrote {report}")
