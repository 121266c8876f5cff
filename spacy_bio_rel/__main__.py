"""``python -m spacy_bio_rel``: the ``spacy-bio-rel`` command line."""
from .cli import app

app(prog_name="spacy-bio-rel")
