"""``python -m spacy_bio_rel``: the ``spacy-bio-rel`` command line."""

from spacy_bio_rel.cli.app import app

app(prog_name="spacy-bio-rel")
