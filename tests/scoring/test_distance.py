import spacy
from conftest import make_doc
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_bio_rel.scoring.distance import SentenceOf, format_distance_scores, scores_by_distance
from spacy_bio_rel.scoring.evaluate import evaluate_gold_entities, format_scores

WORDS = ["Anna", "met", "Bert", ".", "Carl", "left", ".", "Dora", "came", "."]
STARTS = [i in (0, 4, 7) for i in range(len(WORDS))]
ENTS = [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "PER"), (7, 8, "PER")]


def example(nlp, gold, predicted):
    ref = make_doc(nlp, WORDS, ENTS, gold, sent_starts=STARTS)
    return Example(make_doc(nlp, WORDS, ENTS, predicted, sent_starts=STARTS), ref)


def test_sentence_of_reads_the_sentence_of_a_character():
    doc = make_doc(spacy.blank("en"), WORDS, ENTS, sent_starts=STARTS)
    assert [SentenceOf(doc)(doc[i].idx) for i in (0, 3, 4, 8)] == [0, 0, 1, 2]
    assert SentenceOf(doc).distance((0, 4), (doc[7].idx, doc[7].idx + 4)) == 2


def test_in_and_cross_sentence_relations_are_scored_apart_and_the_ceiling_counted():
    nlp = spacy.blank("en")
    # gold: Anna-Bert (in), Bert-Carl (1 apart), Anna-Dora (2 apart); predicted: Anna-Bert, Bert-Carl,
    # and a wrong Carl-Dora (1 apart)
    eg = example(nlp, [(0, 1, "R"), (1, 2, "R"), (0, 3, "R")], [(0, 1, "R"), (1, 2, "R"), (2, 3, "R")])
    scores = scores_by_distance([eg], directed=True, sentence_window=2)
    assert scores["in_sentence"] == {"p": 1.0, "r": 1.0, "f": 1.0, "n_gold": 1, "n_pred": 1, "n_correct": 1}
    cross = scores["cross_sentence"]
    assert (cross["n_gold"], cross["n_pred"], cross["n_correct"]) == (2, 2, 1)
    assert cross["p"] == 0.5 and cross["r"] == 0.5
    assert scores["all"]["n_gold"] == 3 and scores["all"]["n_correct"] == 2
    assert scores["beyond_window"] == 1 and scores["gold_by_distance"] == {"0": 1, "1": 1, "2": 1}
    assert scores_by_distance([eg], directed=True, sentence_window=1)["beyond_window"] == 2
    lines = format_distance_scores(scores)
    assert lines[0].startswith("in-sentence") and lines[1].startswith("cross-sentence")
    assert "beyond sentence_window = 2: 1 of 3" in lines[2] and "recall at most 66.67" in lines[2]


def test_evaluate_reports_the_split_with_the_component_window(tmp_path):
    from test_sentence_window import cross_sentence_docs, pipeline

    nlp = pipeline(2)
    DocBin(store_user_data=True, docs=cross_sentence_docs(nlp, 4)).to_disk(tmp_path / "dev.spacy")
    scores = evaluate_gold_entities(nlp, tmp_path / "dev.spacy")
    split = scores["by_distance"]
    assert split["sentence_window"] == 2 and split["beyond_window"] == 0
    assert split["in_sentence"]["n_gold"] == 4 and split["cross_sentence"]["n_gold"] == 4
    assert (
        split["all"]["n_pred"] == scores["rel_n_pred"]
        and split["all"]["n_correct"] == scores["rel_n_correct"]
    )
    text = format_scores(scores)
    assert "cross-sentence" in text and "beyond sentence_window = 2: 0 of 8" in text
    one = evaluate_gold_entities(pipeline(1), tmp_path / "dev.spacy")["by_distance"]
    assert one["beyond_window"] == 4 and one["cross_sentence"]["n_pred"] == 0


def test_gold_entity_examples_sample_negatives_with_the_component_window(tmp_path):
    from test_sentence_window import pipeline

    from spacy_bio_rel.scoring.evaluate import gold_entity_examples
    from spacy_bio_rel.training.readers import SKIP_PAIRS_KEY

    nlp = pipeline(2)
    # Anna works for Acme . | Bo met Carl at Globex .  Work_For: Anna -> Acme, Bo -> Acme (across)
    words = ["Anna", "works", "for", "Acme", ".", "Bo", "met", "Carl", "at", "Globex", "."]
    ents = [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "PER"), (7, 8, "PER"), (9, 10, "ORG")]
    starts = [i in (0, 5) for i in range(len(words))]
    doc = make_doc(nlp, words, ents, [(0, 1, "Work_For"), (2, 1, "Work_For")], sent_starts=starts)
    DocBin(store_user_data=True, docs=[doc]).to_disk(tmp_path / "dev.spacy")
    (eg,) = gold_entity_examples(nlp, tmp_path / "dev.spacy", negative_ratio=0.0)
    # the PER -> ORG negatives of both sentences and across them: Anna -> Globex, Carl -> Acme
    assert {tuple(k) for k in eg.predicted.user_data[SKIP_PAIRS_KEY]} == {
        (5, 6, 9, 10),
        (7, 8, 9, 10),
        (0, 1, 9, 10),
        (7, 8, 3, 4),
    }


def test_other_keys_match_as_they_say_and_split_the_same_way():
    from spacy_bio_rel.scoring.e2e_scorer import doc_relation_keys

    nlp = spacy.blank("en")
    ref = make_doc(nlp, WORDS, ENTS, [(0, 1, "R"), (1, 2, "R")], sent_starts=STARTS)
    # the same relations, but Carl predicted as an ORG: right spans and label, wrong entity type
    pred = make_doc(
        nlp, WORDS, ENTS[:2] + [(4, 5, "ORG"), ENTS[3]], [(0, 1, "R"), (1, 2, "R")], sent_starts=STARTS
    )
    loose = scores_by_distance([Example(pred, ref)], directed=True, sentence_window=2)
    strict = scores_by_distance(
        [Example(pred, ref)], directed=True, sentence_window=2, keys=doc_relation_keys
    )
    assert loose["cross_sentence"]["n_correct"] == 1 and strict["cross_sentence"]["n_correct"] == 0
    for scores in (loose, strict):
        assert scores["in_sentence"]["n_correct"] == 1
        assert [scores[part]["n_gold"] for part in ("in_sentence", "cross_sentence", "all")] == [1, 1, 2]
        assert scores["gold_by_distance"] == {"0": 1, "1": 1} and scores["beyond_window"] == 0
