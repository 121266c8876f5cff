"""The shared checks (checks.py) and the readers' robustness."""

import json

import spacy
from spacy.tokens import Span

from spacy_bio_rel.converters.checks import check_relations, resolve_overlaps
from spacy_bio_rel.converters.conll04 import read_conll04
from spacy_bio_rel.converters.prodigy import read_prodigy
from spacy_bio_rel.converters.report import ConversionReport
from spacy_bio_rel.relations import get_relations


def rels(docs):
    return [(r.head.text, r.label, r.tail.text) for d in docs for r in get_relations(d)]


def conll(tmp_path, items, **kw):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    report = ConversionReport()
    docs = [d for _, ds in read_conll04(path, report, **kw) for d in ds]
    return docs, report


def prodigy(tmp_path, egs, **kw):
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in egs) + "\n", encoding="utf-8")
    report = ConversionReport()
    docs = [d for _, ds in read_prodigy(path, report, **kw) for d in ds]
    return docs, report


TOKENS = ["Anna", "works", "for", "Acme", "in", "Oslo", "."]


def test_resolve_overlaps_in_text_order_and_check_relations():
    doc = spacy.blank("en")("a b c d e")
    spans = [Span(doc, 3, 4, "X"), Span(doc, 0, 2, "Y"), Span(doc, 1, 2, "Z"), Span(doc, 0, 1, "W")]
    report = ConversionReport()
    assert resolve_overlaps(spans, ["s0", "s1", "s2", "s3"], "f", report) == [1, 0]
    assert report.drops["overlapping_entity"] == 2 and "kept s1" in report.examples["overlapping_entity"][0]
    a, b = Span(doc, 0, 1, "P"), Span(doc, 2, 3, "Q")
    kept = check_relations(
        [(a, a, "R", "r0"), (a, b, "R", "r1"), (a, b, "R", "r2"), (a, b, "S", "r3"), (b, a, "T", "r4")],
        "f",
        report,
    )
    assert [k[2] for k in kept] == ["R", "T"]
    assert report.drops["self_relation"] == 1 and report.notes["duplicate_relation_merged"] == 1
    assert (
        report.drops["conflicting_relation"] == 1
        and "already labelled R by r1" in report.examples["conflicting_relation"][0]
    )
    assert report.notes["pair_labelled_in_both_directions"] == 1


def test_conll04_entities_out_of_text_order_keep_their_relations(tmp_path):
    # SpERT JSON allows any order; head/tail index the list as given
    item = {
        "tokens": TOKENS,
        "entities": [
            {"type": "Loc", "start": 5, "end": 6},
            {"type": "Peop", "start": 0, "end": 1},
            {"type": "Org", "start": 3, "end": 4},
        ],
        "relations": [
            {"head": 1, "tail": 2, "type": "Work_For"},
            {"head": 2, "tail": 0, "type": "OrgBased_In"},
        ],
    }
    docs, report = conll(tmp_path, [item])
    assert [e.text for e in docs[0].ents] == ["Anna", "Acme", "Oslo"]
    assert rels(docs) == [("Anna", "Work_For", "Acme"), ("Acme", "OrgBased_In", "Oslo")]
    assert not report.drops


def test_conll04_missing_types_and_wrong_shapes_are_counted(tmp_path):
    good = {
        "tokens": TOKENS,
        "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Org", "start": 3, "end": 4}],
        "relations": [{"head": 0, "tail": 1, "type": "Work_For"}],
    }
    items = [
        {**good, "entities": [{"start": 0, "end": 1}, {"type": "Org", "start": 3, "end": 4}]},  # no "type"
        {**good, "relations": [{"head": 0, "tail": 1}]},  # relation without type
        {**good, "entities": {"type": "Org"}},  # wrong type
        {**good, "entities": [{"type": "Org", "start": "abc", "end": 4}]},  # int() error
        {**good, "relations": "Work_For"},
        {**good, "tokens": ["Anna", 3]},
        good,
    ]
    docs, report = conll(tmp_path, items)
    assert report.drops["entity_without_type"] == 1 and report.drops["argument_left_out"] == 1
    assert report.drops["relation_without_label"] == 1
    assert "None" not in [lab for _, lab, _ in rels(docs)]
    assert report.drops["malformed_item"] == 4
    examples = report.examples["malformed_item"]
    assert any("c.json[3]" in e and "entity 0 start 'abc' is not an integer" in e for e in examples)
    assert any("c.json[2]" in e and '"entities" is a dict' in e for e in examples)
    assert len(docs) == 3 and rels(docs[-1:]) == [("Anna", "Work_For", "Acme")]


def test_conll04_exclude(tmp_path):
    item = {
        "tokens": TOKENS,
        "entities": [{"type": "Peop", "start": 0, "end": 1}, {"type": "Org", "start": 3, "end": 4}],
        "relations": [{"head": 0, "tail": 1, "type": "No-rel"}],
    }
    docs, report = conll(tmp_path, [item], exclude=("No-rel",))
    assert rels(docs) == [] and report.drops["no-rel_excluded"] == 1


def _tok(words, ws=True):
    out, pos = [], 0
    for i, w in enumerate(words):
        out.append({"text": w, "start": pos, "end": pos + len(w), "id": i, "ws": ws})
        pos += len(w) + 1
    return out


def _span(ts, te, label):
    return {"token_start": ts, "token_end": te, "label": label}


def test_prodigy_wrong_shapes_are_counted(tmp_path):
    base = {
        "tokens": _tok(TOKENS),
        "spans": [_span(0, 0, "PER"), _span(3, 3, "ORG")],
        "relations": [{"head": 0, "child": 3, "label": "WORKS_FOR"}],
        "answer": "accept",
    }
    egs = [
        {**base, "tokens": TOKENS},
        {**base, "relations": {"head": 0, "child": 3}},
        {**base, "tokens": [{**t, "ws": 1} for t in _tok(TOKENS)]},
        base,
    ]
    docs, report = prodigy(tmp_path, egs)
    assert report.drops["malformed_example"] == 3
    assert any("p.jsonl:1" in e and "token 0 is a str" in e for e in report.examples["malformed_example"])
    assert any(
        "p.jsonl:2" in e and '"relations" is a dict' in e for e in report.examples["malformed_example"]
    )
    assert rels(docs) == [("Anna", "WORKS_FOR", "Acme")]


def test_prodigy_ws_false_string_and_exclude(tmp_path):
    eg = {
        "tokens": _tok(["Anna", "Acme"], ws="false"),
        "spans": [_span(0, 0, "PER"), _span(1, 1, "ORG")],
        "relations": [{"head": 0, "child": 1, "label": "No-rel"}, {"head": 1, "child": 0, "label": "X"}],
        "answer": "accept",
    }
    docs, report = prodigy(tmp_path, [eg], exclude=("No-rel",))
    assert docs[0].text == "AnnaAcme" and report.notes["ws_given_as_string"] == 2
    assert report.drops["no-rel_excluded"] == 1 and rels(docs) == [("Acme", "X", "Anna")]


def test_prodigy_arguments_by_token_index(tmp_path):
    # the head_span record of a span at character 0 disagrees with the head token index:
    # Prodigy's recipes use the index (the span's last token)
    eg = {
        "tokens": _tok(["Anna", "Berg", "joined", "Acme", "."]),
        "spans": [_span(0, 1, "PER"), _span(3, 3, "ORG")],
        "relations": [
            {
                "head": 1,
                "child": 3,
                "head_span": _span(1, 1, "PER"),
                "child_span": _span(3, 3, "ORG"),
                "label": "WORKS_FOR",
            },
            {"head": 2, "child": 3, "label": "X"},
            {"head": 1, "child": 3, "label": "EMPLOYED_BY"},
        ],
        "answer": "accept",
    }
    docs, report = prodigy(tmp_path, [eg])
    assert rels(docs) == [("Anna Berg", "WORKS_FOR", "Acme")]
    assert report.notes["relation_span_record_disagrees"] == 1
    assert report.drops["argument_not_an_entity"] == 1  # token 2 ("joined") is no entity
    assert report.drops["conflicting_relation"] == 1  # a second label on the same pair, counted
