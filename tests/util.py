"""Shared test helpers: tiny models, trained components and pipelines (a few seconds each, cached).

``ruler_pipeline()``: an ``entity_ruler`` that finds the planted names, then a
``relation_extractor`` trained on the planted Docs of ``conftest.py`` with gold
entities. Raw text in, entities and relations out, deterministically.
"""

import functools
import sys
from pathlib import Path

import numpy
import spacy
import torch
from conftest import make_doc, planted_docs
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import fix_random_seed

from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN

SMALL_MODEL = {
    "@architectures": "spacy-bio-rel.BioTagCNN.v2",
    "word_width": 16,
    "tag_width": 8,
    "position_width": 8,
    "max_distance": 10,
    "window_sizes": [2, 3],
    "n_filters": 16,
    "hidden_width": 16,
    "dropout": 0.0,
    "min_freq": 1,
}


def gold_examples(docs):
    out = []
    for ref in docs:
        pred = ref.copy()
        pred.user_data.clear()
        out.append(Example(pred, ref))
    return out


_CACHE = {}


def trained(directed=True, epochs=20, **cfg):
    """A small pipeline trained on the planted data (cached per setting: tests only read it)."""
    key = (directed, epochs, tuple(sorted(cfg.items())))
    if key not in _CACHE:
        _CACHE[key] = _train(directed, epochs, **cfg)
    return _CACHE[key]


def _train(directed, epochs, **cfg):
    nlp = spacy.blank("en")
    config = {"model": SMALL_MODEL, "directed": directed}
    config.update(cfg)
    nlp.add_pipe("relation_extractor", config=config)
    examples = gold_examples(planted_docs(nlp))
    optimizer = nlp.initialize(lambda: examples)
    for _ in range(epochs):
        for i in range(0, len(examples), 8):
            nlp.update(examples[i : i + 8], sgd=optimizer)
    return nlp


def random_batch(seed, lengths, max_ents=5, long_entities=False):
    g = torch.Generator().manual_seed(seed)
    S, N = len(lengths), max(lengths)
    words = torch.zeros((S, N), dtype=torch.long)
    tags = torch.zeros((S, N), dtype=torch.long)
    ent_sent, ent_start, ent_end, e1, e2 = [], [], [], [], []
    for s, n in enumerate(lengths):
        words[s, :n] = torch.randint(2, 40, (n,), generator=g)
        tags[s, :n] = torch.randint(1, 9, (n,), generator=g)
        m = min(max_ents, n)
        first = len(ent_start)
        for k in range(m):
            if k == 0:  # an entity at the left edge
                a, b = 0, 1
            elif k == 1:  # an entity at the right edge
                a, b = n - 1, n
            else:
                a = int(torch.randint(0, n, (1,), generator=g))
                b = min(n, a + (int(torch.randint(1, n + 1, (1,), generator=g)) if long_entities else 1))
            ent_sent.append(s)
            ent_start.append(a)
            ent_end.append(b)
        for i in range(first, first + m):
            for j in range(first, first + m):
                if i != j:
                    e1.append(i)
                    e2.append(j)
    t = lambda x: torch.tensor(x, dtype=torch.long)  # noqa: E731
    return (words, tags, torch.tensor(lengths), t(ent_sent), t(ent_start), t(ent_end), t(e1), t(e2))


def default_model_settings():
    """The network settings of the factory's default_config (the one place they are written)."""
    from spacy_bio_rel.pipeline_component import DEFAULT_MODEL

    cfg = spacy.util.load_config_from_str(DEFAULT_MODEL)["model"]
    keys = ("word_width", "tag_width", "position_width", "max_distance", "window_sizes", "n_filters")
    keys += ("hidden_width", "dropout", "activation", "use_words", "use_tags", "use_positions")
    out = {k: cfg[k] for k in keys}
    out.update(
        shared_convolution=cfg["shared_convolution"],
        tok2vec_width=0,
        entity_features=False,
        encoder_entity_features=False,
        unit_dropout=0.0,
    )
    return out


def loss_settings(**kw):
    """LossSettings with the factory's defaults, overridden by ``kw``."""
    import spacy_bio_rel  # noqa: F401 (registers the factory)
    from spacy_bio_rel.training.losses import LossSettings

    meta = spacy.Language.get_factory_meta("relation_extractor")
    names = ("classification_loss", "multitask", "alpha", "beta", "margin_pos", "margin_neg", "gamma")
    settings = {k: meta.default_config[k] for k in names}
    settings.update(kw)
    return LossSettings(**settings)


def model(seed=0, **kw):
    torch.manual_seed(seed)
    settings = default_model_settings()
    settings.update(n_words=40, n_tags=9, n_classes=4, max_distance=6, dropout=0.0, n_filters=8)
    settings.update(kw)
    return BioTagCNN(**settings)


SMALL = [
    "--components.relation_extractor.model.word_width",
    "16",
    "--components.relation_extractor.model.tag_width",
    "8",
    "--components.relation_extractor.model.position_width",
    "8",
    "--components.relation_extractor.model.n_filters",
    "8",
    "--components.relation_extractor.model.window_sizes",
    "[2,3]",
    "--components.relation_extractor.model.min_freq",
    "1",
    "--training.max_epochs",
    "3",
    "--training.eval_frequency",
    "5",
]


def _write(docs, path):
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(path)


def chinese_docs(nlp, n=24):
    docs = []
    for i in range(n):
        name, org = ["张三", "李四", "王五"][i % 3], ["北京大学", "清华大学"][i % 2]
        text = f"{name}在{org}工作。"
        chars = list(text)
        doc = make_doc(
            nlp,
            chars,
            [(0, 2, "PER"), (3, 7, "ORG")],
            [(0, 1, "ORG-AFF")],
            sent_starts=[True] + [False] * (len(chars) - 1),
        )
        docs.append(doc)
    return docs


PEOPLE = ["Anna", "Bert", "Carl", "Dora", "Emil", "Fina", "Gus", "Hana"]
ORGS = ["Acme", "Globex", "Initech", "Umbrella"]
LOCS = ["Paris", "Oslo", "Lima", "Kyiv"]
E2E_SCORER = {"@scorers": "spacy-bio-rel.e2e_scorer.v1"}


def build_ruler_pipeline(epochs: int = 15, scorer=None, seed: int = 0):
    fix_random_seed(seed)
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": lab, "pattern": w}
            for lab, ws in (("PER", PEOPLE), ("ORG", ORGS), ("LOC", LOCS))
            for w in ws
        ]
    )
    config = {"model": SMALL_MODEL, "directed": True}
    if scorer is not None:
        config["scorer"] = scorer
    nlp.add_pipe("relation_extractor", config=config)
    examples = gold_examples(planted_docs(nlp))
    with nlp.select_pipes(enable=["relation_extractor"]):
        optimizer = nlp.initialize(lambda: examples)
        for _ in range(epochs):
            for i in range(0, len(examples), 8):
                nlp.update(examples[i : i + 8], sgd=optimizer)
    return nlp


@functools.lru_cache(maxsize=None)
def ruler_pipeline_path(root: str) -> Path:
    """The pipeline saved under ``root`` (trained once per test session)."""
    path = Path(root) / "ruler_pipeline"
    build_ruler_pipeline(scorer=E2E_SCORER).to_disk(path)
    return path


def tiny_bert(path, texts, width=32):
    """A randomly initialised 1-layer BERT whose vocabulary is the characters of ``texts``."""
    import transformers

    chars = sorted({c for t in texts for c in t.lower() if not c.isspace()})
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars) + "\n", encoding="utf-8"
    )
    tok = transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt"), tokenize_chinese_chars=True)
    tok.save_pretrained(str(path))
    config = transformers.BertConfig(
        vocab_size=5 + len(chars),
        hidden_size=width,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=128,
    )
    transformers.BertModel(config).save_pretrained(str(path))
    return str(path)


def spacy_train_command(config, out, data=None):
    """``python -m spacy train CONFIG --output OUT`` as a subprocess argument list, with
    ``--paths.train DATA/train.spacy --paths.dev DATA/dev.spacy`` when ``data`` is given."""
    cmd = [sys.executable, "-m", "spacy", "train", str(config), "--output", str(out)]
    if data is not None:
        cmd += [
            "--paths.train",
            str(Path(data) / "train.spacy"),
            "--paths.dev",
            str(Path(data) / "dev.spacy"),
        ]
    return cmd


def one_sentence(docs):
    """``docs`` with each Doc one sentence (a transformer's ``sent_spans`` needs sentence boundaries)."""
    for doc in docs:
        for t in doc:
            t.is_sent_start = t.i == 0
    return docs


def n_changed(before, model):
    """How many of the weights copied in ``before`` (:func:`model_weights`) ``model`` has changed."""
    after = model_weights(model)
    return sum(not numpy.array_equal(before[k], after[k]) for k in before)


def transformer_config(name, get_spans="spacy-transformers.sent_spans.v1"):
    """The ``transformer`` component's config for the model folder ``name`` (see ``tiny_bert``)."""
    return {
        "model": {
            "@architectures": "spacy-transformers.TransformerModel.v3",
            "name": name,
            "get_spans": {"@span_getters": get_spans},
        }
    }


TRF_LISTENER = {
    "@architectures": "spacy-transformers.TransformerListener.v1",
    "grad_factor": 1.0,
    "upstream": "transformer",
    "pooling": {"@layers": "reduce_mean.v1"},
}


def one_sentence_examples(docs):
    """Gold-entity Examples of ``docs``, each Doc one sentence (a transformer's ``sent_spans`` needs
    sentence boundaries)."""
    examples = gold_examples(docs)
    for eg in examples:
        one_sentence([eg.predicted, eg.reference])
    return examples


def model_weights(model):
    """Copies of every weight of ``model``: Thinc params and the weights of wrapped torch modules."""
    out = {
        (node.id, name): node.get_param(name).copy()
        for node in model.walk()
        for name in node.param_names
        if node.has_param(name)
    }
    for node in model.walk():
        for shim in node.shims:
            for name, t in shim._model.named_parameters():
                out[(shim.id, name)] = t.detach().cpu().numpy().copy()
    return out


# a small spaCy tok2vec written inline, for a relation model with its own encoder
INLINE_TOK2VEC = {
    "@architectures": "spacy.Tok2Vec.v2",
    "embed": {
        "@architectures": "spacy.MultiHashEmbed.v2",
        "width": 24,
        "attrs": ["NORM", "SHAPE"],
        "rows": [300, 50],
        "include_static_vectors": False,
    },
    "encode": {
        "@architectures": "spacy.MaxoutWindowEncoder.v2",
        "width": 24,
        "depth": 1,
        "window_size": 1,
        "maxout_pieces": 2,
    },
}
