"""Inputs from outside the paper's setting: another NER's labels, text without sentence boundaries."""

import warnings

import pytest
import spacy
from util import trained

WORDS = ["Anna", "works", "for", "Acme", "and", "visited", "Paris", "."]


def other_ner_pipeline(tmp_path, **component):
    """An entity_ruler with its own labels (PERSON, COMPANY, CITY) in front of the relation model
    trained on PER/ORG/LOC, loaded as a user would, with ``component`` settings at load time."""
    src = trained()
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [{"label": "PERSON", "pattern": "Anna"}, {"label": "COMPANY", "pattern": "Acme"},
         {"label": "CITY", "pattern": "Paris"}]
    )  # fmt: skip
    nlp.add_pipe("relation_extractor", source=src)
    nlp.to_disk(tmp_path / "p")
    return spacy.load(tmp_path / "p", config={"components": {"relation_extractor": component}})


def test_another_ners_labels_give_a_warning_naming_the_labels(tmp_path):
    nlp = other_ner_pipeline(tmp_path)
    doc = spacy.tokens.Doc(nlp.vocab, words=WORDS, sent_starts=[True] + [False] * 7)
    with pytest.warns(
        UserWarning, match=r"\['CITY', 'COMPANY', 'PERSON'\].*\['LOC', 'ORG', 'PER'\].*entity_label_map"
    ):
        doc = nlp(doc)
    assert [e.label_ for e in doc.ents] == ["PERSON", "COMPANY", "CITY"] and doc._.relations == []


def test_entity_label_map_lets_another_ner_feed_the_model(tmp_path):
    nlp = other_ner_pipeline(tmp_path, entity_label_map={"PERSON": "PER", "COMPANY": "ORG", "CITY": "LOC"})
    doc = spacy.tokens.Doc(nlp.vocab, words=WORDS, sent_starts=[True] + [False] * 7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = nlp(doc)
    rels = [(r.head.text, r.label, r.tail.text, r.head.label_) for r in doc._.relations]
    assert ("Anna", "Work_For", "Acme", "PERSON") in rels  # the Doc's own spans and labels


def test_entity_label_map_must_map_labels_to_labels():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="entity_label_map"):
        nlp.add_pipe("relation_extractor", config={"entity_label_map": {"PERSON": 3}})


def test_a_doc_without_sentence_boundaries_warns_and_a_sentencizer_keeps_pairs_inside_sentences():
    src = trained()
    words = ["Anna", "works", "for", "Acme", ".", "Paris", "is", "nice", "."]
    ents = [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC")]
    doc = spacy.tokens.Doc(src.vocab, words=words)
    doc.ents = [spacy.tokens.Span(doc, s, e, label=lab) for s, e, lab in ents]
    pipe = src.get_pipe("relation_extractor")
    pipe._warned.discard("sents")
    with pytest.warns(UserWarning, match="without sentence boundaries.*sentencizer"):
        pipe.predict([doc])
    sentencizer = spacy.blank("en").add_pipe("sentencizer")
    doc2 = sentencizer(spacy.tokens.Doc(src.vocab, words=words))
    doc2.ents = [spacy.tokens.Span(doc2, s, e, label=lab) for s, e, lab in ents]
    cands = pipe.candidates(doc2)
    assert cands and all(c.tail != (5, 6) for c in cands)  # Paris is in the next sentence
