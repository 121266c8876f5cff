"""The ``spacy-bio-rel`` command line: one module per command (group)."""
