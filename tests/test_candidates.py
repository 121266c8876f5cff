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


def _three_sentences(nlp):
    # one entity per sentence, and a second one in the first: A0 B0 | C1 | D2
    words = ["Anna", "met", "Bert", ".", "Carl", "left", ".", "Dora", "came", "."]
    starts = [True, False, False, False, True, False, False, True, False, False]
    ents = [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "PER"), (7, 8, "PER")]
    return make_doc(nlp, words, ents, sent_starts=starts)


def _pairs(cands):
    return [(c.head, c.tail, c.sent) for c in cands]


def test_window_one_gives_the_in_sentence_candidates_in_the_same_order(nlp_en):
    for doc in (_doc(nlp_en), _three_sentences(nlp_en)):
        for directed in (True, False):
            default = list(iter_candidates(doc, directed))
            assert _pairs(iter_candidates(doc, directed, sentence_window=1)) == _pairs(default)
            assert all(c.sent in sentence_bounds(doc) for c in default)


def test_window_two_adds_adjacent_sentence_pairs_and_no_farther_ones(nlp_en):
    doc = _three_sentences(nlp_en)
    bounds = sentence_bounds(doc)  # (0, 4), (4, 7), (7, 10)
    directed = list(iter_candidates(doc, True, sentence_window=2))
    pairs = {(c.head[0], c.tail[0]) for c in directed}
    # in-sentence 0-2, 2-0; across one boundary: 0/2 with 4, 4 with 7; never 0/2 with 7
    assert pairs == {(0, 2), (2, 0), (0, 4), (4, 0), (2, 4), (4, 2), (4, 7), (7, 4)}
    spans = {(c.head[0], c.tail[0]): c.sent for c in directed}
    assert spans[(0, 2)] == bounds[0]
    assert spans[(2, 4)] == spans[(4, 2)] == (0, 7)  # the covering span, in either direction
    assert spans[(7, 4)] == (4, 10)
    undirected = list(iter_candidates(doc, False, sentence_window=2))
    assert len(undirected) == 4 and all(c.head[0] < c.tail[0] for c in undirected)
    far = {(c.head[0], c.tail[0]) for c in iter_candidates(doc, True, sentence_window=3)}
    assert (0, 7) in far and (7, 2) in far and len(far) == 12


def test_sentence_window_below_one_is_refused(nlp_en):
    import pytest

    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="sentence_window must be a whole number of at least 1"):
            list(iter_candidates(_doc(nlp_en), True, sentence_window=bad))
