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
