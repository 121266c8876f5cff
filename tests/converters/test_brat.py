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
    assert [d.text for d in docs] == [
        "张三在北京工作。",
        "他的妹妹住在上海！",
        "李四和王五是朋友?",
        "老人走了",
        "很远。",
    ]
    ents = [e.text for d in docs for e in d.ents]
    assert ents == ["张三", "北京", "他的妹妹", "上海", "李四", "王五", "朋友"]
    rels = sorted((r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d))
    assert rels == [("他的妹妹", "Located", "上海"), ("张三", "Located", "北京"), ("李四", "Social", "王五")]


def test_everything_left_out_is_counted(fixtures, nlp_zh):
    _, report = convert(fixtures, nlp_zh)
    assert report.drops == {
        "discontinuous_entity": 1,  # T9
        "entity_crosses_sentence": 1,  # T10, its text continued on the next .ann line
        "overlapping_entity": 1,  # T3 inside T4 (same start, the longer kept)
        "cross_sentence_relation": 1,  # R2
        "coreference_excluded": 1,  # R5
        "argument_left_out": 1,  # R6 uses the discontinuous T9
        "unknown_argument_id": 1,  # R7 -> T99
    }
    assert report.notes["text_mismatch"] == 1 and "T8" in report.examples["text_mismatch"][0]
    assert report.notes["skipped_coreference_set_line"] == 1
    assert report.notes["skipped_annotator_note_line"] == 1
    assert report.notes["entity_text_continued_on_next_line"] == 1
    assert "1.ann" in report.examples["discontinuous_entity"][0]


def test_duplicate_entity_id_is_left_out(tmp_path, nlp_zh):
    # found by the fuzz test: a second T1 made R1 point at a span that was not kept
    (tmp_path / "1.txt").write_text("张三在北京工作。", encoding="utf-8")
    (tmp_path / "1.ann").write_text(
        "T1\tPerson-Name 0 2\t张三\nT2\tLocation-Name 3 5\t北京\n"
        "T1\tPerson-Name 0 1\t张\nR1\tLocated Arg1:T1 Arg2:T2\n",
        encoding="utf-8",
    )
    report = ConversionReport()
    docs = [
        d
        for src in read_brat(tmp_path, BratSettings(), report)
        for d in build_docs(src, nlp_zh, DocSettings(lang="zh"), report)
    ]
    assert (
        report.drops["duplicate_mention_id"] == 1
        and "1.ann mention T1" in report.examples["duplicate_mention_id"][0]
    )
    assert [(r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d)] == [
        ("张三", "Located", "北京")
    ]


def _brat(tmp_path, text, ann):
    (tmp_path / "1.txt").write_text(text, encoding="utf-8")
    (tmp_path / "1.ann").write_text(ann, encoding="utf-8")
    return next(read_brat(tmp_path, BratSettings(), ConversionReport()))


def test_relations_up_to_the_sentence_distance_are_kept_and_counted_by_distance(tmp_path, nlp_zh):
    import pytest
    from spacy.tokens import DocBin

    src = _brat(
        tmp_path,
        "张三在北京。李四很好。王五在上海。",
        "T1\tPer 0 2\t张三\nT2\tLoc 3 5\t北京\nT3\tPer 6 8\t李四\nT4\tPer 11 13\t王五\n"
        "R1\tLocated Arg1:T1 Arg2:T2\nR2\tSocial Arg1:T3 Arg2:T1\nR3\tSocial Arg1:T1 Arg2:T4\n",
    )
    by_distance = {}
    for k in (0, 1, 2):
        report = ConversionReport()
        (doc,) = build_docs(
            src, nlp_zh, DocSettings(lang="zh", unit="document", max_sentence_distance=k), report
        )
        by_distance[k] = sorted((r.head.text, r.tail.text) for r in get_relations(doc))
        stats = {key: n for key, n in report.stats.items() if key.startswith("cross_sentence")}
        assert report.drops.get("cross_sentence_relation", 0) == 2 - k
        if k == 1:
            assert stats == {
                "cross_sentence_relations_kept_at_distance_1": 1,
                "cross_sentence_relations_dropped_at_distance_2": 1,
            }
    assert by_distance[0] == [("张三", "北京")]
    assert by_distance[1] == sorted([("张三", "北京"), ("李四", "张三")])
    assert by_distance[2] == sorted([("张三", "北京"), ("李四", "张三"), ("张三", "王五")])
    # stored as ordinary relations (character offsets): a DocBin round trip reads them back
    (back,) = DocBin(store_user_data=True, docs=[doc]).get_docs(nlp_zh.vocab)
    assert sorted((r.head.text, r.tail.text) for r in get_relations(back)) == by_distance[2]
    with pytest.raises(ValueError, match="use unit 'document'"):
        DocSettings(lang="zh", max_sentence_distance=1)
    with pytest.raises(ValueError, match="max_sentence_distance must be a whole number of at least 0"):
        DocSettings(lang="zh", unit="document", max_sentence_distance=-1)


def test_the_report_counts_candidates_at_the_window_the_kept_relations_need(tmp_path):
    import json

    from spacy_bio_rel.converters.pipeline import OutputSettings, convert_brat

    src = tmp_path / "src"
    src.mkdir()
    # sentences: 张三 北京 | 李四 | 王五 上海; Located in-sentence, Social 1 and 2 sentences apart
    (src / "1.txt").write_text("张三在北京。李四很好。王五在上海。", encoding="utf-8")
    (src / "1.ann").write_text(
        "T1\tPer 0 2\t张三\nT2\tLoc 3 5\t北京\nT3\tPer 6 8\t李四\nT4\tPer 11 13\t王五\nT5\tLoc 14 16\t上海\n"
        "R1\tLocated Arg1:T1 Arg2:T2\nR2\tSocial Arg1:T3 Arg2:T1\nR3\tSocial Arg1:T1 Arg2:T4\n",
        encoding="utf-8",
    )
    splits, tables = {}, {}
    for k in (0, 1):
        settings = DocSettings(lang="zh", unit="document", max_sentence_distance=k)
        report = convert_brat(src, OutputSettings(tmp_path / f"k{k}"), BratSettings(), settings)
        splits[k] = json.loads((tmp_path / f"k{k}" / "all.report.json").read_text(encoding="utf-8"))["splits"]
        tables[k] = report.format_table()
    keys = ("total", "positive", "filtered_total", "filtered_positive", "positive_removed_by_filter")
    # K = 0: in-sentence pairs only (2 in the first sentence, 2 in the last), Located the one positive;
    # the filter keeps (Per, Loc) ordered
    assert splits[0]["all"]["candidates_sentence_window"] == 1
    assert [splits[0]["all"]["candidates"]["ordered"][key] for key in keys] == [4, 1, 2, 1, 0]
    assert [splits[0]["all"]["candidates"]["unordered"][key] for key in keys] == [2, 1, 2, 1, 0]
    assert "  candidates (type filter learned from itself):" in tables[0]
    # K = 1, window 2: also the pairs of neighbouring sentences (4 + 4 ordered), Social 李四 -> 张三 a
    # positive; the filter learns (Per, Per) too and drops only Loc -> Per
    assert splits[1]["all"]["candidates_sentence_window"] == 2
    assert [splits[1]["all"]["candidates"]["ordered"][key] for key in keys] == [12, 2, 8, 2, 0]
    assert [splits[1]["all"]["candidates"]["unordered"][key] for key in keys] == [6, 2, 6, 2, 0]
    assert "  candidates (sentence_window 2, cross-sentence pairs included; type filter" in tables[1]
