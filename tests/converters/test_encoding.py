"""Strict decoding, byte order marks and untrustworthy offsets."""

import shutil

import pytest
from typer.testing import CliRunner

from spacy_bio_rel.cli.app import app
from spacy_bio_rel.converters.ace import AceSettings, read_ace_document
from spacy_bio_rel.converters.brat import BratSettings, read_brat
from spacy_bio_rel.converters.conll04 import read_conll04
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.textio import InputError
from spacy_bio_rel.relations import get_relations

TEXT = "张三在北京工作。李四住在上海。\n"
ANN = (
    "T1\tPerson-Name 0 2\t张三\nT2\tLocation-Name 3 5\t北京\nT3\tPerson-Name 8 10\t李四\n"
    "T4\tLocation-Name 12 14\t上海\nR1\tLocated Arg1:T1 Arg2:T2\nR2\tLocated Arg1:T3 Arg2:T4\n"
)


def brat(tmp_path, text_bytes, ann=ANN, **kw):
    folder = tmp_path / "b"
    folder.mkdir(exist_ok=True)
    (folder / "1.txt").write_bytes(text_bytes)
    (folder / "1.ann").write_text(ann, encoding=kw.get("encoding", "utf-8"))
    report = ConversionReport()
    docs = [
        d
        for src in read_brat(folder, BratSettings(**kw), report)
        for d in build_docs(src, __import__("spacy").blank("zh"), DocSettings(lang="zh"), report)
    ]
    return docs, report


def rels(docs):
    return sorted((r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d))


def test_brat_gbk_file_is_an_error_naming_file_byte_and_line(tmp_path):
    with pytest.raises(InputError, match=r"1\.txt: not valid utf-8 at byte 0 \(line 1\)"):
        brat(tmp_path, TEXT.encode("gbk"))
    docs, report = brat(tmp_path, TEXT.encode("gbk"), encoding="gbk")  # the right encoding converts
    assert rels(docs) == [("张三", "Located", "北京"), ("李四", "Located", "上海")]


def test_brat_byte_order_mark_keeps_offsets(tmp_path):
    docs, report = brat(tmp_path, b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert "text_mismatch" not in report.notes and not report.drops
    assert rels(docs) == [("张三", "Located", "北京"), ("李四", "Located", "上海")]


def test_brat_shifted_offsets_leave_the_document_out(tmp_path):
    with pytest.raises(ValueError, match="could be read"):  # the only document is left out
        brat(tmp_path, ("x" + TEXT).encode("utf-8"))
    folder = tmp_path / "b"
    shutil.copy(folder / "1.txt", folder / "2.txt")
    (folder / "2.txt").write_text(TEXT, encoding="utf-8")
    (folder / "2.ann").write_text(ANN, encoding="utf-8")
    report = ConversionReport()
    srcs = list(read_brat(folder, BratSettings(), report))
    assert [s.id for s in srcs] == ["2"] and report.drops["document_text_mismatch"] == 1
    assert "1.ann" in report.examples["document_text_mismatch"][0]
    assert "4 of 4" in report.examples["document_text_mismatch"][0]
    report = ConversionReport()
    assert len(list(read_brat(folder, BratSettings(max_mismatch=1.0), report))) == 2  # the option


def test_brat_cli_encoding_error_is_one_line(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.txt").write_bytes(TEXT.encode("gbk"))
    (tmp_path / "b" / "1.ann").write_text(ANN, encoding="gbk")
    res = CliRunner().invoke(app, ["convert", "brat", str(tmp_path / "b"), str(tmp_path / "out")])
    assert res.exit_code == 1 and "1.txt: not valid utf-8 at byte 0" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "out" / "b.spacy").exists()
    res = CliRunner().invoke(
        app, ["convert", "brat", str(tmp_path / "b"), str(tmp_path / "out"), "--encoding", "gbk"]
    )
    assert res.exit_code == 0, res.output


def test_conll04_and_prodigy_decode_strictly(tmp_path, fixtures):
    bad = tmp_path / "bad.json"
    bad.write_bytes('[{"tokens": ["caf\u00e9"], "tags": ["O"]}]'.encode("latin-1"))
    with pytest.raises(InputError, match=r"bad\.json: not valid utf-8 at byte 17 \(line 1\)"):
        list(read_conll04(bad, ConversionReport()))
    assert len(list(read_conll04(bad, ConversionReport(), encoding="latin-1"))) == 1
    lines = (fixtures / "prodigy/rel.jsonl").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[:2]).encode() + b"\n\xff\n")
    with pytest.raises(InputError, match=r"bad\.jsonl: not valid utf-8 at byte \d+ \(line 3\)"):
        list(read_prodigy(bad, ConversionReport()))
    bad.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines[:2]).encode() + b"\n")
    report = ConversionReport()
    assert len(list(read_prodigy(bad, report))) == 2 and "malformed_json" not in report.drops  # BOM removed


def test_ace_sgm_decoded_strictly(tmp_path, fixtures):
    src = fixtures / "ace/data/English/nw/timex2norm"
    for f in src.iterdir():
        shutil.copy(f, tmp_path / f.name)
    sgm = tmp_path / "FIX_EN_001.sgm"
    sgm.write_bytes(sgm.read_bytes().replace(b"Acme", b"Acm\xe9", 1))
    with pytest.raises(InputError, match=r"FIX_EN_001\.sgm: not valid utf-8 at byte \d+ \(line \d+\)"):
        read_ace_document(tmp_path / "FIX_EN_001.apf.xml", AceSettings(), ConversionReport())
    report = ConversionReport()
    assert (
        read_ace_document(tmp_path / "FIX_EN_001.apf.xml", AceSettings(encoding="latin-1"), report)
        is not None
    )
