"""Inputs found in the field: nothing is skipped without a count, and errors name their reason.

brat ``.txt`` without ``.ann``, ``\\r\\n`` line ends, CoNLL04 whitespace tokens and items with tags and
entities, Prodigy texts that disagree with their tokens or spans beyond the text.
"""

import json
import shutil

import pytest
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.brat import BratSettings, NoBratDocumentsError, read_brat
from spacy_bio_rel.converters.conll04 import item_to_doc
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.relations import get_relations


def _brat(folder, nlp):
    report = ConversionReport()
    docs = []
    for src in read_brat(folder, BratSettings(), report):
        docs += build_docs(src, nlp, DocSettings(lang="zh"), report)
    return docs, report


def _summary(docs):
    ents = [(e.text, e.label_) for d in docs for e in d.ents]
    rels = sorted((r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d))
    return [d.text for d in docs], ents, rels


def _copy(fixtures, tmp_path, convert=lambda s: s):
    folder = tmp_path / "brat"
    folder.mkdir()
    for name in ("1.txt", "1.ann"):
        text = (fixtures / "brat" / name).read_text(encoding="utf-8")
        (folder / name).write_bytes(convert(text).encode("utf-8"))
    return folder


def test_brat_text_without_ann_is_counted(fixtures, tmp_path, nlp_zh):
    folder = _copy(fixtures, tmp_path)
    (folder / "2.txt").write_text("王五在上海。", encoding="utf-8")
    _, report = _brat(folder, nlp_zh)
    assert report.drops["missing_ann"] == 1
    assert "2.txt" in report.examples["missing_ann"][0]


def test_brat_folder_of_texts_only_says_so(tmp_path):
    (tmp_path / "1.txt").write_text("x", encoding="utf-8")
    with pytest.raises(NoBratDocumentsError, match=r"1 \.txt files without \.ann"):
        list(read_brat(tmp_path, BratSettings(), ConversionReport()))


def test_brat_crlf_files_read_like_lf(fixtures, tmp_path, nlp_zh):
    """Line ends converted after annotation (offsets count \\r\\n as one): read as \\n, noted."""
    lf_docs, lf_report = _brat(fixtures / "brat", nlp_zh)
    folder = _copy(fixtures, tmp_path, lambda s: s.replace("\n", "\r\n"))
    docs, report = _brat(folder, nlp_zh)
    assert _summary(docs) == _summary(lf_docs)
    assert report.drops == lf_report.drops
    assert report.notes["crlf_line_ends_normalised"] == 1


def test_brat_crlf_offsets_counting_both_characters_are_kept(fixtures, tmp_path, nlp_zh):
    """Annotated on the CRLF file (brat counts \\r\\n as two characters): the file is read as it is."""
    folder = tmp_path / "brat"
    folder.mkdir()
    lf = (fixtures / "brat" / "1.txt").read_text(encoding="utf-8")
    crlf = lf.replace("\n", "\r\n")
    (folder / "1.txt").write_bytes(crlf.encode("utf-8"))
    lines = []
    for i, (word, label) in enumerate(
        [("张三", "Person-Name"), ("李四", "Person-Name"), ("王五", "Person-Name")]
    ):
        start = crlf.index(word)
        lines.append(f"T{i + 1}\t{label} {start} {start + len(word)}\t{word}")
    (folder / "1.ann").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    docs, report = _brat(folder, nlp_zh)
    assert [e.text for d in docs for e in d.ents] == ["张三", "李四", "王五"]
    assert report.notes["crlf_line_ends_kept"] == 1 and not report.notes["text_mismatch"]


def test_brat_none_read_names_the_reason(fixtures, tmp_path):
    folder = tmp_path / "brat"
    folder.mkdir()
    text = "张三在北京工作。\n李四和王五是朋友。\n"
    (folder / "1.txt").write_text(text, encoding="utf-8")
    (folder / "1.ann").write_text(
        "T1\tPerson-Name 2 4\t张三\nT2\tLocation-Name 5 7\t北京\nT3\tPerson-Name 12 14\t李四\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        app, ["convert", "brat", str(folder), str(tmp_path / "out"), "--progress-every", "0"]
    )
    assert res.exit_code == 1
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "None of the 1 documents" in lines[0]
    assert "1 document_text_mismatch" in lines[0] and "1.ann" in lines[0]


def test_conll04_whitespace_tokens(nlp_en):
    report = ConversionReport()
    item = {
        "tokens": ["Anna", "\n", "works", "for", "Acme Corp", "."],
        "entities": [
            {"type": "Peop", "start": 0, "end": 1},
            {"type": "Org", "start": 4, "end": 5},
            {"type": "Misc", "start": 1, "end": 2},  # only the "\n" token
        ],
        "relations": [{"head": 0, "tail": 1, "type": "Work_For"}, {"head": 0, "tail": 2, "type": "X"}],
    }
    doc = item_to_doc(item, nlp_en.vocab, "f.json[0]", report)
    assert [t.text for t in doc] == ["Anna", "works", "for", "Acme", "Corp", "."]
    assert [(e.text, e.label_) for e in doc.ents] == [("Anna", "Peop"), ("Acme Corp", "Org")]
    assert [(r.head.text, r.label, r.tail.text) for r in get_relations(doc)] == [
        ("Anna", "Work_For", "Acme Corp")
    ]
    assert report.drops["whitespace_token"] == 1
    assert report.drops["entity_only_whitespace"] == 1
    assert report.drops["argument_left_out"] == 1
    assert report.notes["token_split_at_whitespace"] == 1


def test_conll04_whitespace_tokens_with_tags(nlp_en):
    report = ConversionReport()
    item = {"tokens": [" ", "Anna", "in", "New\tYork"], "tags": ["O", "U-Peop", "O", "U-Loc"]}
    doc = item_to_doc(item, nlp_en.vocab, "f.json[0]", report)
    assert [(e.text, e.label_) for e in doc.ents] == [("Anna", "Peop"), ("New York", "Loc")]
    assert report.drops["whitespace_token"] == 1 and report.notes["token_split_at_whitespace"] == 1


def test_conll04_tags_and_entities_noted(nlp_en):
    report = ConversionReport()
    item = {"tokens": ["Anna", "."], "tags": ["O", "O"], "entities": [{"type": "Peop", "start": 0, "end": 1}]}
    doc = item_to_doc(item, nlp_en.vocab, "f.json[0]", report)
    assert [e.text for e in doc.ents] == ["Anna"]
    assert report.notes["tags_ignored"] == 1


def _prodigy_task(text, words, spans):
    tokens, pos = [], 0
    for i, (w, ws) in enumerate(words):
        tokens.append({"text": w, "start": pos, "end": pos + len(w), "id": i, "ws": ws})
        pos += len(w) + ws
    return {"text": text, "tokens": tokens, "spans": spans, "relations": [], "answer": "accept"}


def test_prodigy_text_and_span_checks(tmp_path, nlp_en):
    words = [("Anna", True), ("joined", True), ("Acme", False), (".", False)]
    good = _prodigy_task("Anna joined Acme.", words, [])
    other_text = _prodigy_task("Anna left Acme.", words, [])
    beyond = _prodigy_task(
        "Anna joined Acme.",
        words,
        [
            {"start": 0, "end": 4, "token_start": 0, "token_end": 0, "label": "PER"},
            {"start": 12, "end": 40, "token_start": 2, "token_end": 2, "label": "ORG"},
        ],
    )
    shifted = _prodigy_task(
        "Anna joined Acme.", words, [{"start": 1, "end": 4, "token_start": 0, "token_end": 0, "label": "PER"}]
    )
    path = tmp_path / "rel.jsonl"
    path.write_text(
        "\n".join(json.dumps(t) for t in (good, other_text, beyond, shifted)) + "\n", encoding="utf-8"
    )
    report = ConversionReport()
    docs = [d for _, ds in read_prodigy(path, report, nlp_en.vocab) for d in ds]
    assert len(docs) == 3
    assert report.drops["text_disagrees_with_tokens"] == 1
    assert "character 5" in report.examples["text_disagrees_with_tokens"][0]
    assert report.drops["offsets_outside_text"] == 1
    assert [e.text for e in docs[1].ents] == ["Anna"]
    assert report.notes["span_characters_disagree_with_tokens"] == 1
    assert [e.text for e in docs[2].ents] == ["Anna"]


def test_shared_sanwen_crlf_copy_reads_the_same(tmp_path, nlp_zh):
    from conftest import REPO

    sanwen = REPO.parent / "shared" / "datasets" / "sanwen" / "dev"
    if not sanwen.is_dir():
        pytest.skip("no SanWen copy")
    names = sorted(p.stem for p in sanwen.glob("*.ann"))[:3]
    folder = tmp_path / "crlf"
    folder.mkdir()
    for stem in names:
        for suffix in (".txt", ".ann"):
            data = (sanwen / f"{stem}{suffix}").read_bytes()
            (folder / f"{stem}{suffix}").write_bytes(data.replace(b"\n", b"\r\n"))
    lf = tmp_path / "lf"
    lf.mkdir()
    for stem in names:
        for suffix in (".txt", ".ann"):
            shutil.copy(sanwen / f"{stem}{suffix}", lf)
    assert _summary(_brat(folder, nlp_zh)[0]) == _summary(_brat(lf, nlp_zh)[0])
