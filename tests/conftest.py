"""Shared fixtures: tiny hand-made Docs with entities and gold relations."""

import importlib.util
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span

import spacy_bio_rel  # noqa: F401  (registers Doc._.relations)
from spacy_bio_rel import set_relations

REPO = Path(__file__).resolve().parents[1]


def load_script(name):
    """scripts/NAME.py imported as a module (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# a tiny network for tests that train through the config (``--set`` overrides of configs/en_wordwise.cfg)
TINY_MODEL_OVERRIDES = {
    "components.relation_extractor.model.word_width": 16,
    "components.relation_extractor.model.tag_width": 8,
    "components.relation_extractor.model.position_width": 8,
    "components.relation_extractor.model.max_distance": 10,
    "components.relation_extractor.model.window_sizes": [2, 3],
    "components.relation_extractor.model.n_filters": 8,
    "components.relation_extractor.model.hidden_width": 8,
    "components.relation_extractor.model.min_freq": 1,
    "vars.directed": True,
}
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


def make_doc(nlp, words, ents, rels=(), sent_starts=None):
    """``ents``: (start, end, label) token spans; ``rels``: (head_idx, tail_idx, label)."""
    doc = Doc(nlp.vocab, words=words, sent_starts=sent_starts)
    spans = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    doc.ents = spans
    set_relations(doc, [(spans[h], spans[t], lab) for h, t, lab in rels])
    return doc


@pytest.fixture
def nlp_en():
    return spacy.blank("en")


def planted_docs(nlp, n=40):
    """Sentences where 'works for' links a PER to an ORG and 'lives in' a PER to a LOC."""
    people = ["Anna", "Bert", "Carl", "Dora", "Emil", "Fina", "Gus", "Hana"]
    orgs = ["Acme", "Globex", "Initech", "Umbrella"]
    locs = ["Paris", "Oslo", "Lima", "Kyiv"]
    docs = []
    for i in range(n):
        p, o, loc = people[i % 8], orgs[i % 4], locs[(i // 2) % 4]
        if i % 2 == 0:
            words = [p, "works", "for", o, "and", "visited", loc, "."]
            docs.append(
                make_doc(nlp, words, [(0, 1, "PER"), (3, 4, "ORG"), (6, 7, "LOC")], [(0, 1, "Work_For")])
            )
        else:
            words = [p, "lives", "in", loc, "near", o, "offices", "."]
            docs.append(
                make_doc(nlp, words, [(0, 1, "PER"), (3, 4, "LOC"), (5, 6, "ORG")], [(0, 1, "Live_In")])
            )
    return docs
