import pytest
from conftest import make_doc
from spacy.tokens import DocBin

from spacy_bio_rel import Relation, add_relation, get_relations, set_relations


def test_set_and_get_relations(nlp_en):
    doc = make_doc(nlp_en, ["Anna", "works", "for", "Acme"], [(0, 1, "PER"), (3, 4, "ORG")])
    set_relations(doc, [(doc.ents[0], doc.ents[1], "Work_For", 0.7)])
    rels = doc._.relations
    assert len(rels) == 1
    r = rels[0]
    assert isinstance(r, Relation)
    assert (r.head.text, r.tail.text, r.label, r.score) == ("Anna", "Acme", "Work_For", pytest.approx(0.7))
    assert r.head.label_ == "PER" and r.tail.label_ == "ORG"
    add_relation(doc, doc.ents[1], doc.ents[0], "Employs")
    assert [x.label for x in get_relations(doc)] == ["Work_For", "Employs"]
    doc._.relations = []
    assert doc._.relations == []


def test_relations_survive_docbin(nlp_en):
    doc = make_doc(
        nlp_en, ["Anna", "works", "for", "Acme"], [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")]
    )
    db = DocBin(store_user_data=True)
    db.add(doc)
    (back,) = list(DocBin().from_bytes(db.to_bytes()).get_docs(nlp_en.vocab))
    rels = back._.relations
    assert [(r.head.text, r.tail.text, r.label) for r in rels] == [("Anna", "Acme", "Work_For")]
    assert rels[0].head.doc is back


def test_bad_relations_are_rejected(nlp_en):
    doc = make_doc(nlp_en, ["Anna", "works", "for", "Acme"], [(0, 1, "PER"), (3, 4, "ORG")])
    other = make_doc(nlp_en, ["Bert"], [(0, 1, "PER")])
    with pytest.raises(ValueError, match="different Doc"):
        set_relations(doc, [(doc.ents[0], other.ents[0], "X")])
    with pytest.raises(TypeError, match="Span"):
        set_relations(doc, [("Anna", doc.ents[1], "X")])
    with pytest.raises(ValueError, match="non-empty"):
        set_relations(doc, [(doc.ents[0], doc.ents[1], "")])
    doc.user_data["spacy_bio_rel.relations"] = [{"head": [0, 9, "PER"], "tail": [3, 4, "ORG"], "label": "X"}]
    with pytest.raises(ValueError, match="outside the Doc"):
        doc._.relations
