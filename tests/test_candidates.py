from conftest import make_doc
from spacy.tokens import Doc

from spacy_bio_rel.candidates import iter_candidates, sentence_bounds, transfer_entities


def _doc(nlp):
    # two sentences: 3 entities in the first, 1 in the second
    words = ["Anna", "met", "Bert", "in", "Oslo", ".", "Carl", "left", "."]
    starts = [True, False, False, False, False, False, True, False, False]
    return make_doc(
        nlp,
        words,
        [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (6, 7, "PER")],
        [(0, 1, "Social"), (1, 0, "Knows"), (1, 2, "Located")],
        sent_starts=starts,
    )


def test_sentences_and_pairs(nlp_en):
    doc = _doc(nlp_en)
    assert sentence_bounds(doc) == [(0, 6), (6, 9)]
    directed = list(iter_candidates(doc, True))
    undirected = list(iter_candidates(doc, False))
    assert len(directed) == 6 and len(undirected) == 3  # no pair crosses the sentence
    assert all(c.head[0] < c.tail[0] for c in undirected)  # text order


def test_whole_doc_is_one_sentence_without_boundaries(nlp_en):
    doc = make_doc(nlp_en, ["A", "B", "C"], [(0, 1, "X"), (2, 3, "Y")])
    assert sentence_bounds(doc) == [(0, 3)]
    assert len(list(iter_candidates(doc, True))) == 2


def test_no_or_one_entity_gives_no_candidates(nlp_en):
    assert list(iter_candidates(make_doc(nlp_en, ["a", "b"], []), True)) == []
    assert list(iter_candidates(make_doc(nlp_en, ["a", "b"], [(0, 1, "X")]), True)) == []
    assert sentence_bounds(nlp_en.make_doc("")) == []


def test_candidates_from_given_entities_carry_char_offsets(nlp_en):
    doc = _doc(nlp_en)
    ents = list(doc.ents)[:2]
    cands = list(iter_candidates(doc, True, ents))
    assert len(cands) == 2
    assert cands[0].head_chars == (0, 4) and cands[0].tail_chars == (9, 13)


def test_transfer_entities_same_and_other_tokenisation(nlp_en):
    ref = _doc(nlp_en)
    same, lost = transfer_entities(ref, ref.copy())
    assert lost == 0 and [(e.start, e.end, e.label_) for e in same] == [
        (e.start, e.end, e.label_) for e in ref.ents
    ]
    # a predicted Doc that merges "Anna met" into one token: Anna widens to it, the rest by characters
    other = Doc(nlp_en.vocab, words=["Anna met", "Bert", "in", "Oslo", ".", "Carl", "left", "."])
    moved, lost = transfer_entities(ref, other)
    assert lost == 0
    assert [(e.text, e.label_) for e in moved] == [
        ("Anna met", "PER"),
        ("Bert", "PER"),
        ("Oslo", "LOC"),
        ("Carl", "PER"),
    ]
