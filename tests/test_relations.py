import copy
import json
import pickle
import warnings

import pytest
import spacy
from conftest import make_doc
from spacy.tokens import Doc, DocBin, Span

from spacy_bio_rel import (
    Relation,
    add_relation,
    from_docs,
    get_relations,
    relations_from_json,
    set_relations,
)
from spacy_bio_rel.relations import ANCHOR, relation_keys


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


# -- spaCy's own Doc operations ----------------------------------------------------------------------
def _doc(nlp, text, ents, rels=()):
    """``ents``: (start, end, label) token spans; ``rels``: (head_idx, tail_idx, label)."""
    doc = nlp(text)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    set_relations(doc, [(doc.ents[h], doc.ents[t], lab) for h, t, lab in rels])
    return doc


def _two_sentences(nlp):
    """One relation in each sentence, one across them."""
    return _doc(
        nlp,
        "Anna works for Acme . Bert lives in Oslo .",
        [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "PER"), (8, 9, "LOC")],
        [(0, 1, "Work_For"), (2, 3, "Live_In"), (0, 3, "Far")],
    )


def _texts(doc):
    return [(r.head.text, r.head.label_, r.tail.text, r.tail.label_, r.label) for r in get_relations(doc)]


def _offsets_match(doc):
    """Every relation argument is a span of ``doc`` with the text its offsets cover there."""
    for r in get_relations(doc):
        for span in (r.head, r.tail):
            assert span.doc is doc and doc.text[span.start_char : span.end_char] == span.text


def test_span_as_doc_keeps_the_relations_inside_the_span(nlp_en):
    doc = _two_sentences(nlp_en)
    second = doc[5:10].as_doc(copy_user_data=True)
    assert second.text == "Bert lives in Oslo ."
    assert _texts(second) == [("Bert", "PER", "Oslo", "LOC", "Live_In")]  # 'Far' reaches outside: left out
    assert relation_keys(second) == [((0, 4), (14, 18), "Live_In")]
    _offsets_match(second)
    first = doc[0:5].as_doc(copy_user_data=True)  # starts where the Doc starts, ends before it does
    assert _texts(first) == [("Anna", "PER", "Acme", "ORG", "Work_For")]
    _offsets_match(first)
    nested = second[0:3].as_doc(copy_user_data=True)  # 'Bert lives in': only one argument inside
    assert get_relations(nested) == [] and relation_keys(nested) == []
    whole = doc[0 : len(doc)].as_doc(copy_user_data=True)
    assert _texts(whole) == _texts(doc)


def test_relations_added_to_an_as_doc_copy_are_stored_for_it(nlp_en):
    doc = _two_sentences(nlp_en)
    second = doc[5:10].as_doc(copy_user_data=True)
    add_relation(second, second[4:5], second[0:1], "Dot")
    assert [r.label for r in get_relations(second)] == ["Live_In", "Dot"]
    db = DocBin(store_user_data=True)
    db.add(second)
    (back,) = DocBin().from_bytes(db.to_bytes()).get_docs(nlp_en.vocab)
    assert _texts(back) == _texts(second)
    assert _texts(doc)[0] == ("Anna", "PER", "Acme", "ORG", "Work_For") and len(get_relations(doc)) == 3


def test_relations_set_on_another_doc_are_an_error(nlp_en):
    doc = _two_sentences(nlp_en)
    other = _doc(nlp_en, "Anna works", [(0, 1, "PER")])
    other.user_data = dict(doc.user_data)  # a longer text's relations, not through spaCy
    other.user_data[("._.", ANCHOR, 3, 9)] = True
    with pytest.raises(ValueError, match="set on another Doc"):
        get_relations(other)


def test_plain_doc_from_docs_gives_no_wrong_relations(nlp_en):
    doc = _two_sentences(nlp_en)
    parts = [doc[0:5].as_doc(copy_user_data=True), doc[5:10].as_doc(copy_user_data=True)]
    with pytest.warns(UserWarning, match="W102"):  # spaCy skips the stored list
        joined = Doc.from_docs(parts)
    assert joined.text == doc.text and get_relations(joined) == [] and relation_keys(joined) == []


def test_from_docs_keeps_the_relations_of_each_doc(nlp_en):
    doc = _two_sentences(nlp_en)
    parts = [doc[0:5].as_doc(copy_user_data=True), doc[5:10].as_doc(copy_user_data=True)]
    plain = _doc(nlp_en, "Carl met Dora", [(0, 1, "PER"), (2, 3, "PER")], [(0, 1, "Knows")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no W102 for the relations
        joined = from_docs([plain, *parts])
    assert joined.text == "Carl met Dora " + doc.text  # ensure_whitespace puts a space after 'Dora'
    assert _texts(joined) == [
        ("Carl", "PER", "Dora", "PER", "Knows"),
        ("Anna", "PER", "Acme", "ORG", "Work_For"),
        ("Bert", "PER", "Oslo", "LOC", "Live_In"),
    ]
    _offsets_match(joined)
    tight = from_docs([plain, parts[1]], ensure_whitespace=False)
    assert tight.text == "Carl met DoraBert lives in Oslo ."
    assert [(r.head.start_char, r.tail.end_char) for r in get_relations(tight)] == [(0, 13), (13, 31)]
    _offsets_match(tight)
    assert get_relations(from_docs([plain, *parts], exclude=["user_data"])) == []
    assert from_docs([]) is None


def test_to_json_with_relations_round_trips(nlp_en):
    doc = _two_sentences(nlp_en)
    data = json.loads(json.dumps(doc.to_json(underscore=["relations"])))
    assert data["_"]["relations"][0] == {
        "head": {"start": 0, "end": 4, "label": "PER", "text": "Anna"},
        "tail": {"start": 15, "end": 19, "label": "ORG", "text": "Acme"},
        "label": "Work_For",
        "score": 1.0,
    }
    back = Doc(nlp_en.vocab).from_json(data)  # sets doc._.relations from the JSON
    assert _texts(back) == _texts(doc) and back.text == doc.text
    _offsets_match(back)
    read = relations_from_json(back, data)
    assert read == get_relations(back) and relations_from_json(back, data["_"]["relations"]) == read
    assert [r.to_json() for r in read] == data["_"]["relations"]


def test_relations_from_json_checks_the_text(nlp_en):
    doc = _two_sentences(nlp_en)
    items = doc.to_json(underscore=["relations"])["_"]["relations"]
    other = _doc(nlp_en, "Bert works for Acme .", [(0, 1, "PER")])
    with pytest.raises(ValueError, match="relation 0 head.*'Bert'.*'Anna'"):
        relations_from_json(other, items)
    with pytest.raises(ValueError, match="not a span of tokens"):
        relations_from_json(doc, [{**items[0], "head": {"start": 1, "end": 4, "label": "PER"}}])
    with pytest.raises(ValueError, match="not a span of tokens"):
        relations_from_json(other, items[1:2])  # offsets beyond the text


def test_a_relation_is_read_only_and_compares_by_its_spans(nlp_en):
    doc = _two_sentences(nlp_en)
    r = get_relations(doc)[0]
    with pytest.raises(TypeError, match="read-only"):
        r["label"] = "X"
    again = get_relations(doc)[0]
    assert r == again and hash(r) == hash(again) and r != get_relations(doc)[1]
    assert copy.copy(r) == r and pickle.loads(pickle.dumps(doc))._.relations[0].label == "Work_For"


@pytest.mark.parametrize("score", [float("nan"), float("inf"), -float("inf")])
def test_a_relation_score_that_is_no_finite_number_is_an_error(score):
    nlp = spacy.blank("en")
    doc = make_doc(nlp, ["Anna", "works", "for", "Acme"], [(0, 1, "PER"), (3, 4, "ORG")])
    with pytest.raises(ValueError, match="finite"):
        add_relation(doc, doc.ents[0], doc.ents[1], "Work_For", score=score)
    with pytest.raises(ValueError, match="finite"):
        set_relations(doc, [(doc.ents[0], doc.ents[1], "Work_For", score)])
    assert get_relations(doc) == []
