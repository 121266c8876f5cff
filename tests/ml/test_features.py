import numpy
import pytest
import spacy
from conftest import make_doc

from spacy_bio_rel.candidates import iter_candidates
from spacy_bio_rel.ml.features import (
    TAG_B_UNK,
    TAG_I_UNK,
    TAG_O,
    UNK,
    Featurizer,
    TagVocab,
    UnitVocab,
    bio_tags,
    crop_window,
    featurize_sentence,
    window_span,
)


def test_bio_tags_from_all_entities():
    tv = TagVocab(["LOC", "PER"])
    tags = bio_tags(7, [(0, 2, "PER"), (3, 4, "LOC"), (5, 7, "WEA")], tv)
    b_per, b_loc = tv.b_id("PER"), tv.b_id("LOC")
    assert tags.tolist() == [b_per, b_per + 1, TAG_O, b_loc, TAG_O, TAG_B_UNK, TAG_I_UNK]


def test_overlapping_spans_keep_the_first_then_longest():
    tv = TagVocab(["A", "B"])
    tags = bio_tags(5, [(1, 3, "B"), (0, 4, "A"), (3, 5, "B")], tv)
    a = tv.b_id("A")
    # (0,4) starts first and wins; (1,3) and (3,5) overlap it and are not tagged
    assert tags.tolist() == [a, a + 1, a + 1, a + 1, TAG_O]


def test_unit_vocab_unknown_bucket():
    v = UnitVocab.build({"the": 3, "cat": 1, "sat": 2}, min_freq=2)
    assert v.strings == ["the", "sat"]
    assert v.lookup(["the", "cat", "dog"]).tolist() == [2, UNK, UNK]
    assert len(v) == 4


def test_token_features(nlp_en):
    doc = make_doc(nlp_en, ["Anna", "works", "for", "Big", "Acme"], [(0, 1, "PER"), (3, 5, "ORG")])
    tv = TagVocab(["ORG", "PER"])
    f = featurize_sentence(doc, (0, 5), UnitVocab(["anna", "for"]), tv, "token", lowercase=True)
    assert f.units.tolist() == [2, UNK, 3, UNK, UNK]
    assert f.ents == {(0, 1): (0, 1), (3, 5): (3, 5)}
    assert f.tags.tolist() == [tv.b_id("PER"), TAG_O, TAG_O, tv.b_id("ORG"), tv.b_id("ORG") + 1]


def test_char_features_ignore_the_tokenizer():
    nlp = spacy.blank("zh")  # character segmenter by default
    words = ["张三", "在", "北京大学", "工作"]  # a word-segmented Chinese Doc
    doc = make_doc(nlp, words, [(0, 1, "PER"), (2, 3, "ORG")])
    tv = TagVocab(["ORG", "PER"])
    vocab = UnitVocab(list("张三在北京大学工作"))
    f = featurize_sentence(doc, (0, 4), vocab, tv, "char", lowercase=False)
    assert len(f.units) == 9  # one unit per character
    assert f.ents == {(0, 1): (0, 2), (2, 3): (3, 7)}
    o = tv.b_id("ORG")
    assert f.tags.tolist() == [
        tv.b_id("PER"),
        tv.b_id("PER") + 1,
        TAG_O,
        o,
        o + 1,
        o + 1,
        o + 1,
        TAG_O,
        TAG_O,
    ]


def test_char_features_skip_whitespace(nlp_en):
    doc = make_doc(nlp_en, ["New", "York", "is", "big"], [(0, 2, "LOC")])
    f = featurize_sentence(doc, (0, 4), UnitVocab(), TagVocab(["LOC"]), "char", lowercase=True)
    assert len(f.units) == len("newyorkisbig")
    assert f.ents[(0, 2)] == (0, 7)


def test_crop_window():
    assert crop_window(10, (0, 1), (8, 9), 20) == ((0, 10),)
    ((lo, hi),) = crop_window(100, (40, 42), (50, 51), 20)
    assert hi - lo == 20 and lo <= 40 and hi >= 51
    assert crop_window(100, (0, 1), (2, 3), 20) == ((0, 20),)
    assert crop_window(100, (95, 96), (98, 99), 20) == ((80, 100),)
    assert crop_window(300, (10, 11), (29, 30), 20) == ((10, 30),)  # extent exactly max_length: one piece


def test_targets_further_apart_than_the_window_get_a_glued_window():
    pieces = crop_window(300, (10, 11), (250, 251), 20)
    assert len(pieces) == 2 and sum(hi - lo for lo, hi in pieces) == 20
    (a_lo, a_hi), (b_lo, b_hi) = pieces
    assert a_lo <= 10 < a_hi <= b_lo <= 250 < b_hi
    assert window_span(pieces, (10, 11)) == (10 - a_lo, 11 - a_lo)
    assert window_span(pieces, (250, 251)) == (10 + 250 - b_lo, 10 + 251 - b_lo)
    # either order, long targets, the ends of the sentence: pieces inside the sentence, never overlapping
    for a, b in [((250, 251), (0, 1)), ((0, 150), (160, 300)), ((0, 1), (5, 300)), ((290, 300), (0, 3))]:
        pieces = crop_window(300, a, b, 20)
        assert sum(hi - lo for lo, hi in pieces) == 20
        assert all(0 <= lo < hi <= 300 for lo, hi in pieces) and pieces[0][1] <= pieces[-1][0]
        for span in (a, b):
            s, e = window_span(pieces, span)
            assert 0 <= s < e <= 20


def test_a_201_token_sentence_with_targets_200_apart_featurizes(nlp_en):
    words = ["w"] * 201
    doc = make_doc(nlp_en, words, [(0, 1, "P"), (200, 201, "P")])
    cands = list(iter_candidates(doc, True))
    batch = Featurizer(UnitVocab(["w"]), TagVocab(["P"]), max_length=200)([doc], [cands])
    assert batch.words.shape == (1, 200)  # both orders share the glued window
    assert (batch.ent_end <= batch.lengths[batch.ent_sent]).all() and (batch.ent_start >= 0).all()


def test_a_whitespace_only_sentence_is_one_unknown_unit(nlp_en):
    from spacy.tokens import Doc, Span

    doc = Doc(nlp_en.vocab, words=[" ", "  "], spaces=[False, False])
    doc.ents = [Span(doc, 0, 1, "P"), Span(doc, 1, 2, "P")]
    f = featurize_sentence(doc, (0, 2), UnitVocab(), TagVocab(["P"]), "char", lowercase=True)
    assert f.units.tolist() == [UNK] and f.ents == {(0, 1): (0, 1), (1, 2): (0, 1)}
    cands = list(iter_candidates(doc, True))
    batch = Featurizer(UnitVocab(), TagVocab(["P"]), granularity="char", with_tokens=True)([doc], [cands])
    assert batch.lengths.tolist() == [1] and batch.unit_tokens.tolist() == [[0]]
    assert batch.ent_start.tolist() == [0] and batch.ent_end.tolist() == [1] and batch.n_pairs == 2


def test_max_length_below_two_is_refused():
    with pytest.raises(ValueError, match="max_length must be at least 2"):
        Featurizer(UnitVocab(), TagVocab(), max_length=1)


def test_featurizer_batch_shares_sentences(nlp_en):
    doc = make_doc(nlp_en, ["A", "x", "B", "y", "C"], [(0, 1, "P"), (2, 3, "P"), (4, 5, "P")])
    cands = list(iter_candidates(doc, True))
    fz = Featurizer(UnitVocab(["a", "b", "c"]), TagVocab(["P"]), max_length=50)
    batch = fz([doc], [cands])
    assert batch.words.shape == (1, 5)  # one sentence for six pairs
    assert batch.n_pairs == 6 and len(batch.ent_start) == 3
    for c, e1, e2 in zip(cands, batch.pair_e1, batch.pair_e2):
        assert (batch.ent_start[e1], batch.ent_end[e1]) == c.head
        assert (batch.ent_start[e2], batch.ent_end[e2]) == c.tail


def test_featurizer_crops_long_sentences(nlp_en):
    words = [f"w{i}" for i in range(300)]
    doc = make_doc(nlp_en, words, [(5, 6, "P"), (10, 12, "P"), (290, 291, "P")])
    cands = list(iter_candidates(doc, True))
    batch = Featurizer(UnitVocab(), TagVocab(["P"]), max_length=32)([doc], [cands])
    assert batch.words.shape[1] == 32
    assert (batch.lengths <= 32).all()
    assert batch.n_pairs == 6
    # empty input
    empty = Featurizer(UnitVocab(), TagVocab())([], [])
    assert empty.n_pairs == 0 and numpy.asarray(empty.words).shape[0] == 0


def test_each_character_reads_the_vector_of_its_token(nlp_en):
    from spacy_bio_rel.ml.features import unit_token_index

    doc = make_doc(nlp_en, ["Anna", "met", "Bo", "."], [(0, 1, "P"), (2, 3, "P")])
    assert unit_token_index(doc, (0, 4), "char").tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    assert unit_token_index(doc, (1, 3), "token").tolist() == [1, 2]
    cands = list(iter_candidates(doc, True))
    batch = Featurizer(UnitVocab(), TagVocab(["P"]), granularity="char", with_tokens=True)(
        [doc, doc], [cands, cands]
    )
    # rows of the second Doc's tokens come after the first Doc's 4 tokens
    assert batch.unit_tokens[0, :10].tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 3]
    assert batch.unit_tokens[1, :10].tolist() == [4, 4, 4, 4, 5, 5, 5, 6, 6, 7]


def _two_sentences(nlp):
    # "Anna left . Acme hired Bert ." : the second sentence starts with an entity
    words = ["Anna", "left", ".", "Acme", "hired", "Bert", "."]
    starts = [True, False, False, True, False, False, False]
    return make_doc(nlp, words, [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "PER")], sent_starts=starts)


def test_window_one_features_are_those_without_a_boundary_tag(nlp_en):
    doc = _two_sentences(nlp_en)
    cands = list(iter_candidates(doc, True))
    plain = Featurizer(UnitVocab(["anna"]), TagVocab(["ORG", "PER"]))([doc], [cands])
    marked = Featurizer(UnitVocab(["anna"]), TagVocab(["ORG", "PER"], sentence_boundary=True))([doc], [cands])
    for field in ("words", "tags", "lengths", "ent_sent", "ent_start", "ent_end", "pair_e1", "pair_e2"):
        assert numpy.array_equal(getattr(plain, field), getattr(marked, field)), field
    assert len(TagVocab(["ORG", "PER"])) == 8 and len(TagVocab(["ORG", "PER"], sentence_boundary=True)) == 9


def test_a_covering_span_is_read_as_one_sequence_with_the_boundary_marked(nlp_en):
    doc = _two_sentences(nlp_en)
    tv = TagVocab(["ORG", "PER"], sentence_boundary=True)
    cands = [
        c for c in iter_candidates(doc, True, sentence_window=2) if c.head == (0, 1) and c.tail == (5, 6)
    ]
    batch = Featurizer(UnitVocab(), tv)([doc], [cands])
    assert batch.lengths.tolist() == [7]  # both sentences, all their entities tagged
    b_per, b_org = tv.b_id("PER"), tv.b_id("ORG")
    # the second sentence starts with Acme (an entity): the marker goes on the "." before it
    assert batch.tags[0].tolist() == [b_per, TAG_O, tv.boundary_id, b_org, TAG_O, b_per, TAG_O]
    assert (batch.ent_start[batch.pair_e1[0]], batch.ent_start[batch.pair_e2[0]]) == (0, 5)
    words = ["Anna", "left", ".", "Then", "Bert", "came", "."]
    doc = make_doc(nlp_en, words, [(0, 1, "PER"), (4, 5, "PER")], sent_starts=[True, 0, 0, 1, 0, 0, 0])
    tags = featurize_sentence(doc, (0, 7), UnitVocab(), tv, "token", True, None, False, [3]).tags
    assert tags.tolist() == [b_per, TAG_O, TAG_O, tv.boundary_id, b_per, TAG_O, TAG_O]


def test_a_long_covering_span_is_cropped_around_its_targets(nlp_en):
    words = [f"w{i}" for i in range(60)] + ["."] + [f"v{i}" for i in range(60)]
    starts = [i in (0, 61) for i in range(len(words))]
    doc = make_doc(nlp_en, words, [(2, 3, "P"), (100, 101, "P")], sent_starts=starts)
    cands = list(iter_candidates(doc, True, sentence_window=2))
    assert [c.sent for c in cands] == [(0, 121), (0, 121)]
    batch = Featurizer(UnitVocab(), TagVocab(["P"], sentence_boundary=True), max_length=32)([doc], [cands])
    assert (batch.lengths <= 32).all() and batch.n_pairs == 2  # a glued window around both targets
