from spacy_bio_rel.candidates import (
    OTHER, count_candidates, gold_index, gold_label, iter_candidates, learn_type_pairs, sentence_bounds,
)
from conftest import make_doc


def _doc(nlp):
    # two sentences: 3 entities in the first, 1 in the second
    words = ["Anna", "met", "Bert", "in", "Oslo", ".", "Carl", "left", "."]
    starts = [True, False, False, False, False, False, True, False, False]
    return make_doc(nlp, words, [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (6, 7, "PER")],
                    [(0, 1, "Social"), (1, 0, "Knows"), (1, 2, "Located")], sent_starts=starts)


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


def test_gold_labels_directed_and_undirected(nlp_en):
    doc = _doc(nlp_en)
    index = gold_index(doc)
    labels = {(c.head, c.tail): gold_label(index, c, True) for c in iter_candidates(doc, True)}
    assert labels[((0, 1), (2, 3))] == "Social"
    assert labels[((2, 3), (0, 1))] == "Knows"
    assert labels[((4, 5), (2, 3))] == OTHER  # the reverse order is negative
    un = {(c.head, c.tail): gold_label(index, c, False) for c in iter_candidates(doc, False)}
    assert un[((2, 3), (4, 5))] == "Located"


def test_type_filter_and_counts(nlp_en):
    doc = _doc(nlp_en)
    assert learn_type_pairs([doc], True) == {("PER", "PER"), ("PER", "LOC")}
    assert learn_type_pairs([doc], False) == {("PER", "PER"), ("LOC", "PER")}
    counts = count_candidates([doc])
    assert counts["ordered"]["total"] == 6 and counts["ordered"]["positive"] == 3
    # (LOC, PER) and (LOC, PER) ordered never positive -> filtered
    assert counts["ordered"]["filtered_total"] == 4
    assert counts["unordered"]["filtered_total"] == 3
