"""Issue point 10: bad input is reported (file and item), counted, and the rest converted."""

import re
import shutil

import pytest

from spacy_bio_rel.converters.ace import AceSettings, NoDocumentsError
from spacy_bio_rel.converters.docs import DocSettings
from spacy_bio_rel.converters.pipeline import OutputSettings, convert_ace
from spacy_bio_rel.converters.report import ConversionReport

SRC = "ace/data/English/nw/timex2norm"


@pytest.fixture
def root(fixtures, tmp_path):
    folder = tmp_path / "ace" / "data" / "English" / "nw" / "timex2norm"
    folder.mkdir(parents=True)
    for f in (fixtures / SRC).iterdir():
        shutil.copy(f, folder / f.name)
    return tmp_path / "ace", folder


def add_copy(folder, stem, apf_edit=None, sgm_edit=None, sgm=True):
    apf = (folder / "FIX_EN_001.apf.xml").read_text(encoding="utf-8").replace("FIX_EN_001", stem)
    text = (folder / "FIX_EN_001.sgm").read_text(encoding="utf-8")
    (folder / f"{stem}.apf.xml").write_text(apf_edit(apf) if apf_edit else apf, encoding="utf-8")
    if sgm:
        (folder / f"{stem}.sgm").write_text(sgm_edit(text) if sgm_edit else text, encoding="utf-8")


def run(root, tmp_path):
    report = ConversionReport()
    convert_ace(root, OutputSettings(tmp_path / "out"), AceSettings(), DocSettings(), report)
    return report


def test_malformed_xml(root, tmp_path):
    add_copy(root[1], "BAD_XML", apf_edit=lambda s: s[: len(s) // 2])
    report = run(root[0], tmp_path)
    assert report.drops["malformed_xml"] == 1
    assert "BAD_XML.apf.xml" in report.examples["malformed_xml"][0]
    assert report.documents == 1 and sum(report.relations.values()) == 3


def test_missing_sgm(root, tmp_path):
    add_copy(root[1], "NO_TEXT", sgm=False)
    report = run(root[0], tmp_path)
    assert report.drops["missing_sgm"] == 1
    assert "NO_TEXT.sgm" in report.examples["missing_sgm"][0]
    assert report.documents == 1


def test_offsets_outside_text(root, tmp_path):
    def edit(s):  # move the first head of entity E6 (Max Reed) far outside the text
        return re.sub(
            r'(FIX_EN_002-E6-1".*?<head><charseq START=")\d+(" END=")\d+',
            r"\g<1>99990\g<2>99995",
            s,
            count=1,
            flags=re.S,
        )

    add_copy(root[1], "FIX_EN_002", apf_edit=edit)
    report = run(root[0], tmp_path)
    assert report.drops["offsets_outside_text"] == 1
    assert "FIX_EN_002" in report.examples["offsets_outside_text"][0]
    assert "FIX_EN_002-E6-1" in report.examples["offsets_outside_text"][0]
    assert report.documents == 2


def test_text_mismatch_reported(root, tmp_path):
    add_copy(
        root[1],
        "FIX_EN_002",
        apf_edit=lambda s: s.replace(">Jo Reed</charseq></head>", ">Jo Read</charseq></head>", 1),
    )
    report = run(root[0], tmp_path)
    assert report.notes["text_mismatch"] == 1
    assert "FIX_EN_002-E2-1" in report.examples["text_mismatch"][0]


def test_unknown_relation_argument(root, tmp_path):
    add_copy(
        root[1],
        "FIX_EN_002",
        apf_edit=lambda s: s.replace(
            'REFID="FIX_EN_002-E3-1" ROLE="Arg-2"', 'REFID="FIX_EN_002-E99-1" ROLE="Arg-2"'
        ),
    )
    report = run(root[0], tmp_path)
    assert report.drops["unknown_argument_id"] == 1
    assert "E99-1" in report.examples["unknown_argument_id"][0]
    assert "FIX_EN_002" in report.examples["unknown_argument_id"][0]


def test_empty_document(root, tmp_path):
    add_copy(root[1], "EMPTY", sgm_edit=lambda s: "<DOC>\n</DOC>\n")
    report = run(root[0], tmp_path)
    assert report.drops["empty_document"] == 1
    assert "EMPTY.sgm" in report.examples["empty_document"][0]
    assert report.documents == 1


def test_root_without_documents(tmp_path):
    (tmp_path / "empty" / "data" / "English").mkdir(parents=True)
    with pytest.raises(NoDocumentsError, match="No documents"):
        run(tmp_path / "empty", tmp_path)


def test_all_documents_bad_is_an_error(tmp_path):
    folder = tmp_path / "r" / "English" / "nw" / "timex2norm"
    folder.mkdir(parents=True)
    (folder / "X.apf.xml").write_text("<source_file><document", encoding="utf-8")
    (folder / "X.sgm").write_text("<DOC>text</DOC>", encoding="utf-8")
    with pytest.raises(NoDocumentsError, match="could be read"):
        run(tmp_path / "r", tmp_path)


def test_offset_not_a_number_skips_the_document(root, tmp_path):
    # END="abc" names file and mention; the other document still converts
    add_copy(
        root[1],
        "BAD_END",
        apf_edit=lambda s: re.sub(r'(<head><charseq START="\d+" END=")\d+', r"\g<1>abc", s, count=1),
    )
    report = run(root[0], tmp_path)
    assert report.drops["malformed_document"] == 1
    ex = report.examples["malformed_document"][0]
    assert "BAD_END.apf.xml" in ex and "END='abc'" in ex and "BAD_END-E1-1" in ex
    assert report.documents == 1 and sum(report.relations.values()) == 3


def test_exclude_relation_types(root, tmp_path):
    report = ConversionReport()
    convert_ace(
        root[0], OutputSettings(tmp_path / "out"), AceSettings(exclude=("PHYS",)), DocSettings(), report
    )
    assert report.drops["phys_excluded"] == 1 and "PHYS" not in report.relations


def test_unknown_declared_xml_encoding(root, tmp_path):
    # found by the fuzz test: ElementTree raises LookupError, not ParseError
    add_copy(root[1], "BAD_ENC", apf_edit=lambda s: s.replace('encoding="UTF-8"?>', 'encoding="UTF-1"?>', 1))
    assert 'encoding="UTF-1"' in (root[1] / "BAD_ENC.apf.xml").read_text(encoding="utf-8")
    report = run(root[0], tmp_path)
    assert report.drops["malformed_xml"] == 1 and "BAD_ENC.apf.xml" in report.examples["malformed_xml"][0]
    assert report.documents == 1
