from spacy_bio_rel.converters.brat import BratSettings, read_brat
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.relations import get_relations


def convert(fixtures, nlp):
    report = ConversionReport()
    docs = []
    for src in read_brat(fixtures / "brat", BratSettings(), report):
        docs += build_docs(src, nlp, DocSettings(lang="zh"), report)
    return docs, report


def test_sentences_entities_relations(fixtures, nlp_zh):
    docs, report = convert(fixtures, nlp_zh)
    assert [d.text for d in docs] == ["张三在北京工作。", "他的妹妹住在上海！", "李四和王五是朋友?", "老人走了", "很远。"]
    ents = [e.text for d in docs for e in d.ents]
    assert ents == ["张三", "北京", "他的妹妹", "上海", "李四", "王五", "朋友"]
    rels = sorted((r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d))
    assert rels == [("他的妹妹", "Located", "上海"), ("张三", "Located", "北京"), ("李四", "Social", "王五")]


def test_everything_left_out_is_counted(fixtures, nlp_zh):
    _, report = convert(fixtures, nlp_zh)
    assert report.drops == {
        "discontinuous_entity": 1,       # T9
        "entity_crosses_sentence": 1,    # T10, its text continued on the next .ann line
        "overlapping_entity": 1,         # T3 inside T4 (same start, the longer kept)
        "cross_sentence_relation": 1,    # R2
        "coreference_excluded": 1,       # R5
        "argument_left_out": 1,          # R6 uses the discontinuous T9
        "unknown_argument_id": 1,        # R7 -> T99
    }
    assert report.notes["text_mismatch"] == 1 and "T8" in report.examples["text_mismatch"][0]
    assert report.notes["skipped_coreference_set_line"] == 1
    assert report.notes["skipped_annotator_note_line"] == 1
    assert report.notes["entity_text_continued_on_next_line"] == 1
    assert "1.ann" in report.examples["discontinuous_entity"][0]
