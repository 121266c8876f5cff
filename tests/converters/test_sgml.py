from spacy_bio_rel.converters.sgml import strip_sgml


def test_tags_removed_and_references_count_one_char():
    raw = "<DOC>\n<P>\nAT&amp;T &lt;x&gt; &#38; &#x26; end\n</P>\n</DOC>\n"
    out = strip_sgml(raw)
    assert out.text == "\n\nAT&T <x> & & end\n\n\n"
    assert out.text.index("end") == 2 + len("AT&T <x> & & ")


def test_stray_ampersand_and_unclosed_tags_tolerated():
    raw = '<DOC><TEXT>Fish & chips; a < b and &bogus; stay<P>next <QUOTE PREVIOUSPOST="x">'
    out = strip_sgml(raw)
    assert out.text == "Fish & chips; a < b and &bogus; staynext "
    # tag positions mark where markup was removed (hard sentence breaks)
    assert out.text.index("next") in out.tag_positions


def test_fixture_offsets_match(fixtures):
    from spacy_bio_rel.converters.sgml import read_sgm

    text = read_sgm(fixtures / "ace/data/English/nw/timex2norm/FIX_EN_001.sgm").text
    assert "Acme & Sons" in text and "&amp;" not in text
