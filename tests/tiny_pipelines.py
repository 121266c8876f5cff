"""Tiny trained pipelines for the predict / render / e2e tests (a few seconds each, cached).

``ruler_pipeline()``: an ``entity_ruler`` that finds the planted names, then a
``relation_extractor`` trained on the planted Docs of ``conftest.py`` with gold
entities. Raw text in, entities and relations out, deterministically.
"""
import functools
from pathlib import Path

import spacy
from spacy.util import fix_random_seed

from conftest import planted_docs
from test_component import SMALL_MODEL, gold_examples as _examples

PEOPLE = ["Anna", "Bert", "Carl", "Dora", "Emil", "Fina", "Gus", "Hana"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella"]
LOCS = ["Paris", "Oslo", "Lima", "Kyiv"]
E2E_SCORER = {"@scorers": "spacy-bio-rel.e2e_scorer.v1"}


def build_ruler_pipeline(epochs: int = 15, scorer=None, seed: int = 0):
    fix_random_seed(seed)
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": lab, "pattern": w} for lab, ws in (("PER", PEOPLE), ("ORG", ORGS), ("LOC", LOCS))
                        for w in ws])
    config = {"model": SMALL_MODEL, "directed": True}
    if scorer is not None:
        config["scorer"] = scorer
    nlp.add_pipe("relation_extractor", config=config)
    examples = _examples(planted_docs(nlp))
    with nlp.select_pipes(enable=["relation_extractor"]):
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(epochs):
            for i in range(0, len(examples), 8):
                nlp.update(examples[i : i + 8], sgd=optimizer)
    return nlp


@functools.lru_cache(maxsize=None)
def ruler_pipeline_path(root: str) -> Path:
    """The pipeline saved under ``root`` (trained once per test session)."""
    path = Path(root) / "ruler_pipeline"
    build_ruler_pipeline(scorer=E2E_SCORER).to_disk(path)
    return path
