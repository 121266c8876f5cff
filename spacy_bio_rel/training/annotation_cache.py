"""Reuse a frozen component's annotations across the epochs of a training run.

A frozen, annotating encoder (``[training] frozen_components`` and ``annotating_components``)
computes the same output for a Doc in every epoch, and on a CPU that forward pass is most of an
epoch's cost. :class:`AnnotationCache` wraps the component's ``pipe`` for the training run: the first
time a Doc's content is seen its annotation (for a transformer, ``doc._.trf_data``) is computed as
usual and stored; every later pass (the next epochs, the dev checks) reads the stored one.

What makes it exact: a frozen component's weights do not change, and its output is a function of the
Doc's content, keyed here by the text, the token boundaries and the sentence starts (the transformer
reads sentence spans). A stored output equals a recomputed one up to the float rounding of the batch
it was computed in (padding to a different length; about 1e-6), which is all that recomputing varies
by too. The cache also replays the draws from Python's ``random`` that the skipped passes would have
made (``_replay_draws``), so the epochs are shuffled as without it: with batches whose outputs do not
depend on their neighbours, a cached run trains the same weights bit for bit.

The cache lives on the pipe object of the training run only (``to_disk`` saves no trace of it) and
keeps float32 copies of the per-Doc arrays in memory. Past ``max_bytes`` it stops storing (and says
so once); the Docs already stored are still served.
"""

import copy
import hashlib
import random
import sys
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional

import numpy
from spacy.attrs import IDX, SENT_START
from spacy.tokens import Doc
from spacy.util import minibatch

try:
    from spacy_transformers.util import batch_by_length
except ImportError:  # pragma: no cover - spacy-transformers is an optional extra
    batch_by_length = None

GB = 1024**3


def doc_key(doc: Doc) -> bytes:
    """What a frozen encoder's output depends on: text, token offsets, sentence starts."""
    h = hashlib.blake2b(doc.text.encode("utf8"), digest_size=20)
    h.update(numpy.ascontiguousarray(doc.to_array([IDX, SENT_START]), dtype="int64").tobytes())
    return h.digest()


def _nbytes(value, seen: Optional[set] = None) -> int:
    """Bytes held by the arrays inside ``value`` (dataclasses, dicts, lists, numpy/cupy arrays)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if hasattr(value, "nbytes") and hasattr(value, "shape"):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(_nbytes(v, seen) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v, seen) for v in value)
    if hasattr(value, "__dict__"):
        return sum(_nbytes(v, seen) for v in vars(value).values())
    return 0


@dataclass
class CacheStats:
    stored: int = 0
    hits: int = 0
    computed: int = 0
    bytes: int = 0
    full: bool = False

    def describe(self) -> str:
        return (
            f"{self.stored:,} Docs stored ({self.bytes / GB:.2f} GB), {self.hits:,} read from the cache, "
            f"{self.computed:,} computed"
        )


class AnnotationCache:
    """Memoises ``pipe.pipe`` by Doc content for one training run (see the module doc).

    ``attr`` is the ``Doc._`` extension the component writes (``trf_data`` for a transformer).
    """

    def __init__(
        self,
        pipe,
        name: str,
        *,
        attr: str = "trf_data",
        max_bytes: int = 8 * GB,
        log: Optional[Callable[[str], None]] = None,
    ):
        self.pipe = pipe
        self.name = name
        self.attr = attr
        self.max_bytes = int(max_bytes)
        self.stats = CacheStats()
        self._store: Dict[bytes, object] = {}
        self._unwrapped = pipe.pipe
        self._log = log if log is not None else _stderr
        self._announced = False
        self._replays_draws = _is_transformer(pipe)

    def install(self) -> "AnnotationCache":
        self.pipe.pipe = self.pipe_docs
        return self

    def uninstall(self) -> None:
        self.pipe.__dict__.pop("pipe", None)
        self._store.clear()

    def pipe_docs(self, stream: Iterable[Doc], *, batch_size: int = 128, **kwargs) -> Iterator[Doc]:
        for batch in minibatch(stream, batch_size):
            batch = list(batch)
            keys = [doc_key(doc) for doc in batch]
            missing = [i for i, key in enumerate(keys) if key not in self._store]
            if missing:
                todo: List[Doc] = [batch[i] for i in missing]
                state = random.getstate()  # the draws of these passes are replayed below, for the batch
                # one call for the whole batch, as the component would see it without the cache
                for _ in self._unwrapped(todo, batch_size=len(todo), **kwargs):
                    pass
                random.setstate(state)
                self.stats.computed += len(todo)
                for i in missing:
                    self._keep(keys[i], getattr(batch[i]._, self.attr))
            self._replay_draws(batch)
            computed = set(missing)
            for i, (doc, key) in enumerate(zip(batch, keys)):
                if i in computed:
                    continue  # annotated by the component itself
                self.stats.hits += 1
                setattr(doc._, self.attr, self._store[key])
            if len(computed) < len(batch):
                self._announce()
            yield from batch

    def _replay_draws(self, batch: List[Doc]) -> None:
        """Draw from Python's ``random`` what the component would have drawn on ``batch``.

        spacy-transformers draws one number in each forward pass of its model (whether to flush the
        CUDA cache), and spaCy shuffles the training examples with the same generator: a pass the
        cache skips would otherwise change every later epoch's order. The Transformer component runs
        one forward pass per length group of a batch (``batch_by_length`` over ``max_batch_items``)
        that has a token.
        """
        if not self._replays_draws:
            return
        for indices in batch_by_length(batch, self.pipe.cfg["max_batch_items"]):
            if any(len(batch[i]) for i in indices):
                random.random()

    def _keep(self, key: bytes, value) -> None:
        if value is None or self.stats.full or key in self._store:
            return
        # A Doc's arrays are slices of its batch's padded arrays: copy them, so the batch is freed.
        value = copy.deepcopy(value)
        size = _nbytes(value)
        if self.stats.bytes + size > self.max_bytes:
            self.stats.full = True
            self._log(
                f"Annotation cache of {self.name!r} is full at {self.stats.bytes / GB:.2f} GB "
                f"(max_cache_gb): {self.stats.stored:,} Docs are read from it, the others computed every time"
            )
            return
        self._store[key] = value
        self.stats.stored += 1
        self.stats.bytes += size

    def _announce(self) -> None:
        if not self._announced:
            self._announced = True
            self._log(f"Annotation cache of {self.name!r}: reading stored output ({self.stats.describe()})")


def _is_transformer(pipe) -> bool:
    try:
        from spacy_transformers import Transformer
    except ImportError:  # pragma: no cover - spacy-transformers is an optional extra
        return False
    return isinstance(pipe, Transformer)


def _stderr(message: str) -> None:
    print(f"ℹ {message}", file=sys.stderr, flush=True)
