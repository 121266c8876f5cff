"""Seeded property-based fuzzing of every reader.

Valid fixture inputs are mutated (truncated, offsets swapped, JSON values
replaced by values of other types, random bytes written over or inserted).
Each reader must either convert, counting what it leaves out, or raise one of
the project's input errors naming the file: never another exception, and
never an entity whose text is not the document's text at its offsets.
"""

import json
import re
import tempfile
from pathlib import Path

import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin

from spacy_bio_rel.converters.ace import AceSettings, NoDocumentsError, read_ace_document
from spacy_bio_rel.converters.brat import BratSettings, NoBratDocumentsError, read_brat
from spacy_bio_rel.converters.conll04 import NoItemsError, read_conll04
from spacy_bio_rel.converters.docs import DocSettings, build_docs
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.converters.textio import InputError
from spacy_bio_rel.relations import get_relations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECT_ERRORS = (InputError, NoItemsError, NoBratDocumentsError, NoDocumentsError)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NLP = {"en": spacy.blank("en"), "zh": spacy.blank("zh")}
OTHER_VALUES = [None, True, -1, 2.5, 10**6, "", "abc", "3", [], [1, "x"], {}, {"type": "X"}]


@st.composite
def byte_mutation(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "overwrite", "insert", "swap_numbers"]))
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:at]
    if kind == "swap_numbers":  # swap two numbers (offsets) of the file
        numbers = list(re.finditer(rb"\d+", data))
        if len(numbers) < 2:
            return data
        i, j = sorted(draw(st.lists(st.integers(0, len(numbers) - 1), min_size=2, max_size=2, unique=True)))
        a, b = numbers[i], numbers[j]
        return data[: a.start()] + b.group() + data[a.end() : b.start()] + a.group() + data[b.end() :]
    noise = draw(st.binary(min_size=1, max_size=8))
    if kind == "insert":
        return data[:at] + noise + data[at:]
    return data[:at] + noise + data[at + len(noise) :]


@st.composite
def json_mutation(draw, value):
    """``value`` with one nested value replaced by one of another type (or removed)."""
    paths = []

    def walk(v, path):
        paths.append(path)
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, path + [k])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, path + [i])

    walk(value, [])
    path = draw(st.sampled_from(paths[1:]))
    value = json.loads(json.dumps(value))
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(st.sampled_from(OTHER_VALUES))
    return value


@st.composite
def attribute_mutation(draw, data: bytes) -> bytes:
    """One START/END attribute of the XML given a value that is not a valid offset."""
    found = list(re.finditer(rb'(START|END)="(\d+)"', data))
    m = draw(st.sampled_from(found))
    value = draw(st.sampled_from([b"abc", b"", b"-5", b"1e3", b"99999", b"3.5", b" 7"]))
    return data[: m.start(2)] + value + data[m.end(2) :]


def mutated_bytes(original: bytes, json_lines=False, json_list=False, xml=False):
    options = [byte_mutation(original)]
    if xml:
        options.append(attribute_mutation(original))
    if json_list:
        options.append(json_mutation(json.loads(original)).map(lambda v: json.dumps(v).encode()))
    if json_lines:
        lines = original.decode().splitlines()
        good = [i for i, line in enumerate(lines) if line.startswith("{") and line.rstrip().endswith("}")]
        options.append(
            st.tuples(st.sampled_from(good), st.data()).map(
                lambda t: "\n".join(
                    json.dumps(t[1].draw(json_mutation(json.loads(lines[t[0]])))) if i == t[0] else line
                    for i, line in enumerate(lines)
                ).encode()
            )
        )
    return st.one_of(*options)


def check_decoded(text: str, raw: bytes) -> None:
    """Decoding is strict: no replacement character that the file does not hold."""
    assert "\ufffd" not in text or "\ufffd".encode() in raw


def check_error(error: Exception, name: str) -> None:
    assert isinstance(error, PROJECT_ERRORS), f"{type(error).__name__}: {error}"
    assert name in str(error), str(error)


def check_docs(docs, report: ConversionReport, text=None, mentions=None) -> None:
    db = DocBin(store_user_data=True)
    for doc in docs:
        ents = {(e.start, e.end, e.label_) for e in doc.ents}
        for e in doc.ents:
            assert e.text and e.text == doc.text[e.start_char : e.end_char]
            if text is not None:  # offset formats: the entity is a mention's text at its offsets
                assert e.text == text[e.start_char : e.end_char]
                assert (e.start_char, e.end_char, e.label_) in mentions
        for r in get_relations(doc):
            assert (r.head.start, r.head.end, r.head.label_) in ents and (
                r.tail.start,
                r.tail.end,
                r.tail.label_,
            ) in ents
        db.add(doc)
    back = list(DocBin().from_bytes(db.to_bytes()).get_docs(NLP["en"].vocab))
    assert [len(get_relations(d)) for d in back] == [len(get_relations(d)) for d in docs]
    assert all(n > 0 for n in report.drops.values()) and set(report.drops) <= set(report.examples)


def trimmed(src):
    out = set()
    for m in src.mentions:
        s, e = m.start, m.end
        while s < e and src.text[s].isspace():
            s += 1
        while e > s and src.text[e - 1].isspace():
            e -= 1
        out.add((s, e, m.label))
    return out


BRAT_TXT = (FIXTURES / "brat" / "1.txt").read_bytes()
BRAT_ANN = (FIXTURES / "brat" / "1.ann").read_bytes()


@FUZZ
@given(which=st.sampled_from(["txt", "ann"]), data=st.data())
def test_fuzz_brat(which, data):
    original = BRAT_TXT if which == "txt" else BRAT_ANN
    mutated = data.draw(mutated_bytes(original))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "b"
        folder.mkdir()
        (folder / "1.txt").write_bytes(mutated if which == "txt" else BRAT_TXT)
        (folder / "1.ann").write_bytes(mutated if which == "ann" else BRAT_ANN)
        report = ConversionReport()
        try:
            for src in read_brat(folder, BratSettings(), report):
                check_decoded(src.text, mutated)
                docs = build_docs(src, NLP["zh"], DocSettings(lang="zh", unit="document"), report)
                assert all(d.text == src.text for d in docs)
                check_docs(docs, report, src.text, trimmed(src))
        except PROJECT_ERRORS as e:
            check_error(e, "b" if isinstance(e, NoBratDocumentsError) else f"1.{which}")


CONLL = (FIXTURES / "conll04" / "small.json").read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_conll04(data):
    mutated = data.draw(mutated_bytes(CONLL, json_list=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.json"
        path.write_bytes(mutated)
        report = ConversionReport()
        try:
            docs = [d for _, ds in read_conll04(path, report, NLP["en"].vocab) for d in ds]
            check_docs(docs, report)
        except PROJECT_ERRORS as e:
            check_error(e, "c.json")


PRODIGY = (FIXTURES / "prodigy" / "rel.jsonl").read_bytes()


@FUZZ
@given(data=st.data())
def test_fuzz_prodigy(data):
    mutated = data.draw(mutated_bytes(PRODIGY, json_lines=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jsonl"
        path.write_bytes(mutated)
        report = ConversionReport()
        try:
            docs = [d for _, ds in read_prodigy(path, report, NLP["en"].vocab) for d in ds]
            check_docs(docs, report)
        except PROJECT_ERRORS as e:
            check_error(e, "p.jsonl")


ACE_DIR = FIXTURES / "ace" / "data" / "English" / "nw" / "timex2norm"
ACE = {s: (ACE_DIR / f"FIX_EN_001.{s}").read_bytes() for s in ("apf.xml", "sgm")}


@FUZZ
@given(which=st.sampled_from(["apf.xml", "sgm"]), data=st.data())
def test_fuzz_ace(which, data):
    mutated = data.draw(mutated_bytes(ACE[which], xml=which == "apf.xml"))
    with tempfile.TemporaryDirectory() as tmp:
        for suffix, content in ACE.items():
            (Path(tmp) / f"FIX_EN_001.{suffix}").write_bytes(mutated if suffix == which else content)
        report = ConversionReport()
        try:
            src = read_ace_document(Path(tmp) / "FIX_EN_001.apf.xml", AceSettings(), report)
            if src is None:
                assert sum(report.drops.values()) > 0
                return
            check_decoded(src.text, mutated)
            docs = build_docs(src, NLP["en"], DocSettings(lang="en", unit="document"), report)
            assert all(d.text == src.text for d in docs)
            check_docs(docs, report, src.text, trimmed(src))
        except PROJECT_ERRORS as e:
            check_error(e, f"FIX_EN_001.{which}")
