"""What the component reads from upstream components: entity labels of another NER
(``entity_label_map``) and sentence boundaries (a Doc without them that holds several sentences)."""

import warnings

import pytest
import spacy
from conftest import REPO, make_doc, planted_docs
from spacy.util import fix_random_seed, load_config
from util import LOCS, ORGS, PEOPLE, SMALL_MODEL, build_ruler_pipeline, gold_examples

from spacy_bio_rel import get_relations
from spacy_bio_rel.candidates import runs_across_sentences

CONLL04_LABELS = {"PER": "Peop", "ORG": "Org", "LOC": "Loc"}
UPSTREAM_MAP = {"PERSON": "Peop", "ORG": "Org", "GPE": "Loc"}


def conll04_like_docs(nlp):
    """The planted Docs with CoNLL04's entity labels (Peop, Org, Loc)."""
    docs = []
    for d in planted_docs(nlp):
        ents = list(d.ents)
        index = {(e.start, e.end): i for i, e in enumerate(ents)}
        rels = [
            (index[(r.head.start, r.head.end)], index[(r.tail.start, r.tail.end)], r.label)
            for r in get_relations(d)
        ]
        docs.append(
            make_doc(
                nlp, [t.text for t in d], [(e.start, e.end, CONLL04_LABELS[e.label_]) for e in ents], rels
            )
        )
    return docs


@pytest.fixture(scope="module")
def upstream_ner_pipeline(tmp_path_factory):
    """A relation_extractor trained on Peop/Org/Loc, behind an entity_ruler that emits PERSON/ORG/GPE (as
    spaCy's English NER does); saved, so that the tests load it with their own settings."""
    fix_random_seed(0)
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": lab, "pattern": w}
            for lab, ws in (("PERSON", PEOPLE), ("ORG", ORGS), ("GPE", LOCS))
            for w in ws
        ]
    )
    nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL, "directed": True})
    examples = gold_examples(conll04_like_docs(nlp))
    with nlp.select_pipes(enable=["relation_extractor"]):
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(15):
            for i in range(0, len(examples), 8):
                nlp.update(examples[i : i + 8], sgd=optimizer)
    path = tmp_path_factory.mktemp("upstream") / "pipeline"
    nlp.to_disk(path)
    return path


TEXT = "Anna works for Acme and visited Paris ."


def test_other_ner_labels_give_nothing_and_a_warning_naming_both_label_sets(upstream_ner_pipeline):
    nlp = spacy.load(upstream_ner_pipeline)
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.known_entity_labels() == ["Loc", "Org", "Peop"]
    with pytest.warns(
        UserWarning, match=r"\['GPE', 'ORG', 'PERSON'\].*\['Loc', 'Org', 'Peop'\].*entity_label_map"
    ):
        doc = nlp(TEXT)
    assert [e.label_ for e in doc.ents] == ["PERSON", "ORG", "GPE"]
    assert pipe.candidates(doc) == [] and get_relations(doc) == []
    with warnings.catch_warnings():  # once per component
        warnings.simplefilter("error")
        nlp(TEXT)


def test_entity_label_map_given_at_load_time_finds_the_relations_on_the_docs_own_spans(upstream_ner_pipeline):
    nlp = spacy.load(
        upstream_ner_pipeline,
        config={"components": {"relation_extractor": {"entity_label_map": UPSTREAM_MAP}}},
    )
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.cfg["entity_label_map"] == UPSTREAM_MAP
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the labels are known now: no warning
        docs = list(nlp.pipe([TEXT, "Bert lives in Oslo near Globex offices ."]))
    found = [
        [(r.label, r.head.text, r.head.label_, r.tail.text, r.tail.label_) for r in get_relations(d)]
        for d in docs
    ]
    assert ("Work_For", "Anna", "PERSON", "Acme", "ORG") in found[0]
    assert ("Live_In", "Bert", "PERSON", "Oslo", "GPE") in found[1]
    for doc in docs:  # the relations point at the Doc's own entities
        ents = {(e.start, e.end, e.label_) for e in doc.ents}
        for r in get_relations(doc):
            assert {
                (r.head.start, r.head.end, r.head.label_),
                (r.tail.start, r.tail.end, r.tail.label_),
            } <= ents
    # the same Doc read with its labels mapped gives the same candidates as a Doc with the model's labels
    mapped = pipe.read_entities(docs[0])
    assert [e.label_ for e in mapped] == ["Peop", "Org", "Loc"] and [e.label_ for e in docs[0].ents] == [
        "PERSON",
        "ORG",
        "GPE",
    ]


def test_entity_label_map_applies_in_training_too():
    """Trained on PER/ORG/LOC read as Peop/Org/Loc: the type filter and the BIO tags hold the mapped labels."""
    nlp = spacy.blank("en")
    pipe = nlp.add_pipe(
        "relation_extractor", config={"model": SMALL_MODEL, "entity_label_map": CONLL04_LABELS}
    )
    examples = gold_examples(planted_docs(nlp, 8))
    nlp.initialize(lambda: examples)
    assert pipe.known_entity_labels() == ["Loc", "Org", "Peop"]
    assert pipe.model.get_ref("featurize").attrs["entity_labels"] == ["Loc", "Org", "Peop"]
    assert len(pipe.candidates(examples[0].predicted)) > 0


def test_entity_label_map_must_map_strings_to_strings():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="entity_label_map must map entity labels"):
        nlp.add_pipe("relation_extractor", config={"model": SMALL_MODEL, "entity_label_map": {"PERSON": ""}})


# -- sentence boundaries ---------------------------------------------------------------------


def test_runs_across_sentences_rule(nlp_en):
    assert runs_across_sentences(nlp_en("Anna works for Acme. Paris is nice."))
    assert runs_across_sentences(nlp_en("Anna works for Acme! Paris is nice"))
    assert not runs_across_sentences(nlp_en("Anna works for Acme ."))  # one sentence
    assert not runs_across_sentences(
        nlp_en("Mr. Smith paid 3.5 dollars ...")
    )  # no token ends a sentence there
    assert not runs_across_sentences(nlp_en('He said "yes." '))
    segmented = nlp_en("Anna works for Acme. Paris is nice.")
    for t in segmented:
        t.is_sent_start = t.i == 0 or t.i == 5
    assert not runs_across_sentences(segmented)
    zh = spacy.blank(
        "zh", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.zh.ChineseTokenizer", "segmenter": "char"}}}
    )
    assert runs_across_sentences(zh("张三在北京工作。李四住在上海。"))
    assert not runs_across_sentences(zh("张三在北京工作。"))


@pytest.fixture(scope="module")
def ruler_nlp():
    return build_ruler_pipeline()


def test_doc_without_sentence_boundaries_warns_once(ruler_nlp):
    text = "Anna works for Acme . Oslo is nice ."
    with pytest.warns(UserWarning, match=r"no sentence boundaries but more than one sentence.*sentencizer"):
        doc = ruler_nlp(text)
    pipe = ruler_nlp.get_pipe("relation_extractor")
    assert any(c.head == (0, 1) and c.tail == (5, 6) for c in pipe.candidates(doc))  # what it warns about
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ruler_nlp(text)  # once per component
    ruler_nlp.get_pipe("relation_extractor")._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ruler_nlp("Anna works for Acme and visited Paris .")  # one sentence: no warning


def test_a_sentencizer_in_front_keeps_pairs_inside_sentences(ruler_nlp):
    nlp = build_ruler_pipeline()
    nlp.add_pipe("sentencizer", first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = nlp("Anna works for Acme . Oslo is nice .")
    pipe = nlp.get_pipe("relation_extractor")
    assert pipe.candidates(doc) and all(c.sent in ((0, 5), (5, 9)) for c in pipe.candidates(doc))
    assert all(r.tail.text != "Oslo" for r in get_relations(doc))


RAW_TEXT_CONFIGS = ["en_e2e.cfg", "en_e2e_trf.cfg", "zh_e2e.cfg", "zh_e2e_trf.cfg"]


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.cfg")))
def test_every_shipped_config_that_reads_raw_text_segments_it(name):
    """A config with an entity setter (ner) predicts from raw text: a sentencizer runs before the encoder
    and the relation extractor; one without (gold entities) refuses raw text in predict."""
    pipeline = load_config(REPO / "configs" / name, interpolate=False)["nlp"]["pipeline"]
    if "ner" not in pipeline:
        assert name not in RAW_TEXT_CONFIGS
        return
    assert name in RAW_TEXT_CONFIGS
    assert pipeline[0] == "sentencizer"


@pytest.mark.parametrize("name", ["zh_e2e.cfg", "zh_e2e_trf.cfg"])
def test_zh_e2e_sentencizer_splits_where_the_converters_do(name):
    """Characters are tokens in zh: the sentencizer's default '.' would split 3.5 in two."""
    config = load_config(REPO / "configs" / name, interpolate=False)
    punct = config["components"]["sentencizer"]["punct_chars"]
    assert set("。！？") <= set(punct) and "." not in punct
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": config["nlp"]["tokenizer"]}})
    nlp.add_pipe("sentencizer", config={"punct_chars": punct})
    assert [s.text for s in nlp("张三花了3.5元。李四住在上海！").sents] == [
        "张三花了3.5元。",
        "李四住在上海！",
    ]
