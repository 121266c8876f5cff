"""The command line: ``spacy-bio-rel`` / ``python -m spacy_bio_rel``.

Each module of this package defines its commands and a ``register(app)`` that
adds them to the app it is given; this module builds the app and registers
them all. SIGTERM stops every command as Ctrl-C does (temporary outputs are
removed, see :func:`.errors.handle_sigterm`).
"""

import typer

from spacy_bio_rel.cli import calibrate, convert, experiments, predict, vectors
from spacy_bio_rel.cli.errors import handle_sigterm

app = typer.Typer(
    name="spacy-bio-rel",
    no_args_is_help=True,
    add_completion=False,
    help="Relation extraction for spaCy (Ye et al., ACL 2019): data conversion, evaluation and experiments.",
)
for module in (convert, experiments, predict, calibrate, vectors):
    module.register(app)


@app.callback()
def _every_command(ctx: typer.Context) -> None:
    ctx.call_on_close(handle_sigterm())


def main() -> None:
    app()


if __name__ == "__main__":
    main()
