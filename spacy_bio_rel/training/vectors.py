"""Static unit vectors (characters for Chinese, tokens for English) learned from a corpus's own text.

Positive PMI over a symmetric context window, factorised by a truncated SVD
(Levy, Goldberg and Dagan 2015: context-distribution smoothing 0.75, vectors
U·√S). It needs no other corpus and no extra package, and it is deterministic
for a seed. The result is a blank spaCy pipeline that holds only the vectors,
the form that ``[initialize] vectors`` (``--paths.vectors``) loads, for
``spacy.StaticVectors.v2`` / ``include_static_vectors = true``.

The paper initialises its embeddings at random (method.md); these vectors are
an option for corpora too small to learn characters from their labels alone.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Sequence

import numpy

from spacy_bio_rel.training.readers import read_docbin_docs


@dataclass
class UnitCounts:
    """Unit frequencies and the symmetric co-occurrence matrix of the kept units."""

    units: List[str]
    cooccurrence: numpy.ndarray  # (V, V) float64, weighted counts
    seen: int = 0  # unit occurrences read (spaces left out)
    kept: int = 0  # occurrences of units with a vector
    dropped_types: int = 0  # distinct units under min_count (no vector)
    docs: int = 0
    settings: Dict = field(default_factory=dict)


def unit_sequences(docs: Iterable) -> Iterable[List[str]]:
    """Each Doc as its units: token texts (ORTH, the key ``spacy.StaticVectors`` looks vectors up by) without
    whitespace tokens; one character per token for spaCy's Chinese ``char`` segmenter."""
    for doc in docs:
        yield [t.text for t in doc if not t.is_space]


def count_units(
    sequences: Sequence[List[str]], window: int = 5, min_count: int = 2, distance_weighting: bool = True
) -> UnitCounts:
    """Count units and their co-occurrences within ``window`` units on each side (weight 1/d if
    ``distance_weighting``). Units seen fewer than ``min_count`` times get no row."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if min_count < 1:
        raise ValueError(f"min_count must be at least 1, got {min_count}")
    freq = Counter(u for seq in sequences for u in seq)
    units = sorted((u for u, n in freq.items() if n >= min_count), key=lambda u: (-freq[u], u))
    if len(units) < 2:
        raise ValueError(
            f"only {len(units)} distinct units occur at least {min_count} times: too little text"
        )
    index = {u: i for i, u in enumerate(units)}
    V = len(units)
    ids = [numpy.array([index.get(u, -1) for u in seq], dtype=numpy.int64) for seq in sequences]
    flat = numpy.zeros(V * V, dtype=numpy.float64)
    for d in range(1, window + 1):
        # Pairs at distance d within each sequence, all sequences at once.
        a = numpy.concatenate([x[:-d] for x in ids if len(x) > d] or [numpy.zeros(0, numpy.int64)])
        b = numpy.concatenate([x[d:] for x in ids if len(x) > d] or [numpy.zeros(0, numpy.int64)])
        ok = (a >= 0) & (b >= 0)
        pairs = numpy.concatenate([a[ok] * V + b[ok], b[ok] * V + a[ok]])
        flat += (1.0 / d if distance_weighting else 1.0) * numpy.bincount(pairs, minlength=V * V)
    seen = sum(freq.values())
    kept = sum(freq[u] for u in units)
    return UnitCounts(
        units=units,
        cooccurrence=flat.reshape(V, V),
        seen=seen,
        kept=kept,
        dropped_types=len(freq) - V,
        docs=len(sequences),
        settings={"window": window, "min_count": min_count, "distance_weighting": distance_weighting},
    )


def ppmi(cooccurrence: numpy.ndarray, smoothing: float = 0.75) -> numpy.ndarray:
    """Positive PMI with the context distribution raised to ``smoothing``; 0 where the count is 0."""
    C = numpy.asarray(cooccurrence, dtype=numpy.float64)
    total = C.sum()
    if total <= 0:
        raise ValueError("no co-occurrences counted: the documents are too short for the window")
    p_w = C.sum(axis=1) / total
    ctx = C.sum(axis=0) ** smoothing
    p_c = ctx / ctx.sum()
    with numpy.errstate(divide="ignore", invalid="ignore"):
        pmi = numpy.log((C / total) / numpy.outer(p_w, p_c))
    pmi[~numpy.isfinite(pmi)] = 0.0
    return numpy.maximum(pmi, 0.0)


def truncated_svd(A: numpy.ndarray, k: int, seed: int = 0, n_iter: int = 5, oversample: int = 10):
    """The top-``k`` singular triplets of ``A`` by randomised subspace iteration (Halko et al. 2011)."""
    m, n = A.shape
    k = min(k, m, n)
    rng = numpy.random.default_rng(seed)
    Q = A @ rng.standard_normal((n, min(n, k + oversample)))
    Q, _ = numpy.linalg.qr(Q)
    for _ in range(n_iter):
        Q, _ = numpy.linalg.qr(A.T @ Q)
        Q, _ = numpy.linalg.qr(A @ Q)
    U_small, S, Vt = numpy.linalg.svd(Q.T @ A, full_matrices=False)
    U = Q @ U_small
    # A fixed sign per component (largest entry positive): the same vectors on every platform.
    signs = numpy.sign(U[numpy.abs(U).argmax(axis=0), numpy.arange(U.shape[1])])
    signs[signs == 0] = 1.0
    return U[:, :k] * signs[:k], S[:k], Vt[:k] * signs[:k, None]


def unit_vectors(
    counts: UnitCounts, width: int = 100, seed: int = 0, smoothing: float = 0.75
) -> numpy.ndarray:
    """(V, width) float32 vectors U·√S of the PPMI matrix, each row scaled to unit length."""
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    if width > len(counts.units):
        raise ValueError(f"width {width} is more than the {len(counts.units)} units with a vector")
    U, S, _ = truncated_svd(ppmi(counts.cooccurrence, smoothing), width, seed=seed)
    vectors = U * numpy.sqrt(S)[None, :]
    norms = numpy.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(numpy.float32)


def read_sequences(path: Path, lang: str) -> List[List[str]]:
    """The unit sequences of every Doc in a DocBin file or folder of them."""
    import spacy

    docs = read_docbin_docs(path, spacy.blank(lang))
    if not docs:
        raise ValueError(f"no Docs in {path}")
    return list(unit_sequences(docs))


def save_vectors_pipeline(units: List[str], vectors: numpy.ndarray, lang: str, output: Path):
    """A blank ``lang`` pipeline whose vocab holds ``vectors`` (one row per unit), written to ``output``."""
    import spacy
    from spacy.vectors import Vectors

    nlp = spacy.blank(lang)
    keys = [nlp.vocab.strings.add(u) for u in units]
    nlp.vocab.vectors = Vectors(
        strings=nlp.vocab.strings, data=vectors, keys=keys, name=f"{lang}_unit_ppmi_svd"
    )
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return nlp


def learn_vectors(
    sequences: Sequence[List[str]],
    output: Path,
    lang: str,
    *,
    width: int = 100,
    window: int = 5,
    min_count: int = 2,
    seed: int = 0,
    source: str = "",
) -> Dict:
    """Count, factorise and save (a pipeline folder at ``output`` with ``unit_vectors.json``); returns the
    report: what was read, what got a vector and what did not."""
    counts = count_units(sequences, window=window, min_count=min_count)
    vectors = unit_vectors(counts, width=width, seed=seed)
    save_vectors_pipeline(counts.units, vectors, lang, output)
    report = {
        "data": source,
        "docs": counts.docs,
        "unit_occurrences": counts.seen,
        "units_with_vector": len(counts.units),
        "units_without_vector": counts.dropped_types,
        "occurrences_without_vector": counts.seen - counts.kept,
        "width": int(vectors.shape[1]),
        "seed": seed,
        **counts.settings,
    }
    (output / "unit_vectors.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report
