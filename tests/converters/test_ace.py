from pathlib import Path

import pytest
from spacy.tokens import DocBin

from spacy_bio_rel.converters.ace import AceSettings, NoDocumentsError, find_apf_files, read_ace_document
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.relations import get_relations

EN_APF = "ace/data/English/nw/timex2norm/FIX_EN_001.apf.xml"
ZH_APF = "ace/data/Chinese/nw/adj/FIX_ZH_001.apf.xml"


def convert(fixtures, nlp, path=EN_APF, lang="en", **kw):
    names = ("boundary_fix", "unit", "sentences", "max_sentence_distance")
    doc_kw = {k: kw.pop(k) for k in names if k in kw}
    report = ConversionReport()
    src = read_ace_document(fixtures / path, AceSettings(language=lang, **kw), report)
    docs = build_docs(src, nlp, DocSettings(lang=lang, **doc_kw), report)
    return src, docs, report


def rels(docs):
    return sorted((r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d))


def test_mentions_match_text_and_amp(fixtures, nlp_en):
    src, docs, report = convert(fixtures, nlp_en)
    assert "text_mismatch" not in report.notes
    texts = {src.text[m.start : m.end] for m in src.mentions}
    assert "Acme & Sons" in texts
    ents = [e.text for d in docs for e in d.ents]
    assert ents.count("Acme & Sons") == 2


def test_heads_default_and_relations(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en)
    assert rels(docs) == sorted(
        [("She", "ORG-AFF", "Norland"), ("head", "ORG-AFF", "Acme & Sons"), ("Jo Reed", "PHYS", "Brackton")]
    )
    assert report.drops["metonymy_excluded"] == 1
    assert report.drops["cross_sentence_relation"] == 1  # She -> Max Reed
    assert report.drops["timex_mention_excluded"] == 1
    assert report.notes["non_pair_argument_ignored"] == 1  # Time-Within
    for d in docs:
        assert d.has_annotation("SENT_START")


def test_extents_nested_overlap_counted(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en, span="extent")
    ents = [e.text for d in docs for e in d.ents]
    assert "the head of Acme & Sons" in ents
    assert ents.count("Acme & Sons") == 1  # the nested one is dropped
    assert report.drops["overlapping_entity"] >= 1
    # the relation between the nested mentions loses an argument, counted
    assert report.drops["argument_lost_to_overlap"] >= 1


def test_metonymy_in(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en, metonymy=True)
    assert ("Brackton", "METONYMY", "council") in rels(docs)
    assert "metonymy_excluded" not in report.drops


def test_boundary_inside_token_split_or_expand(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en)
    assert report.notes["token_split_at_mention_boundary"] == 1
    assert "Norland" in [e.text for d in docs for e in d.ents]
    _, docs, report = convert(fixtures, nlp_en, boundary_fix="expand")
    assert report.notes["span_expanded_to_tokens"] == 1
    assert "NorlandAir" in [e.text for d in docs for e in d.ents]


def test_document_unit_keeps_offsets(fixtures, nlp_en):
    src, docs, _ = convert(fixtures, nlp_en, unit="document")
    assert len(docs) == 1 and docs[0].text == src.text
    for e in docs[0].ents:
        assert e.start_char >= 0 and src.text[e.start_char : e.end_char] == e.text


def test_timex_and_values_option(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en, timex=True)
    assert "yesterday" in [e.text for d in docs for e in d.ents if e.label_ == "TIMEX2"]
    assert "timex_mention_excluded" not in report.drops


def test_chinese_characters(fixtures, nlp_zh):
    _, docs, report = convert(fixtures, nlp_zh, path=ZH_APF, lang="zh")
    for d in docs:
        assert all(len(t.text) == 1 for t in d)
    sents = [d.text for d in docs]
    assert "王明在北京工作。" in sents and "他是北京大学的老师！" in sents and "李华是王明的妻子？" in sents
    assert rels(docs) == sorted(
        [("他", "ORG-AFF", "大学"), ("李华", "PER-SOC", "王明"), ("王明", "PHYS", "北京")]
    )
    assert not report.drops


def test_root_forms(fixtures):
    s = AceSettings()
    for root in (fixtures / "ace", fixtures / "ace/data", fixtures / "ace/data/English"):
        assert [p.name for p in find_apf_files(root, s)] == ["FIX_EN_001.apf.xml"]
    assert [p.name for p in find_apf_files(fixtures / "ace", AceSettings(language="zh"))] == [
        "FIX_ZH_001.apf.xml"
    ]
    with pytest.raises(NoDocumentsError, match="sub-folder"):
        find_apf_files(fixtures / "ace", AceSettings(subfolder="fp1"))


def test_sample_converts_with_splits(tmp_path):
    from spacy_bio_rel.converters.pipeline import OutputSettings, convert_ace

    sample = Path(__file__).resolve().parents[2] / "assets" / "ace_sample"
    out = OutputSettings(
        tmp_path,
        name="sample",
        id_lists={"train": sample / "en_train_ids.txt", "dev": sample / "en_dev_ids.txt"},
    )
    report = convert_ace(sample, out, AceSettings(), DocSettings())
    assert report.documents == 6 and not report.drops.get("document_in_no_split")
    assert set(report.splits) == {"train", "dev"}
    assert report.drops["metonymy_excluded"] == 1
    docs = list(DocBin().from_disk(tmp_path / "dev.spacy").get_docs(__import__("spacy").blank("en").vocab))
    assert sum(len(get_relations(d)) for d in docs) == report.splits["dev"]["relations"] > 0
    assert (tmp_path / "sample.report.json").exists()


def test_cross_sentence_relations_within_the_distance_are_kept_and_counted(fixtures, nlp_en):
    _, docs, report = convert(fixtures, nlp_en, unit="document")
    assert report.stats["cross_sentence_relations_dropped_at_distance_1"] == 1  # She -> Max Reed
    assert ("She", "PER-SOC", "Max Reed") not in rels(docs)
    _, docs, report = convert(fixtures, nlp_en, unit="document", max_sentence_distance=1)
    assert "cross_sentence_relation" not in report.drops
    assert report.stats["cross_sentence_relations_kept_at_distance_1"] == 1
    kept = [r for r in get_relations(docs[0]) if (r.head.text, r.tail.text) == ("She", "Max Reed")]
    assert len(kept) == 1 and kept[0].head.sent != kept[0].tail.sent
    assert ("She", "PER-SOC", "Max Reed") in rels(docs) and len(rels(docs)) == 4
