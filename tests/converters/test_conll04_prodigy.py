import pytest

from spacy_bio_rel.converters.conll04 import NoItemsError, decode_tags, read_conll04
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.relations import get_relations


def rels(docs):
    return [(r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d)]


def test_conll04_small(fixtures):
    report = ConversionReport()
    units = list(read_conll04(fixtures / "conll04/small.json", report))
    docs = [d for _, ds in units for d in ds]
    assert [u[0] for u in units] == ["101", "102", "103", "105"]
    assert [e.text for e in docs[0].ents] == ["John Smith", "Acme Corp", "Boston"]
    assert rels(docs[:3]) == [
        ("John Smith", "Work_For", "Acme Corp"),
        ("Acme Corp", "OrgBased_In", "Boston"),
        ("Mary", "Live_In", "New York City"),
        ("Oswald", "Kill", "Kennedy"),
    ]
    assert report.drops["unknown_argument_id"] == 1  # tail 5 in item 102
    assert report.drops["empty_document"] == 1  # item 104
    assert report.notes["malformed_tag_sequence"] == 1  # I-Loc with no B-
    assert [e.text for e in docs[3].ents] == ["Paris"]
    assert all(d[0].is_sent_start and d.has_annotation("SENT_START") for d in docs)


def test_decode_bio_and_bilou():
    r = ConversionReport()
    assert decode_tags(["B-A", "I-A", "O", "B-B", "B-B", "U-C"], "x", r) == [
        (0, 2, "A"),
        (3, 4, "B"),
        (4, 5, "B"),
        (5, 6, "C"),
    ]
    assert not r.notes


def test_conll04_missing_file(tmp_path):
    with pytest.raises(NoItemsError, match="does not exist"):
        list(read_conll04(tmp_path / "nope.json", ConversionReport()))


def test_prodigy(fixtures):
    report = ConversionReport()
    units = list(read_prodigy(fixtures / "prodigy/rel.jsonl", report))
    docs = [d for _, ds in units for d in ds]
    assert [u[0] for u in units] == ["eg1", "eg2"]
    assert [e.text for e in docs[0].ents] == ["Anna Berg", "Nordic Bank"]
    assert rels(docs) == [("Anna Berg", "WORKS_FOR", "Nordic Bank"), ("Bo", "VISITED", "Oslo")]
    assert report.drops["answer_reject"] == 1 and report.drops["answer_ignore"] == 1
    assert report.drops["malformed_json"] == 1
    assert report.drops["overlapping_entity"] == 1  # "Bank" inside "Nordic Bank"
    assert report.drops["argument_not_an_entity"] == 1
