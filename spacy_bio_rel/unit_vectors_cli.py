"""``spacy-bio-rel vectors DATA OUTPUT``: the command line of :mod:`.unit_vectors`."""
import json
from pathlib import Path

import typer

from .unit_vectors import count_units, read_sequences, save_vectors_pipeline, unit_vectors


def vectors_cmd(
    data: Path = typer.Argument(..., metavar="DATA_SPACY", help="DocBin (.spacy) file or folder whose text the "
                                "vectors are learned from (training data; never the test data)."),
    output: Path = typer.Argument(..., metavar="OUTPUT", help="Folder for a blank pipeline holding the vectors "
                                  "(use it as --paths.vectors)."),
    lang: str = typer.Option("zh", "--lang", help="Language of the blank pipeline (zh: one unit per character)."),
    width: int = typer.Option(100, "--width", help="Vector width (SVD rank)."),
    window: int = typer.Option(5, "--window", help="Context window: units on each side, weighted 1/distance."),
    min_count: int = typer.Option(2, "--min-count", help="Units seen fewer times get no vector (counted below)."),
    lowercase: bool = typer.Option(False, "--lowercase", help="Learn vectors of lower-cased units."),
    seed: int = typer.Option(0, "--seed", help="Seed of the randomised SVD."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUTPUT folder."),
):
    """Learn static unit vectors (PPMI + truncated SVD) from DATA's text and save them as a spaCy pipeline
    for `[initialize] vectors` (see configs/zh_vectors.cfg)."""
    try:
        if output.exists() and not overwrite:
            raise ValueError(f"{output} exists: pass --overwrite to replace it")
        sequences = read_sequences(data, lang, lowercase)
        counts = count_units(sequences, window=window, min_count=min_count)
        vectors = unit_vectors(counts, width=width, seed=seed)
        save_vectors_pipeline(counts.units, vectors, lang, output)
    except ValueError as e:
        typer.secho(f"Error: {e}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1)
    report = {"data": str(data), "docs": counts.docs, "unit_occurrences": counts.seen,
              "units_with_vector": len(counts.units), "units_without_vector": counts.dropped_types,
              "occurrences_without_vector": counts.seen - counts.kept, "width": int(vectors.shape[1]),
              "seed": seed, "lowercase": lowercase, **counts.settings}
    (output / "unit_vectors.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    typer.echo(f"{counts.docs} Docs, {counts.seen} units read; {len(counts.units)} distinct units get a vector, "
               f"{counts.dropped_types} (seen < {min_count} times, {counts.seen - counts.kept} occurrences) get none "
               f"and use the hash embedding only")
    typer.echo(f"saved {vectors.shape[0]} x {vectors.shape[1]} vectors to {output} (report: unit_vectors.json)")


def register(app: typer.Typer) -> None:
    """Add ``vectors`` to ``app``."""
    app.command("vectors")(vectors_cmd)
