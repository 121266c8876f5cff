"""``spacy-bio-rel vectors DATA OUTPUT``: the command line of :mod:`.unit_vectors`."""

from pathlib import Path

import typer

from spacy_bio_rel.cli.errors import check_writable, cli_errors
from spacy_bio_rel.training.vectors import learn_vectors, read_sequences


def vectors_cmd(
    data: Path = typer.Argument(
        ...,
        metavar="DATA_SPACY",
        help="DocBin (.spacy) file or folder whose text the "
        "vectors are learned from (training data; never the test data).",
    ),
    output: Path = typer.Argument(
        ...,
        metavar="OUTPUT",
        help="Folder for a blank pipeline holding the vectors (use it as --paths.vectors).",
    ),
    lang: str = typer.Option(
        "zh", "--lang", help="Language of the blank pipeline (zh: one unit per character)."
    ),
    width: int = typer.Option(100, "--width", help="Vector width (SVD rank)."),
    window: int = typer.Option(
        5, "--window", help="Context window: units on each side, weighted 1/distance."
    ),
    min_count: int = typer.Option(
        2, "--min-count", help="Units seen fewer times get no vector (counted below)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the randomised SVD."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUTPUT folder."),
):
    """Learn static unit vectors (PPMI + truncated SVD) from DATA's text and save them as a spaCy pipeline
    for `[initialize] vectors` (see configs/zh_vectors.cfg)."""
    with cli_errors(ValueError, OSError):
        if output.exists() and not overwrite:
            raise ValueError(f"{output} exists: pass --overwrite to replace it")
        check_writable(output, "folder")
        report = learn_vectors(
            read_sequences(data, lang),
            output,
            lang,
            width=width,
            window=window,
            min_count=min_count,
            seed=seed,
            source=str(data),
        )
    typer.echo(
        f"{report['docs']} Docs, {report['unit_occurrences']} units read; {report['units_with_vector']} "
        f"distinct units get a vector, {report['units_without_vector']} (seen < {min_count} times, "
        f"{report['occurrences_without_vector']} occurrences) get none and use the hash embedding only"
    )
    typer.echo(
        f"saved {report['units_with_vector']} x {report['width']} vectors to {output} "
        "(report: unit_vectors.json)"
    )


def register(app: typer.Typer) -> None:
    """Add ``vectors`` to ``app``."""
    app.command("vectors")(vectors_cmd)
