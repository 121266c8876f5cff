"""Property test of the component: any Doc it may meet is predicted, and both forward paths agree.

Docs of 1 to 1,000 units (tokens, or non-whitespace characters), 0 to 60 entities laid out at random
(clustered or far apart, short or long, of known and unknown labels, some over whitespace tokens;
some Docs of whitespace tokens only),
with or without sentence boundaries; for both granularities and both directions. Long sentences
and wide pairs are read in glued windows (spacy_bio_rel/ml/features.py), crowded sentences meet the
candidate cap (max_candidates_per_sentence).
"""

import random
import warnings

import numpy
import pytest
import spacy
import torch
from conftest import planted_docs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc, Span
from util import SMALL_MODEL, chinese_docs, gold_examples

from spacy_bio_rel.ml.architectures import BATCH_FIELDS, torch_module
from spacy_bio_rel.ml.featurize import wide_pairs

SETTINGS = [  # (language, granularity, directed)
    ("en", "token", True),
    ("en", "token", False),
    ("zh", "char", True),
    ("zh", "char", False),
]
UNITS = {
    "en": ["Anna", "works", "for", "Acme", "in", "Paris", "x", "Ünïcode", ",", "."],
    "zh": list("张三在北京大学工作。李四a1,"),
}
LABELS = {"en": ["PER", "ORG", "LOC", "MISC"], "zh": ["PER", "ORG", "LOC"]}
EXAMPLES = 60  # per setting (fixed examples: derandomize)
_PIPELINES = {}


def pipeline(lang, granularity, directed):
    """A tiny initialised (untrained) pipeline per setting, built once."""
    key = (lang, granularity, directed)
    if key not in _PIPELINES:
        nlp = spacy.blank(lang)
        model = dict(SMALL_MODEL, granularity=granularity)
        # a lower cap with ordered pairs, so that crowded sentences meet it
        cap = 100 if directed else 1000
        config = {"model": model, "directed": directed, "max_candidates_per_sentence": cap}
        nlp.add_pipe("relation_extractor", config=config)
        docs = planted_docs(nlp, 8) if lang == "en" else chinese_docs(nlp, 8)
        nlp.initialize(lambda: gold_examples(docs))
        _PIPELINES[key] = nlp
    return _PIPELINES[key]


@st.composite
def random_doc(draw, lang, granularity):
    """(words, spaces, entities, sentence starts) of 1 to 1,000 units: hypothesis draws the sizes and
    the layout's shape, a seeded generator the rest (a large Doc drawn unit by unit is too much data)."""
    n_units = draw(st.integers(1, 1000))
    n_ents = draw(st.one_of(st.integers(0, 60), st.integers(30, 60)))
    max_gap = draw(st.sampled_from([0, 3, 20, 400]))  # clustered ... far apart
    max_len = draw(st.sampled_from([1, 3, 150]))  # entity length in tokens
    n_sents = draw(st.sampled_from([None, 1, 2, 5]))  # None: no sentence boundaries
    blank = draw(st.integers(0, 19)) == 0  # whitespace tokens only: no character unit at all
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    words, spaces = [], []
    units = 0
    while units < n_units:
        if blank or rng.random() < 0.03:
            words.append(" ")  # a whitespace token: a unit of its own only with token units
            units += granularity == "token" or blank
        elif granularity == "token":
            words.append(rng.choice(UNITS[lang]))
            units += 1
        else:
            k = min(rng.randint(1, 3), n_units - units)
            words.append("".join(rng.choice(UNITS[lang]) for _ in range(k)))
            units += k
        spaces.append(lang == "en" or rng.random() < 0.2)
    n = len(words)
    ents, pos = [], 0
    for _ in range(n_ents):
        start = pos + rng.randint(0, max_gap)
        if start >= n:
            break
        end = min(n, start + rng.randint(1, max_len))
        ents.append((start, end, rng.choice(LABELS[lang])))
        pos = end
    sent_starts = None
    if n_sents is not None:
        cuts = set(rng.sample(range(1, n), min(n_sents - 1, n - 1))) if n > 1 else set()
        sent_starts = [i == 0 or i in cuts for i in range(n)]
    return words, spaces, ents, sent_starts


def check_doc(nlp, data):
    """Predict ``data`` with both paths; return (candidates, wide pairs, pairs over the cap)."""
    words, spaces, ents, sent_starts = data
    doc = Doc(nlp.vocab, words=words, spaces=spaces, sent_starts=sent_starts)
    doc.ents = [Span(doc, s, e, label=lab) for s, e, lab in ents]
    pipe = nlp.get_pipe("relation_extractor")
    net = torch_module(pipe.model)
    over_cap = pipe.skipped["candidates_over_cap"]
    net._tables = None  # every example starts from fresh prediction tables (the first call of a pipeline)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cap's, unknown labels', missing sentence boundaries' warnings
        try:
            net.shared_convolution = True
            X, fast = pipe.predict([doc])
            over_cap = pipe.skipped["candidates_over_cap"] - over_cap
            net.shared_convolution = False
            _, ref = pipe.predict([doc])
        finally:
            net.shared_convolution = True
        out = nlp(doc)
    assert fast[0].shape == (len(X.cands[0]), len(pipe.labels))
    assert numpy.isfinite(fast[0]).all()
    numpy.testing.assert_allclose(fast[0], ref[0], rtol=0, atol=1e-5)
    if len(X.cands[0]):  # the training path too: fast with gradients (tap tables per call)
        batch = pipe.model.get_ref("featurize").predict(X)
        args = [torch.as_tensor(getattr(batch, f)) for f in BATCH_FIELDS]
        with torch.enable_grad():
            train = net(*args, shared_convolution=True)[0].detach().numpy()
        numpy.testing.assert_allclose(train, ref[0], rtol=0, atol=1e-5)
    pairs = {(c.head, c.tail) for c in X.cands[0]}
    assert all(((r.head.start, r.head.end), (r.tail.start, r.tail.end)) in pairs for r in out._.relations)
    wide = wide_pairs(pipe.model.get_ref("featurize"), doc, X.cands[0])
    return len(X.cands[0]), wide, over_cap


@pytest.mark.parametrize("lang,granularity,directed", SETTINGS)
def test_any_doc_is_predicted_and_both_paths_agree(lang, granularity, directed):
    nlp = pipeline(lang, granularity, directed)
    seen = []

    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(random_doc(lang, granularity))
    def check(data):
        seen.append(check_doc(nlp, data))

    check()
    # the examples reach what the test is about: candidates, wide pairs, and (ordered pairs) the cap
    assert sum(n for n, _, _ in seen) and sum(w for _, w, _ in seen)
    assert not directed or sum(c for _, _, c in seen)
