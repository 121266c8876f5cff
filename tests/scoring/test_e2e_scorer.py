"""Strict end-to-end scores (spacy_bio_rel/scoring/e2e_scorer.py): against an independent scorer,
the error breakdown, and `spacy evaluate` printing them."""

from collections import Counter

import pytest
import spacy
import srsly
from conftest import make_doc, planted_docs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.cli.evaluate import evaluate as spacy_evaluate
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.util import registry
from util import ruler_pipeline_path

from spacy_bio_rel import get_relations
from spacy_bio_rel.scoring.e2e_scorer import ERROR_CATEGORIES, argument_status, error_breakdown, score_e2e

WORDS = ["Anna", "Smith", "met", "Bob", "in", "Oslo", "."]


def _example(nlp, gold_ents, gold_rels, pred_ents, pred_rels):
    return Example(make_doc(nlp, WORDS, pred_ents, pred_rels), make_doc(nlp, WORDS, gold_ents, gold_rels))


def test_correct_needs_exact_boundaries_types_and_label(nlp_en):
    gold_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    gold_rels = [(0, 1, "Knows"), (1, 2, "Live_In")]
    cases = {
        "exact": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 1),
        "boundary": ([(0, 1, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 0),
        "entity type": ([(0, 2, "ORG"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Knows")], 0),
        "label": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(0, 1, "Live_In")], 0),
        "direction": ([(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")], [(1, 0, "Knows")], 0),
    }
    for name, (pred_ents, pred_rels, correct) in cases.items():
        s = score_e2e([_example(nlp_en, gold_ents, gold_rels, pred_ents, pred_rels)])
        assert s["rel_e2e_n_correct"] == correct, name
        assert s["rel_e2e_micro_r"] == pytest.approx(correct / 2), name


def test_undirected_ignores_order_but_not_types(nlp_en):
    ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    eg = _example(nlp_en, ents, [(0, 1, "Knows")], ents, [(1, 0, "Knows")])
    assert score_e2e([eg], directed=False)["rel_e2e_micro_f"] == 1.0
    assert score_e2e([eg], directed=True)["rel_e2e_micro_f"] == 0.0


def test_micro_macro_and_entities(nlp_en):
    gold_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]
    gold_rels = [(0, 1, "Knows"), (0, 2, "Live_In"), (1, 2, "Live_In")]
    pred_ents = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "ORG")]  # Oslo mistyped
    pred_rels = [(0, 1, "Knows"), (0, 2, "Live_In")]
    s = score_e2e([_example(nlp_en, gold_ents, gold_rels, pred_ents, pred_rels)])
    # Knows: P 1, R 1; Live_In: 0 correct of 1 predicted, 2 gold
    assert (s["rel_e2e_micro_p"], s["rel_e2e_micro_r"]) == (pytest.approx(1 / 2), pytest.approx(1 / 3))
    assert s["rel_e2e_per_type"]["Live_In"] == {"p": 0.0, "r": 0.0, "f": 0.0}
    assert (s["rel_e2e_macro_p"], s["rel_e2e_macro_r"], s["rel_e2e_macro_f"]) == (0.5, 0.5, 0.5)
    assert s["spans_rel_f"] == s["rel_e2e_micro_f"] and s["spans_rel_macro_f"] == 0.5
    assert s["ents_p"] == pytest.approx(2 / 3) and s["ents_per_type"]["PER"]["f"] == 1.0


def test_registered_and_empty(nlp_en):
    scorer = registry.scorers.get("spacy-bio-rel.e2e_scorer.v1")()
    doc = make_doc(nlp_en, ["x"], [])
    s = scorer([Example(doc, doc)])
    assert s["rel_e2e_micro_f"] == 0.0 and s["rel_e2e_macro_f"] == 0.0 and s["rel_e2e_per_type"] == {}


def test_spacy_evaluate_prints_entity_and_e2e_relation_scores(tmp_path_factory, capsys):
    model = ruler_pipeline_path(str(tmp_path_factory.getbasetemp()))
    import spacy

    nlp = spacy.blank("en")
    dev = tmp_path_factory.mktemp("e2e") / "dev.spacy"
    DocBin(docs=planted_docs(nlp, 12), store_user_data=True).to_disk(dev)
    out = dev.with_suffix(".json")
    data = spacy_evaluate(str(model), dev, output=out, silent=False, spans_key="rel")
    printed = capsys.readouterr().out
    assert "NER P" in printed and "SPAN F" in printed and "Work_For" in printed
    assert data["ents_f"] == 1.0  # the ruler finds every planted entity
    assert 0.8 < data["spans_rel_f"] <= 1.0
    assert set(srsly.read_json(out)["spans_rel_per_type"]) == {"Work_For", "Live_In"}
    macro = spacy_evaluate(str(model), dev, silent=True, spans_key="rel_macro")
    assert 0.8 < macro["spans_rel_macro_f"] <= 1.0


# --- an independent strict scorer, SpERT's definition (CoNLL04 "strict" evaluation) ---------------------
#
# An entity is correct iff its span and type match a gold entity; a relation is correct iff its label and
# both argument entities (span and type) match a gold relation. As SpERT does, the gold and predicted tuples
# of each document are put together, each tuple gets its gold label (or none) and its predicted label (or
# none), and P/R/F1 are computed per label over these flat lists; micro pools the labels, macro is the mean
# of the per-label figures over the labels that occur.


def spert_tuples(doc, directed):
    ents = {(e.start_char, e.end_char, e.label_) for e in doc.ents}
    rels = set()
    for r in get_relations(doc):
        head = (r.head.start_char, r.head.end_char, r.head.label_)
        tail = (r.tail.start_char, r.tail.end_char, r.tail.label_)
        if not directed:
            head, tail = sorted([head, tail])
        rels.add((head, tail, r.label))
    return ents, rels


def spert_score(gold_docs, pred_docs):
    """``gold_docs``/``pred_docs``: per document, a set of tuples whose last element is the label."""
    gold_flat, pred_flat = [], []
    for gold, pred in zip(gold_docs, pred_docs):
        for t in gold | pred:
            gold_flat.append(t[-1] if t in gold else None)
            pred_flat.append(t[-1] if t in pred else None)
    labels = sorted({x for x in gold_flat + pred_flat if x is not None})

    def figures(tp, n_pred, n_gold):
        p = tp / n_pred if n_pred > 0 else 0.0
        r = tp / n_gold if n_gold > 0 else 0.0
        return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)

    counts = {}
    for label in labels:
        tp = sum(1 for g, q in zip(gold_flat, pred_flat) if g == q == label)
        counts[label] = (tp, pred_flat.count(label), gold_flat.count(label))
    per_label = {label: figures(*c) for label, c in counts.items()}
    micro = figures(*(sum(c[i] for c in counts.values()) for i in range(3)))
    macro = tuple(sum(v[i] for v in per_label.values()) / len(labels) if labels else 0.0 for i in range(3))
    return {"per_label": per_label, "micro": micro, "macro": macro, "counts": counts}


TYPES, LABELS = ["PER", "ORG", "LOC"], ["Work_For", "Live_In", "Kill"]


def _spans(draw, n):
    """Non-overlapping (start, end, type) token spans over ``n`` tokens."""
    out, i = [], 0
    while i < n:
        if draw(st.booleans()):
            j = min(n, i + draw(st.integers(1, 3)))
            out.append((i, j, draw(st.sampled_from(TYPES))))
            i = j
        else:
            i += 1
    return out


def _perturbed(draw, gold, n):
    """Predicted spans near the gold ones (kept, re-typed, re-bounded or dropped) and some spurious ones,
    with ``{gold index: predicted index}`` of the gold spans that are kept in some form."""
    out = []
    for i, (s, e, t) in enumerate(gold):
        what = draw(st.sampled_from(["keep"] * 5 + ["type", "bounds", "drop"]))
        if what == "type":
            t = draw(st.sampled_from(TYPES))
        elif what == "bounds":
            s, e = (s, min(n, e + 1)) if draw(st.booleans()) else (max(0, s - 1), e)
        elif what == "drop":
            continue
        out.append((s, e, t, i))
    if draw(st.booleans()):
        out += [(s, e, t, None) for s, e, t in _spans(draw, n)]
    kept, taken = [], set()  # drop overlaps (doc.ents cannot overlap)
    for s, e, t, origin in out:
        if not taken & set(range(s, e)):
            kept.append((s, e, t, origin))
            taken |= set(range(s, e))
    kept.sort()
    origins = {origin: j for j, (_, _, _, origin) in enumerate(kept) if origin is not None}
    return [k[:3] for k in kept], origins


def _relations(draw, n_ents, gold=(), origins=None):
    """Relations among ``n_ents`` entities; with ``gold`` and ``origins`` (predicted relations) most gold
    relations whose two arguments survive in some form are copied, some with another label."""
    rels = set()
    for h, t, label in gold:
        if h in origins and t in origins and draw(st.integers(0, 4)):
            rels.add(
                (origins[h], origins[t], label if draw(st.integers(0, 3)) else draw(st.sampled_from(LABELS)))
            )
    if n_ents >= 2:
        for _ in range(draw(st.integers(0, 3))):
            h, t = draw(st.permutations(range(n_ents)))[:2]
            rels.add((h, t, draw(st.sampled_from(LABELS))))
    return sorted(rels)


@st.composite
def annotated_examples(draw):
    """1 to 4 (words, gold ents, gold relations, predicted ents, predicted relations)."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 10))
        gold_ents = _spans(draw, n)
        pred_ents, origins = _perturbed(draw, gold_ents, n)
        gold_rels = _relations(draw, len(gold_ents))
        pred_rels = _relations(draw, len(pred_ents), gold_rels, origins)
        out.append(([f"w{i}" for i in range(n)], gold_ents, gold_rels, pred_ents, pred_rels))
    return out


NLP = spacy.blank("en")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(annotated_examples(), st.booleans())
def test_agrees_with_an_independent_strict_scorer(cases, directed):
    examples = [
        Example(make_doc(NLP, words, pe, pr), make_doc(NLP, words, ge, gr)) for words, ge, gr, pe, pr in cases
    ]
    s = score_e2e(examples, directed=directed)
    gold = [spert_tuples(eg.reference, directed) for eg in examples]
    pred = [spert_tuples(eg.predicted, directed) for eg in examples]
    ents = spert_score([g[0] for g in gold], [p[0] for p in pred])
    rels = spert_score([g[1] for g in gold], [p[1] for p in pred])

    if ents["counts"]:
        assert (s["ents_p"], s["ents_r"], s["ents_f"]) == pytest.approx(ents["micro"])
        assert s["ents_per_type"] == {
            k: pytest.approx(dict(zip("prf", v))) for k, v in ents["per_label"].items()
        }
        n_correct, n_pred, n_gold = (sum(c[i] for c in ents["counts"].values()) for i in range(3))
        assert (s["ents_n_correct"], s["ents_n_pred"], s["ents_n_gold"]) == (n_correct, n_pred, n_gold)
    else:
        assert s["ents_f"] is None and s["ents_per_type"] is None
    assert (s["rel_e2e_micro_p"], s["rel_e2e_micro_r"], s["rel_e2e_micro_f"]) == pytest.approx(rels["micro"])
    assert (s["rel_e2e_macro_p"], s["rel_e2e_macro_r"], s["rel_e2e_macro_f"]) == pytest.approx(rels["macro"])
    assert s["rel_e2e_per_type"] == {
        k: pytest.approx(dict(zip("prf", v))) for k, v in rels["per_label"].items()
    }
    n_correct, n_pred, n_gold = (sum(c[i] for c in rels["counts"].values()) for i in range(3))
    assert (s["rel_e2e_n_correct"], s["rel_e2e_n_pred"], s["rel_e2e_n_gold"]) == (n_correct, n_pred, n_gold)
    # every lost gold relation is in exactly one category, per label too
    errors = s["rel_e2e_errors"]
    assert errors["lost"] == n_gold - n_correct == sum(errors[c] for c in ERROR_CATEGORIES)
    for label, e in errors["per_type"].items():
        tp, _, gold_n = rels["counts"][label]
        assert e["lost"] == gold_n - tp == sum(e[c] for c in ERROR_CATEGORIES)


@settings(max_examples=100, deadline=None)
@given(
    annotated_examples(), st.lists(st.sampled_from(["annotated", "none", "partial"]), min_size=4, max_size=4)
)
def test_entity_figures_are_spacys_on_the_same_tokens(cases, annotation):
    """Including reference Docs without entity annotation (left out) or with tokens whose annotation is
    missing (a prediction over them neither right nor wrong)."""
    examples = []
    for (words, ge, _, pe, _), how in zip(cases, annotation):
        ref = Doc(NLP.vocab, words=words)
        if how == "partial":
            ref.set_ents([Span(ref, s, e, t) for s, e, t in ge], default="missing")
        elif how == "annotated":
            ref.ents = [Span(ref, s, e, t) for s, e, t in ge]
        examples.append(Example(make_doc(NLP, words, pe), ref))
    ours, spacys = score_e2e(examples), get_ner_prf(examples)
    for key in ("ents_p", "ents_r", "ents_f"):
        assert ours[key] == spacys[key]
    if spacys["ents_per_type"] is None:
        assert ours["ents_per_type"] is None
    else:  # spaCy lists a type whose only predictions were left out, with zeros
        assert ours["ents_per_type"] == {
            k: v for k, v in spacys["ents_per_type"].items() if k in ours["ents_per_type"]
        }
        assert all(
            v == {"p": 0.0, "r": 0.0, "f": 0.0}
            for k, v in spacys["ents_per_type"].items()
            if k not in ours["ents_per_type"]
        )


# --- the error breakdown of the lost gold relations, by hand ---------------------------------------------

GOLD_ENTS = [(0, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")]  # "Anna Smith", "Bob", "Oslo"
GOLD_RELS = [(0, 1, "Knows")]  # Anna Smith -> Bob


def test_argument_status():
    predicted = [(0, 10, "PER"), (20, 25, "ORG")]
    assert argument_status((0, 10, "PER"), predicted) == "correct"
    assert argument_status((20, 25, "LOC"), predicted) == "mistyped"
    assert argument_status((5, 15, "PER"), predicted) == "misbounded"  # shares characters 5-9
    assert argument_status((10, 20, "PER"), predicted) == "missed"  # touches both, shares no character
    assert argument_status((0, 10, "PER"), []) == "missed"


@pytest.mark.parametrize(
    "pred_ents, pred_rels, category",
    [
        ([(3, 4, "PER"), (5, 6, "LOC")], [], "argument_missed"),  # no entity over "Anna Smith"
        ([(0, 1, "PER"), (3, 4, "PER")], [(0, 1, "Knows")], "argument_misbounded"),  # "Anna"
        ([(0, 2, "ORG"), (3, 4, "PER")], [(0, 1, "Knows")], "argument_mistyped"),
        ([(0, 2, "ORG"), (5, 6, "LOC")], [], "argument_missed"),  # head mis-typed, tail missed: the worse
        ([(1, 2, "PER"), (3, 4, "ORG")], [(0, 1, "Knows")], "argument_misbounded"),  # mis-bounded, mis-typed
        ([(0, 2, "PER"), (3, 4, "PER")], [(0, 1, "Live_In")], "relation_mislabelled"),
        ([(0, 2, "PER"), (3, 4, "PER")], [], "relation_missed"),
        ([(0, 2, "PER"), (3, 4, "PER")], [(1, 0, "Knows")], "relation_missed"),  # the other way round
    ],
)
def test_each_lost_relation_is_in_one_category(nlp_en, pred_ents, pred_rels, category):
    eg = _example(nlp_en, GOLD_ENTS, GOLD_RELS, pred_ents, pred_rels)
    errors = error_breakdown([eg])
    assert errors["lost"] == 1 and errors[category] == 1
    assert sum(errors[c] for c in ERROR_CATEGORIES) == 1
    assert errors["per_type"] == {"Knows": {k: v for k, v in errors.items() if k != "per_type"}}
    assert score_e2e([eg])["rel_e2e_errors"] == errors


def test_breakdown_sums_over_docs_and_ignores_correct_relations(nlp_en):
    ents = GOLD_ENTS
    rels = [(0, 1, "Knows"), (0, 2, "Live_In"), (1, 2, "Live_In")]
    examples = [
        # 1 right, 1 mislabelled, 1 missed
        _example(nlp_en, ents, rels, ents, [(0, 1, "Knows"), (0, 2, "Work_For")]),
        # 1 right, the 2 relations with Oslo lost with it
        _example(nlp_en, ents, rels, [(0, 2, "PER"), (3, 4, "PER")], [(0, 1, "Knows")]),
        # 2 the other way round (missed), 1 right
        _example(nlp_en, ents, rels, ents, [(1, 0, "Knows"), (2, 0, "Live_In"), (1, 2, "Live_In")]),
    ]
    s = score_e2e(examples)
    e = s["rel_e2e_errors"]
    assert e["lost"] == s["rel_e2e_n_gold"] - s["rel_e2e_n_correct"] == 6
    assert Counter({c: e[c] for c in ERROR_CATEGORIES if e[c]}) == Counter(
        {"relation_mislabelled": 1, "relation_missed": 3, "argument_missed": 2}
    )
    assert e["per_type"]["Live_In"]["lost"] == 5 and e["per_type"]["Knows"] == {
        "lost": 1,
        "argument_missed": 0,
        "argument_misbounded": 0,
        "argument_mistyped": 0,
        "relation_mislabelled": 0,
        "relation_missed": 1,
    }
    # without direction the reversed relations of the third Doc are right
    u = score_e2e(examples, directed=False)["rel_e2e_errors"]
    assert u["lost"] == 4 and u["relation_missed"] == 1
