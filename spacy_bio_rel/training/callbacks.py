"""Callbacks for ``[initialize]`` and ``[training]``.

``spacy-bio-rel.initialize_components.v1`` (``[initialize.after_init]``) initialises the named
components after ``nlp.initialize``. spaCy leaves ``[training] frozen_components`` uninitialised,
because it expects them sourced from a trained pipeline; a pretrained encoder built from its config
(a transformer folder or name) is ready once initialised, so it can be frozen and annotating
without a sourced pipeline:

    [training]
    frozen_components = ["transformer"]
    annotating_components = ["transformer"]

    [initialize.after_init]
    @callbacks = "spacy-bio-rel.initialize_components.v1"
    components = ["transformer"]

``spacy-bio-rel.frozen_encoder.v1`` does the same and, with ``cache = true``, computes each
frozen component's annotations once per distinct Doc and reads them back in the later epochs and
dev checks (annotation_cache.py): on a CPU the encoder's forward pass is most of an epoch, and it
repeats exactly in every epoch. Only frozen components can be cached (a training one changes):

    [initialize.after_init]
    @callbacks = "spacy-bio-rel.frozen_encoder.v1"
    components = ["transformer"]
    cache = true
    max_cache_gb = 8

Both work in ``[initialize.before_init]`` as well, where the frozen encoder is ready before the other
components initialise. A spaCy ``ner`` (or any parser) that listens to the frozen encoder needs that:
it reads its listener's width when it initialises, and a frozen component is not initialised by
spaCy. ``spacy-bio-rel.chain_callbacks.v1`` runs several callbacks in one slot, in order, e.g. with
the schedule check that the shipped configs keep there:

    [initialize.before_init]
    @callbacks = "spacy-bio-rel.chain_callbacks.v1"

    [initialize.before_init.*.schedule]
    @callbacks = "spacy-bio-rel.check_schedule.v1"

    [initialize.before_init.*.encoder]
    @callbacks = "spacy-bio-rel.frozen_encoder.v1"
    components = ["transformer"]

``spacy-bio-rel.learn_rate_scales.v1`` (``[training.before_update]``) gives named components a
learning rate of their own, as a multiple of ``[training.optimizer] learn_rate``. Thinc has one
optimizer, and so one rate, for the whole pipeline; a pretrained transformer wants a rate far below
what its freshly initialised heads (``ner``, ``relation_extractor``) need. A listener's
``grad_factor`` cannot do this under Adam, which divides every gradient by its own running scale:

    [training.optimizer.learn_rate]
    @schedules = "warmup_linear.v1"
    initial_rate = 1e-3    # the heads' rate

    [training.before_update]
    @callbacks = "spacy-bio-rel.learn_rate_scales.v1"
    scales = {"transformer": 0.05}    # the transformer trains at 5e-5

A scaled component's weight decay (Adam's ``L2``) is scaled with its rate.

``spacy-bio-rel.freeze_weights.v1`` (``[initialize.after_init]``) keeps some torch weights of a
component fixed while the rest of it trains: each named component's parameters whose names start
with one of the given prefixes get no gradient, so neither backpropagation nor the optimizer touches
them. A multilingual encoder's word-piece embeddings are the case it is for: in multilingual-e5-small
(250,002 pieces x 384) they are 96 M of its 118 M weights, a corpus uses a few thousand of the rows,
and on a CPU Adam's update of that matrix takes longer than the rest of a training step:

    [initialize.after_init]
    @callbacks = "spacy-bio-rel.freeze_weights.v1"
    weights = {"transformer": ["embeddings.word_embeddings"]}

The setting holds for the training run; a saved pipeline keeps its weights and trains them all when
it is trained again without the callback.

``spacy-bio-rel.bfloat16.v1`` (``[initialize.after_init]``) trains the named components'
transformers in bfloat16 mixed precision on the device they run on: their forward passes (training
steps and dev checks) run under ``torch.autocast(dtype=torch.bfloat16)``, the backward pass follows,
and the optimizer updates the float32 weights (ml/precision.py). On a CPU with native bfloat16
(AVX-512 BF16 or AMX) whole training steps of ``en_e2e_trf.cfg`` run 1.2-1.3 times as fast
(docs/training.md); on one without, bfloat16 is emulated and slower, and a warning says so.
``enabled = false`` leaves the run in float32, so a config can carry the block and switch it with a
variable:

    [initialize.after_init]
    @callbacks = "spacy-bio-rel.bfloat16.v1"
    components = ["transformer"]
    enabled = ${vars.bf16}

The saved weights are float32, as without it; ``predict --bf16`` runs the trained pipeline the way
its dev checks ran.
"""

import math
import weakref
from typing import Any, Callable, Dict, List

from spacy.language import Language
from spacy.util import registry

from ..ml.precision import use_bfloat16
from ..ml.torch_modules import wrapped_modules
from .annotation_cache import GB, AnnotationCache
from .optimizers import ScaledOptimizer


@registry.callbacks("spacy-bio-rel.initialize_components.v1")
def initialize_components(components: List[str]) -> Callable[[Language], Language]:
    def after_init(nlp: Language) -> Language:
        for name in components:
            pipe = _component(nlp, "[initialize.after_init] components", name)
            pipe.initialize(lambda: [], nlp=nlp)
            _size_listeners(nlp, pipe)
        for _, pipe in nlp.pipeline:  # models that read their encoder's width at initialize
            if hasattr(pipe, "size_encoder_channel"):
                pipe.size_encoder_channel()
        return nlp

    return after_init


@registry.callbacks("spacy-bio-rel.frozen_encoder.v1")
def frozen_encoder(
    components: List[str], cache: bool = True, max_cache_gb: float = 8.0
) -> Callable[[Language], Language]:
    """Initialise the frozen ``components`` (as ``initialize_components.v1``) and, with ``cache``,
    reuse their annotations across the run (at most ``max_cache_gb`` of them in memory)."""
    if isinstance(max_cache_gb, bool) or not isinstance(max_cache_gb, (int, float)) or not max_cache_gb > 0:
        raise ValueError(
            f"[initialize.after_init] max_cache_gb must be a positive number of GB, not {max_cache_gb!r}"
        )
    initialize = initialize_components(components)

    def after_init(nlp: Language) -> Language:
        frozen = list(nlp.config.get("training", {}).get("frozen_components", []))
        for name in components:
            _component(nlp, "[initialize.after_init] components", name)
            if cache and name not in frozen:
                raise ValueError(
                    f"[initialize.after_init] components: {name!r} is cached, so it must be in "
                    f"[training] frozen_components (now {frozen}): a component that trains changes its output, "
                    f"and a cache would serve stale annotations"
                )
        initialize(nlp)
        if cache:
            for name in components:
                AnnotationCache(nlp.get_pipe(name), name, max_bytes=int(max_cache_gb * GB)).install()
        return nlp

    return after_init


def _size_listeners(nlp: Language, pipe) -> None:
    """Give the listeners of ``pipe`` the width of its output, read from one annotated Doc (a listener
    of a component initialised after the pipeline has none)."""
    listeners = [n for n in getattr(pipe, "listeners", []) for n in n.walk() if n.has_dim("nO") is None]
    if not listeners:
        return
    doc = pipe(nlp.make_doc("a"))
    trf = getattr(doc._, "trf_data", None) if doc.has_extension("trf_data") else None
    width = int(trf.width) if trf is not None else int(doc.tensor.shape[1])
    for listener in listeners:
        listener.set_dim("nO", width)


@registry.callbacks("spacy-bio-rel.chain_callbacks.v1")
def chain_callbacks(*callbacks: Callable[[Language], Any]) -> Callable[[Language], Language]:
    """One ``[initialize]`` callback slot for several callbacks, run in the order given."""
    for i, callback in enumerate(callbacks):
        if not callable(callback):
            raise ValueError(
                f"spacy-bio-rel.chain_callbacks.v1: callback {i + 1} is not callable: {callback!r}"
            )

    def run(nlp: Language) -> Language:
        for callback in callbacks:
            callback(nlp)
        return nlp

    return run


@registry.callbacks("spacy-bio-rel.learn_rate_scales.v1")
def learn_rate_scales(scales: Dict[str, float]) -> Callable[[Language, Dict[str, Any]], None]:
    """Multiply the learning rate of each named component by its scale (from the first update on)."""
    for name, scale in scales.items():
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not math.isfinite(scale)
            or scale <= 0
        ):
            raise ValueError(
                f"[training.before_update] scales: the scale of {name!r} must be a positive number, not {scale!r}"
            )
    scaled = weakref.WeakSet()  # the pipes already scaled (a pipeline trains once per process, usually)

    def before_update(nlp: Language, info: Dict[str, Any]) -> None:
        for name, scale in scales.items():
            pipe = _component(nlp, "[training.before_update] scales", name)
            if pipe in scaled:
                continue
            _scale_updates(name, pipe, float(scale))
            scaled.add(pipe)

    return before_update


def _scale_updates(name: str, pipe, scale: float) -> None:
    unscaled = pipe.finish_update

    def finish_update(sgd):
        return unscaled(ScaledOptimizer(sgd, scale))

    try:
        pipe.finish_update = finish_update
    except AttributeError:
        raise ValueError(
            f"[training.before_update] scales: the learning rate of {name!r} ({type(pipe).__name__}) cannot be "
            f"scaled: its class does not let its updates be wrapped. Give its rate as "
            f"[training.optimizer] learn_rate and scale the other components instead."
        ) from None


@registry.callbacks("spacy-bio-rel.freeze_weights.v1")
def freeze_weights(weights: Dict[str, List[str]]) -> Callable[[Language], Language]:
    """Keep the torch parameters of each named component whose names start with a listed prefix fixed."""
    for name, prefixes in weights.items():
        if isinstance(prefixes, str) or not prefixes or not all(isinstance(p, str) and p for p in prefixes):
            raise ValueError(
                f"[initialize.after_init] weights: {name!r} takes a list of parameter-name prefixes, not {prefixes!r}"
            )

    def after_init(nlp: Language) -> Language:
        for name, prefixes in weights.items():
            params = _torch_parameters(_component(nlp, "[initialize.after_init] weights", name))
            if not params:
                raise ValueError(f"[initialize.after_init] weights: {name!r} has no torch weights to freeze")
            for prefix in prefixes:
                matched = [p for key, p in params if key == prefix or key.startswith(prefix + ".")]
                if not matched:
                    tops = sorted({key.split(".")[0] for key, _ in params})
                    raise ValueError(
                        f"[initialize.after_init] weights: no parameter of {name!r} is named {prefix!r} or "
                        f"starts with '{prefix}.' (its parameters start with: {tops})"
                    )
                for param in matched:
                    param.requires_grad_(False)
        return nlp

    return after_init


@registry.callbacks("spacy-bio-rel.bfloat16.v1")
def bfloat16(components: List[str], enabled: bool = True) -> Callable[[Language], Language]:
    """Run the transformers of the named ``components`` in bfloat16 mixed precision (when ``enabled``)."""
    if isinstance(components, str) or not components or not all(isinstance(c, str) for c in components):
        raise ValueError(f"[initialize.after_init] components: a list of component names, not {components!r}")
    if not isinstance(enabled, bool):
        raise ValueError(f"[initialize.after_init] enabled: true or false, not {enabled!r}")

    def after_init(nlp: Language) -> Language:
        for name in components:
            _component(nlp, "[initialize.after_init] components", name)
        if enabled:
            use_bfloat16(nlp, components)
        return nlp

    return after_init


def _torch_parameters(pipe) -> List[Any]:
    """(name, parameter) of every torch module wrapped in ``pipe``'s model, names as torch gives them."""
    return [
        item for module in wrapped_modules(getattr(pipe, "model", None)) for item in module.named_parameters()
    ]


def _component(nlp: Language, setting: str, name: str):
    """The pipe ``name`` of ``nlp``; a name the pipeline lacks is an error naming ``setting``."""
    if name not in nlp.component_names:
        raise ValueError(
            f"{setting}: {name!r} is not a component of the pipeline (components: {nlp.component_names})"
        )
    return nlp.get_pipe(name)
