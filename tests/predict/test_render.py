"""HTML picture of relations (spacy_bio_rel/render.py), checked by parsing the HTML."""

from html.parser import HTMLParser

import spacy
from conftest import make_doc, planted_docs

import spacy_bio_rel
from spacy_bio_rel import render, set_relations
from spacy_bio_rel.predict.render import RelationsHTML, label_color


class Drawing(HTMLParser):
    """Entities (data-id -> attributes and text) and relations (attributes) of a rendered page."""

    def __init__(self):
        super().__init__()
        self.entities, self.relations, self.meta_charset = {}, [], None
        self._entity, self._depth, self._text = None, 0, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "charset" in a:
            self.meta_charset = a["charset"]
        if self._entity is not None:
            self._depth += 1
        if tag == "g" and a.get("class") == "entity":
            assert a["data-id"] not in self.entities, "entity drawn twice"
            self._entity, self._depth, self._text = a, 1, []
        if tag == "g" and a.get("class") == "relation":
            self.relations.append(a)

    def handle_endtag(self, tag):
        if self._entity is not None:
            self._depth -= 1
            if self._depth == 0:
                self.entities[self._entity["data-id"]] = dict(self._entity, texts=self._text)
                self._entity = None

    def handle_data(self, data):
        if self._entity is not None:
            self._text.append(data)


def parse(page):
    d = Drawing()
    d.feed(page)
    return d


def _check_every_relation_drawn_once(docs, page):
    d = parse(page)
    expected = sorted(
        (i, r.head.start_char, r.head.end_char, r.tail.start_char, r.tail.end_char, r.label)
        for i, doc in enumerate(docs)
        for r in doc._.relations
    )
    drawn = []
    for rel in d.relations:
        head, tail = d.entities[rel["data-head"]], d.entities[rel["data-tail"]]
        doc_i = int(rel["data-head"][1:].split("-")[0])
        assert rel["data-tail"].startswith(f"d{doc_i}-")
        drawn.append(
            (
                doc_i,
                int(head["data-start"]),
                int(head["data-end"]),
                int(tail["data-start"]),
                int(tail["data-end"]),
                rel["data-label"],
            )
        )
        # the entity elements show the argument's text and label
        assert head["texts"][0] == docs[doc_i].text[int(head["data-start"]) : int(head["data-end"])]
    assert sorted(drawn) == expected
    return d


def test_every_relation_drawn_once_between_the_right_entities(nlp_en):
    docs = planted_docs(nlp_en, 4)
    extra = make_doc(
        nlp_en,
        ["Anna", "met", "Bob", "in", "Oslo", "and", "Rome"],
        [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC"), (6, 7, "LOC")],
        [(0, 1, "Knows"), (1, 0, "Knows"), (0, 2, "Live_In"), (1, 3, "Live_In"), (0, 3, "Visit")],
    )
    docs.append(extra)
    page = render(docs)
    d = _check_every_relation_drawn_once(docs, page)
    assert len(d.entities) == sum(len(doc.ents) for doc in docs)
    assert {e["data-label"] for e in d.entities.values()} == {"PER", "ORG", "LOC"}
    assert d.meta_charset == "utf-8" and page.startswith("<!DOCTYPE html>")
    assert f'fill="{label_color("PER")}"' in page and "Work_For 1.00" in page


def test_chinese_and_markup_characters_are_escaped():
    nlp = spacy.blank("zh")
    doc = nlp.make_doc("李明在<北京>大学工作&生活。")
    a, b = doc.char_span(0, 2, "人物"), doc.char_span(3, 7, "<机构>")
    doc.ents = [a, b]
    set_relations(doc, [(a, b, "工作于", 0.875)])
    page = render(doc, title="关系 <测试>")
    assert "<北京>" not in page and "&lt;北京&gt;" in page and "&amp;生活" in page
    assert "<title>关系 &lt;测试&gt;</title>" in page and 'lang="zh"' in page
    d = _check_every_relation_drawn_once([doc], page)
    (rel,) = d.relations
    assert rel["data-label"] == "工作于" and float(rel["data-score"]) == 0.875
    assert d.entities[rel["data-tail"]]["data-label"] == "<机构>"
    assert "工作于 0.88" in page


def test_docs_without_entities_and_sentence_rows(nlp_en):
    empty = nlp_en.make_doc("")
    plain = nlp_en.make_doc("No entities here .")
    two = make_doc(
        nlp_en,
        ["Anna", "works", ".", "Acme", "hires", "Bob", "."],
        [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "PER")],
        [(2, 1, "Work_For")],
        sent_starts=[True, False, False, True, False, False, False],
    )
    page = render([empty, plain, two], scores=False)
    d = _check_every_relation_drawn_once([empty, plain, two], page)
    assert "Work_For 1.00" not in page and len(d.entities) == 3
    assert (
        page.count("<svg") == 0 + 1 + 2
    )  # empty: none; else one line per sentence unless a relation links them


def test_jupyter(nlp_en, monkeypatch):
    (doc,) = planted_docs(nlp_en, 1)
    out = render(doc)
    assert isinstance(out, RelationsHTML) and isinstance(out, str)
    assert out._repr_html_().startswith('<div class="spacy-bio-rel">') and "<html" not in out._repr_html_()
    shown = []
    import sys
    import types

    fake = types.ModuleType("IPython.display")
    fake.HTML = lambda s: ("HTML", s)
    fake.display = shown.append
    monkeypatch.setitem(sys.modules, "IPython", types.ModuleType("IPython"))
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    assert render(doc, jupyter=True) is None
    assert shown == [("HTML", out.fragment)]


def test_exported_from_the_package():
    assert spacy_bio_rel.render is render and "render" in spacy_bio_rel.__all__


def test_a_relation_across_sentences_keeps_them_on_one_line(nlp_en):
    doc = make_doc(
        nlp_en,
        ["Anna", "works", ".", "Acme", "hires", "her", "."],
        [(0, 1, "PER"), (3, 4, "ORG")],
        [(0, 1, "Work_For")],
        sent_starts=[True, False, False, True, False, False, False],
    )
    page = render(doc)
    assert page.count("<svg") == 1
    _check_every_relation_drawn_once([doc], page)


def _long_doc(nlp, n_clauses, far=False):
    """``n_clauses`` clauses "Anna works for Acme and ..." in one sentence, a relation in each (and with
    ``far`` one from the first person to the last organisation)."""
    words, ents, rels = [], [], []
    for k in range(n_clauses):
        at = len(words)
        words += ["Anna", "works", "for", "Acme", "and"]
        ents += [(at, at + 1, "PER"), (at + 3, at + 4, "ORG")]
        rels.append((2 * k, 2 * k + 1, "Work_For"))
    if far:
        rels.append((0, 2 * n_clauses - 1, "Work_For"))
    return make_doc(nlp, words, ents, rels, sent_starts=[True] + [False] * (len(words) - 1))


def _line_texts(page):
    """The text of every drawn line (one SVG each), entity boxes included."""

    class Lines(HTMLParser):
        def __init__(self):
            super().__init__()
            self.lines, self._in_svg, self._in_label = [], False, False

        def handle_starttag(self, tag, attrs):
            cls = dict(attrs).get("class", "")
            if tag == "svg":
                self.lines.append("")
                self._in_svg = True
            self._in_label = cls in ("entity-label", "relation-label")

        def handle_endtag(self, tag):
            self._in_label = False
            self._in_svg = self._in_svg and tag != "svg"

        def handle_data(self, data):
            if self._in_svg and not self._in_label:
                self.lines[-1] += data

    p = Lines()
    p.feed(page)
    return p.lines


def test_a_long_sentence_wraps_between_relations(nlp_en):
    doc = _long_doc(nlp_en, 30)  # about 750 characters in one sentence
    page = render(doc)
    lines = _line_texts(page)
    assert len(lines) >= 7 and all(len(line) <= 100 for line in lines)
    assert "".join(lines).replace(" ", "") == doc.text.replace(" ", "")
    _check_every_relation_drawn_once([doc], page)  # every arc whole, on its line
    assert len(_line_texts(render(doc, max_chars=0))) == 1
    assert len(_line_texts(render(doc, max_chars=40))) > len(lines)


def test_a_relation_across_a_long_sentence_keeps_it_on_one_line(nlp_en):
    doc = _long_doc(nlp_en, 10, far=True)
    page = render(doc)
    lines = _line_texts(page)  # the stretch the far relation spans, then the trailing "and"
    assert len(lines) == 2 and len(lines[0]) > 200 and lines[0].count("Acme") == 10
    _check_every_relation_drawn_once([doc], page)


def test_wide_characters_count_two():
    from spacy.tokens import Doc, Span

    chars = list("李四在深圳工作。" * 10)  # 80 characters, 160 columns
    doc = Doc(spacy.blank("zh").vocab, words=chars, spaces=[False] * len(chars))
    doc.ents = [Span(doc, 0, 2, "PER"), Span(doc, 3, 5, "LOC")]
    set_relations(doc, [(doc.ents[0], doc.ents[1], "Located")])
    lines = _line_texts(render(doc))
    assert len(lines) == 2 and "".join(lines) == doc.text


def test_to_displacy_renders_with_displacys_manual_styles(nlp_en):
    from spacy import displacy

    doc = make_doc(
        nlp_en,
        ["Anna", "Smith", "works", "for", "Acme", "in", "Paris", "."],
        [(0, 2, "PER"), (4, 5, "ORG"), (6, 7, "LOC")],
        [(0, 1, "Work_For"), (2, 1, "OrgBased_In")],
    )
    data = spacy_bio_rel.to_displacy(doc, title="doc 1")
    assert data["text"] == doc.text and data["title"] == "doc 1"
    assert data["ents"] == [
        {"start": 0, "end": 10, "label": "PER"},
        {"start": 21, "end": 25, "label": "ORG"},
        {"start": 29, "end": 34, "label": "LOC"},
    ]
    assert [w["text"] for w in data["words"]] == ["Anna Smith", "works", "for", "Acme", "in", "Paris", "."]
    assert data["words"][0]["tag"] == "PER" and data["words"][1]["tag"] == ""
    assert data["arcs"] == [
        {"start": 0, "end": 3, "label": "Work_For", "dir": "right"},
        {"start": 3, "end": 5, "label": "OrgBased_In", "dir": "left"},
    ]
    ent_html = displacy.render(data, style="ent", manual=True)
    assert "Anna Smith" in ent_html and "ORG" in ent_html and "doc 1" in ent_html
    dep_svg = displacy.render(data, style="dep", manual=True)
    assert "Work_For" in dep_svg and "OrgBased_In" in dep_svg
    assert "to_displacy" in spacy_bio_rel.__all__
