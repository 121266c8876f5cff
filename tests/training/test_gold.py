from spacy.tokens import Doc
from test_candidates import _doc

from spacy_bio_rel.candidates import OTHER, iter_candidates
from spacy_bio_rel.training.gold import (
    count_candidates,
    gold_label,
    learn_type_pairs,
    relation_index,
    relation_set,
)


def test_gold_labels_directed_and_undirected(nlp_en):
    doc = _doc(nlp_en)
    index = relation_index(doc)
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


def test_gold_is_matched_by_characters_across_tokenisations(nlp_en):
    ref = _doc(nlp_en)
    assert ((0, 4), (9, 13)) in relation_index(ref)  # Anna -> Bert, character offsets
    other = Doc(
        nlp_en.vocab,
        words=["Anna", "met", "Bert", "in", "Oslo", ".", "Carl", "left", "."],
        sent_starts=[True] + [False] * 5 + [True, False, False],
    )
    other.ents = [other.char_span(0, 4, "PER"), other.char_span(9, 13, "PER")]
    (cand,) = [c for c in iter_candidates(other, True) if c.head == (0, 1)]
    assert gold_label(relation_index(ref), cand, True) == "Social"


def test_relation_set_ignores_direction_when_undirected(nlp_en):
    doc = _doc(nlp_en)
    assert ((0, 4), (9, 13), "Knows") in relation_set(doc, False)
    assert ((9, 13), (0, 4), "Knows") in relation_set(doc, True)


def test_type_filter_learns_cross_sentence_relations_only_within_the_window(nlp_en):
    from conftest import make_doc

    words = ["Anna", "left", ".", "Acme", "hired", "her", "."]
    starts = [True, False, False, True, False, False, False]
    doc = make_doc(nlp_en, words, [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")], sent_starts=starts)
    assert learn_type_pairs([doc], True) == set()  # the relation crosses a sentence boundary
    assert learn_type_pairs([doc], True, sentence_window=2) == {("PER", "ORG")}
    cands = list(iter_candidates(doc, True, sentence_window=2))
    assert [gold_label(relation_index(doc), c, True) for c in cands] == ["Work_For", OTHER]


def test_candidate_counts_read_the_sentence_window(nlp_en):
    from conftest import make_doc

    words = ["Anna", "left", ".", "Acme", "hired", "her", "."]
    starts = [True, False, False, True, False, False, False]
    doc = make_doc(nlp_en, words, [(0, 1, "PER"), (3, 4, "ORG")], [(0, 1, "Work_For")], sent_starts=starts)
    one = count_candidates([doc])
    assert one["ordered"]["total"] == one["unordered"]["total"] == 0  # one entity per sentence
    two = count_candidates([doc], sentence_window=2)
    assert (two["ordered"]["total"], two["ordered"]["positive"], two["ordered"]["filtered_total"]) == (
        2,
        1,
        1,
    )
    assert (two["unordered"]["total"], two["unordered"]["filtered_positive"]) == (1, 1)
    # a filter given from outside is read as it is: (ORG, PER) keeps the ordered negative only
    given = count_candidates([doc], {("ORG", "PER")}, sentence_window=2)["ordered"]
    assert (given["filtered_total"], given["filtered_negative"], given["positive_removed_by_filter"]) == (
        1,
        1,
        1,
    )
