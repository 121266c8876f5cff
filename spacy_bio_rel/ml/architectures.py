"""Registered Thinc architectures: ``RelInput`` (Docs + candidates) -> ``RelScores``.

The model is a small Thinc tree::

    bio_tag_cnn
    |- featurize   RelInput -> RelBatch (unit / BIO-tag / entity-span arrays; vocabularies in attrs)
    |- network     PyTorchWrapper around ml.torch_model.BioTagCNN -> class and identification scores
    `- tok2vec     (v2, optional) List[Doc] -> List[Floats2d]: a dense channel per unit

``spacy-bio-rel.BioTagCNN.v1`` is the paper's network (word, BIO-tag and
position embeddings). ``spacy-bio-rel.BioTagCNN.v2`` adds an optional
``tok2vec`` sublayer (``spacy.Tok2Vec.v2``, ``spacy.Tok2VecListener.v1`` or
``spacy-transformers.TransformerListener.v1``) whose token vectors become one
more channel of each unit, beside (``use_words = true``) or instead of the
word embedding; a character reads the vector of its token. Gradients flow back
into the encoder. ``spacy-bio-rel.BioTagCNN.v3`` adds two options beyond the
paper (``entity_features``, ``unit_dropout``); ``spacy-bio-rel.BioTagCNN.v4`` one
more (``encoder_entity_features``); v1, v2 and v3 build v4 with the options
they lack off.

The builders take no defaults: the factory's ``default_config``
(:mod:`..component`) is the single source of the settings.
"""

from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import ArgsKwargs, Model, PyTorchWrapper_v2, torch2xp, xp2torch
from thinc.types import Floats2d

from spacy_bio_rel.data_classes import RelInput, RelScores
from spacy_bio_rel.ml.bio_tag_cnn import BioTagCNN
from spacy_bio_rel.ml.featurize import build_featurizer, check_saved_settings, vocab_sizes

BATCH_FIELDS = ("words", "tags", "lengths", "ent_sent", "ent_start", "ent_end", "pair_e1", "pair_e2")


@registry.architectures("spacy-bio-rel.BioTagCNN.v1")
def build_bio_tag_cnn(
    *,
    word_width: int,
    tag_width: int,
    position_width: int,
    max_distance: int,
    window_sizes: List[int],
    n_filters: int,
    hidden_width: int,
    dropout: float,
    activation: str,
    use_words: bool,
    use_tags: bool,
    use_positions: bool,
    shared_convolution: bool,
    granularity: str,
    lowercase: bool,
    min_freq: int,
    max_length: int,
) -> Model[RelInput, RelScores]:
    """Multi-window CNN with word, BIO-tag and position embeddings (Ye et al. 2019).

    ``shared_convolution = false`` runs the straightforward per-pair network
    (same parameters, same result, slower): a reference only.
    """
    settings = dict(locals())  # the parameters above, passed on by name
    return build_bio_tag_cnn_v4(
        tok2vec=None,
        tok2vec_width=0,
        entity_features=False,
        encoder_entity_features=False,
        unit_dropout=0.0,
        **settings,
    )


@registry.architectures("spacy-bio-rel.BioTagCNN.v4")
def build_bio_tag_cnn_v4(
    *,
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    tok2vec_width: int,
    word_width: int,
    tag_width: int,
    position_width: int,
    max_distance: int,
    window_sizes: List[int],
    n_filters: int,
    hidden_width: int,
    dropout: float,
    activation: str,
    use_words: bool,
    use_tags: bool,
    use_positions: bool,
    entity_features: bool,
    encoder_entity_features: bool,
    unit_dropout: float,
    shared_convolution: bool,
    granularity: str,
    lowercase: bool,
    min_freq: int,
    max_length: int,
) -> Model[RelInput, RelScores]:
    """The v3 network with optional encoder entity features (``encoder_entity_features``).

    With ``encoder_entity_features = true`` each target entity adds the mean of
    the encoder's vectors over its units beside the max-pooled sentence vector,
    before the hidden layer: the entity's contextual representation, which the
    max-pooled convolution blurs. It needs a ``tok2vec`` layer; its width
    follows the encoder's (``tok2vec_width``, read at initialize when 0). The
    encoder gets this feature's gradient too.

    With ``entity_features = true`` each target entity adds its mean unit
    (word or character) embedding and the embedding of its first unit's BIO
    tag, i.e. its type, beside the max-pooled sentence vector, before the
    hidden layer: the lexical entity features of Zeng et al. (2014). The
    embeddings are the network's own (shared with the convolution).
    ``unit_dropout``: in training, each known unit is read as the unknown unit
    with this probability (word dropout; 0 for none). With both off, the
    network is v2's, the paper's.
    """
    has_encoder = tok2vec is not None
    if encoder_entity_features and not has_encoder:
        raise ValueError(
            "[components.relation_extractor.model] encoder_entity_features = true reads the encoder's "
            "vectors, but the model has no tok2vec layer: add one ([components.relation_extractor.model.tok2vec]) "
            "or set encoder_entity_features = false."
        )
    module = BioTagCNN(
        word_width=word_width,
        tag_width=tag_width,
        position_width=position_width,
        max_distance=max_distance,
        window_sizes=window_sizes,
        n_filters=n_filters,
        hidden_width=hidden_width,
        dropout=dropout,
        activation=activation,
        use_words=use_words,
        use_tags=use_tags,
        use_positions=use_positions,
        shared_convolution=shared_convolution,
        tok2vec_width=int(tok2vec_width) if has_encoder else 0,
        entity_features=bool(entity_features),
        unit_dropout=float(unit_dropout),
        encoder_entity_features=bool(encoder_entity_features),
    )
    module.infer_tok2vec_width = has_encoder and int(tok2vec_width) == 0
    featurize = build_featurizer(granularity, lowercase, min_freq, max_length, with_tokens=has_encoder)
    network = PyTorchWrapper_v2(module, convert_inputs=_convert_inputs, convert_outputs=_convert_outputs)
    layers = [featurize, network] + ([tok2vec] if has_encoder else [])
    refs = {"featurize": featurize, "network": network}
    if has_encoder:
        refs["tok2vec"] = tok2vec
    return Model(
        "bio_tag_cnn",
        forward,
        init=init,
        layers=layers,
        refs=refs,
        dims={"nO": None},
        attrs={"tok2vec_width": int(tok2vec_width) if has_encoder else 0},
    )


@registry.architectures("spacy-bio-rel.BioTagCNN.v2")
def build_bio_tag_cnn_v2(
    *,
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    tok2vec_width: int,
    word_width: int,
    tag_width: int,
    position_width: int,
    max_distance: int,
    window_sizes: List[int],
    n_filters: int,
    hidden_width: int,
    dropout: float,
    activation: str,
    use_words: bool,
    use_tags: bool,
    use_positions: bool,
    shared_convolution: bool,
    granularity: str,
    lowercase: bool,
    min_freq: int,
    max_length: int,
) -> Model[RelInput, RelScores]:
    """The v1 network with an optional encoder channel.

    ``tok2vec``: a layer giving one vector per token, of width
    ``tok2vec_width`` (e.g. 384 for MiniLM-L6, the listener's ``width`` for a
    tok2vec listener); null for none (then ``tok2vec_width`` is ignored).
    """
    settings = dict(locals())  # the parameters above, passed on by name
    return build_bio_tag_cnn_v4(
        entity_features=False, encoder_entity_features=False, unit_dropout=0.0, **settings
    )


@registry.architectures("spacy-bio-rel.BioTagCNN.v3")
def build_bio_tag_cnn_v3(
    *,
    tok2vec: Optional[Model[List[Doc], List[Floats2d]]],
    tok2vec_width: int,
    word_width: int,
    tag_width: int,
    position_width: int,
    max_distance: int,
    window_sizes: List[int],
    n_filters: int,
    hidden_width: int,
    dropout: float,
    activation: str,
    use_words: bool,
    use_tags: bool,
    use_positions: bool,
    entity_features: bool,
    unit_dropout: float,
    shared_convolution: bool,
    granularity: str,
    lowercase: bool,
    min_freq: int,
    max_length: int,
) -> Model[RelInput, RelScores]:
    """The v2 network with optional lexical entity features (``entity_features``): each target's
    mean unit embedding and first BIO tag beside the pooled vector; and ``unit_dropout`` (see v4)."""
    settings = dict(locals())  # the parameters above, passed on by name
    return build_bio_tag_cnn_v4(encoder_entity_features=False, **settings)


def forward(model: Model[RelInput, RelScores], X: RelInput, is_train: bool):
    batch = model.get_ref("featurize").predict(X)
    network = model.get_ref("network")
    if not model.has_ref("tok2vec"):
        scores, backprop_net = network((batch, None), is_train)

        def backprop(dY: RelScores) -> RelInput:
            backprop_net(dY)
            return X

        return scores, backprop

    if not is_train:
        require_upstream_output(model.get_ref("tok2vec"), X.docs)
    vectors, backprop_tok2vec = model.get_ref("tok2vec")(X.docs, is_train)
    width = model.attrs["tok2vec_width"]
    if not width:
        raise ValueError(
            "The relation model's encoder channel has no width yet: it is read from the encoder at "
            "initialize (tok2vec_width = 0), and the encoder had none then. Initialize the encoder's "
            "component first (for a frozen one: [initialize.after_init] spacy-bio-rel.initialize_components.v1), "
            "or set [components.relation_extractor.model] tok2vec_width."
        )
    for doc, v in zip(X.docs, vectors):
        if v.shape[0] != len(doc) or (v.shape[0] and v.shape[1] != width):
            raise ValueError(
                f"The relation model's tok2vec gives vectors of shape {tuple(v.shape)} for a Doc of {len(doc)} "
                f"tokens, but [components.relation_extractor.model] tok2vec_width = {width}: set it to the "
                "encoder's output width."
            )
    lengths = [len(doc) for doc in X.docs]
    flat = model.ops.flatten(list(vectors)) if sum(lengths) else model.ops.alloc2f(0, width)
    scores, backprop_net = network((batch, flat), is_train)

    def backprop(dY: RelScores) -> RelInput:
        d_flat = backprop_net(dY)
        backprop_tok2vec(model.ops.unflatten(d_flat, model.ops.asarray1i(lengths)))
        return X

    return scores, backprop


# listener layer name -> (what it reads in prediction, where that output is on a Doc, that is missing)
LISTENERS = {
    "tok2vec-listener": ("tok2vec", "doc.tensor", lambda doc: doc.tensor.size == 0),
    "transformer-listener": (
        "transformer",
        "doc._.trf_data",
        lambda doc: getattr(doc._, "trf_data", None) is None,
    ),
}


def require_upstream_output(tok2vec: Model, docs: List[Doc]) -> None:
    """Raise if the encoder is a listener and a (non-empty) Doc carries no output of its upstream
    component: in prediction a listener reads that output from the Doc and, without it, gives zeros."""
    for node in tok2vec.walk():
        if node.name not in LISTENERS:
            continue
        kind, where, missing = LISTENERS[node.name]
        upstream = getattr(node, "upstream_name", "*")
        name = kind if upstream in (None, "*") else upstream
        for doc in docs:
            if len(doc) and missing(doc):
                raise ValueError(
                    f"The relation model's encoder is a listener of the '{name}' component, but a Doc of "
                    f"{len(doc)} tokens carries no output of '{name}' ({where} is empty): '{name}' did not "
                    f"run on it. Run '{name}' before the relation extractor (do not disable or exclude it), "
                    "or give the relation model its own copy of the encoder with "
                    f"nlp.replace_listeners('{name}', 'relation_extractor', ['model.tok2vec'])."
                )


def init(model: Model[RelInput, RelScores], X: Optional[RelInput] = None, Y=None) -> None:
    """Learn the vocabularies from ``X`` (all training Docs), initialise the
    encoder on a sample, and size the network (``nO``: number of class scores)."""
    model.get_ref("featurize").initialize(X=X)
    if model.has_ref("tok2vec"):
        tok2vec = model.get_ref("tok2vec")
        if X is not None and X.docs:
            _require_static_vectors(tok2vec, X.docs[0].vocab)
        # a listener whose upstream is not initialised yet (a frozen encoder, initialised after the
        # pipeline: training/callbacks.py) has no width to run with: it is sized by its upstream
        unsized = any(getattr(n, "upstream_name", None) and n.has_dim("nO") is None for n in tok2vec.walk())
        tok2vec.initialize(X=X.docs[:16] if X is not None and not unsized else None)
        width = encoder_width(tok2vec)
        if width is not None:
            size_tok2vec_channel(model, width)
    n_units, n_tags = vocab_sizes(model.get_ref("featurize"))
    n_out = model.get_dim("nO") if model.has_dim("nO") is True else 1
    torch_module(model).resize(n_units, n_tags, max(1, n_out))


def encoder_width(tok2vec: Model) -> Optional[int]:
    """The width of the vectors ``tok2vec`` gives, if known: its own ``nO``, else that of the listener in
    it (a transformer listener's pooling layer has no width of its own); None before its upstream is sized."""
    if tok2vec.has_dim("nO") is True:
        return int(tok2vec.get_dim("nO"))
    for node in tok2vec.walk():
        if node.name in LISTENERS and node.has_dim("nO") is True:
            return int(node.get_dim("nO"))
    return None


def size_tok2vec_channel(model: Model, width: int) -> None:
    """Give the network the encoder's output width ``width``: taken when the config says
    ``tok2vec_width = 0`` (read from the encoder), checked against a width the config sets."""
    configured = model.attrs["tok2vec_width"]
    module = torch_module(model)
    if not module.infer_tok2vec_width:
        if width != configured:
            raise ValueError(
                f"[components.relation_extractor.model] tok2vec_width = {configured}, but its tok2vec layer "
                f"gives vectors of width {width}: set tok2vec_width = {width}, or 0 to read it from the encoder."
            )
        return
    model.attrs["tok2vec_width"] = int(width)
    module.set_tok2vec_width(width)


def _require_static_vectors(tok2vec: Model, vocab) -> None:
    """A tok2vec that reads static vectors (``include_static_vectors = true``, configs/zh_vectors.cfg) needs
    vectors in the vocab; without them spaCy fails later with an IndexError."""
    if any(layer.name == "static_vectors" for layer in tok2vec.walk()) and vocab.vectors.size == 0:
        raise ValueError(
            "The relation model's tok2vec reads static vectors (include_static_vectors = true), but the "
            "pipeline has none: pass --paths.vectors DIR (a pipeline with vectors; make character vectors from "
            "your training text with `python -m spacy_bio_rel vectors TRAIN.spacy DIR --lang zh`)."
        )


def torch_module(model: Model) -> BioTagCNN:
    """The wrapped ``BioTagCNN`` of a model built by this module."""
    for node in model.walk():
        for shim in node.shims:
            module = getattr(shim, "_model", None)
            if isinstance(module, BioTagCNN):
                return module
    raise ValueError(f"Model {model.name!r} holds no BioTagCNN module")


def check_loaded_model(model: Model) -> None:
    """Raise a clear error if a loaded model's saved settings differ from its config."""
    check_saved_settings(model.get_ref("featurize"))


def _convert_inputs(model: Model, X, is_train: bool):
    batch, flat = X
    device = model.shims[0].device
    xp = model.ops.xp
    args = [xp2torch(xp.asarray(getattr(batch, f)), device=device) for f in BATCH_FIELDS]
    if flat is None:
        return ArgsKwargs(args=tuple(args), kwargs={}), lambda d: None
    vectors = xp2torch(flat, requires_grad=is_train, device=device)
    units = xp2torch(xp.asarray(batch.unit_tokens), device=device)
    args += [vectors, units]

    def backprop(d: ArgsKwargs):
        grad = d.args[len(BATCH_FIELDS)]
        return torch2xp(grad) if grad is not None else model.ops.alloc2f(*flat.shape)

    return ArgsKwargs(args=tuple(args), kwargs={}), backprop


def _convert_outputs(model: Model, X_Ytorch, is_train: bool):
    _, (classes, ident) = X_Ytorch
    Y = RelScores(classes=torch2xp(classes), ident=torch2xp(ident))
    device = model.shims[0].device

    def backprop(dY: RelScores) -> ArgsKwargs:
        grads = (xp2torch(dY.classes, device=device), xp2torch(dY.ident, device=device))
        return ArgsKwargs(args=((classes, ident),), kwargs={"grad_tensors": grads})

    return Y, backprop
