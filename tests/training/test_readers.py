"""Reading DocBins: relations survive, and the msgpack registry shortcut is scoped."""

import pytest
import spacy
from conftest import make_doc
from spacy.tokens import DocBin
from srsly.msgpack import msgpack_decoders

from spacy_bio_rel.relations import USER_DATA_KEY
from spacy_bio_rel.training.readers import msgpack_decoders_looked_up_once, read_docbin_docs


def _docbin(tmp_path, nlp):
    docs = [
        make_doc(
            nlp,
            ["Anna", "works", "for", "Acme", "in", "Oslo", "."],
            [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC")],
            [(0, 1, "Work_For"), (1, 2, "Located_In")],
        ),
        make_doc(
            nlp, ["Bo", "lives", "in", "Rome", "."], [(0, 1, "PER"), (3, 4, "LOC")], [(0, 1, "Live_In")]
        ),
    ]
    path = tmp_path / "c.spacy"
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(path)
    return path


def test_read_docbin_docs_matches_plain_docbin(tmp_path):
    nlp = spacy.blank("en")
    path = _docbin(tmp_path, nlp)
    plain = list(DocBin().from_disk(path).get_docs(nlp.vocab))
    read = read_docbin_docs(path, nlp)
    assert [d.text for d in read] == [d.text for d in plain]
    assert [d.user_data for d in read] == [d.user_data for d in plain]
    assert [len(d.user_data[USER_DATA_KEY]) for d in read] == [2, 1]
    assert "get_all" not in vars(msgpack_decoders)  # the registry is itself again


def test_registry_restored_after_error_and_nested_use():
    with pytest.raises(RuntimeError):
        with msgpack_decoders_looked_up_once():
            assert "get_all" in vars(msgpack_decoders)
            raise RuntimeError("boom")
    assert "get_all" not in vars(msgpack_decoders)
    with msgpack_decoders_looked_up_once():
        with msgpack_decoders_looked_up_once():
            pass
        assert "get_all" in vars(msgpack_decoders)  # the outer block still holds it
    assert "get_all" not in vars(msgpack_decoders)
    assert msgpack_decoders.get_all() is not None


@pytest.mark.parametrize("content", [None, b"", b"\x00garbage", "half"])
def test_missing_empty_or_truncated_docbin_names_the_file(tmp_path, content):
    from spacy_bio_rel.training.readers import docs_from_docbin

    nlp = spacy.blank("en")
    path = tmp_path / "bad.spacy"
    if content == "half":
        data = _docbin(tmp_path, nlp).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(
        ValueError, match=r"DocBin file .*bad\.spacy (does not exist|is empty|cannot be read)"
    ):
        docs_from_docbin(path, nlp.vocab)


@pytest.mark.parametrize("ratio", [-1, float("nan"), "many"])
def test_a_negative_ratio_below_0_or_not_a_number_is_an_error(ratio):
    from spacy_bio_rel.training.readers import create_gold_ents_corpus

    with pytest.raises(ValueError, match="negative_ratio"):
        create_gold_ents_corpus(None, negative_ratio=ratio)


def _two_sentence_doc(nlp):
    """Anna works for Acme . | Bo met Carl at Globex .  Work_For: Anna -> Acme (in-sentence) and
    Bo -> Acme (across the boundary)."""
    words = ["Anna", "works", "for", "Acme", ".", "Bo", "met", "Carl", "at", "Globex", "."]
    ents = [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "PER"), (7, 8, "PER"), (9, 10, "ORG")]
    starts = [True] + [False] * 4 + [True] + [False] * 5
    return make_doc(nlp, words, ents, [(0, 1, "Work_For"), (2, 1, "Work_For")], sent_starts=starts)


# The type filter keeps (PER, ORG) only. Window 1: positive Anna->Acme; negatives Bo->Globex and
# Carl->Globex. Window 2 adds the positive Bo->Acme and the negatives Anna->Globex and Carl->Acme.
NEGATIVES = {
    1: {(5, 6, 9, 10), (7, 8, 9, 10)},
    2: {(5, 6, 9, 10), (7, 8, 9, 10), (0, 1, 9, 10), (7, 8, 3, 4)},
}


@pytest.mark.parametrize("window", [1, 2])
def test_negative_sampling_counts_the_candidates_of_the_sentence_window(window):
    from spacy_bio_rel.training.readers import sample_negatives

    doc = _two_sentence_doc(spacy.blank("en"))
    # ratio 0: every negative is skipped, so the skipped pairs are exactly the negatives
    (skip,) = sample_negatives([doc], 0.0, True, 0, sentence_window=window)
    assert {tuple(k) for k in skip} == NEGATIVES[window]
    # ratio 1: keep as many negatives as positives (1 at window 1, 2 at window 2)
    for seed in range(5):
        (skip,) = sample_negatives([doc], 1.0, True, seed, sentence_window=window)
        assert len(skip) == len(NEGATIVES[window]) - window
        assert {tuple(k) for k in skip} <= NEGATIVES[window]
    if window == 1:
        assert sample_negatives([doc], 1.0, True, 3) == sample_negatives(
            [doc], 1.0, True, 3, sentence_window=1
        )


def test_gold_ents_corpus_samples_with_its_sentence_window(tmp_path):
    from spacy_bio_rel.training.readers import SKIP_PAIRS_KEY, create_gold_ents_corpus

    nlp = spacy.blank("en")
    path = tmp_path / "c.spacy"
    DocBin(store_user_data=True, docs=[_two_sentence_doc(nlp)]).to_disk(path)
    for window in (1, 2):
        (eg,) = create_gold_ents_corpus(path, negative_ratio=0.0, sentence_window=window)(nlp)
        assert {tuple(k) for k in eg.predicted.user_data[SKIP_PAIRS_KEY]} == NEGATIVES[window]
    (eg,) = create_gold_ents_corpus(path, negative_ratio=0.0)(nlp)
    assert {tuple(k) for k in eg.predicted.user_data[SKIP_PAIRS_KEY]} == NEGATIVES[1]


@pytest.mark.parametrize("window", [0, -1, 1.5, True, "2"])
def test_a_reader_sentence_window_below_1_or_not_whole_is_an_error(window):
    from spacy_bio_rel.training.readers import create_gold_ents_corpus

    with pytest.raises(ValueError, match="sentence_window must be a whole number of at least 1"):
        create_gold_ents_corpus(None, sentence_window=window)
