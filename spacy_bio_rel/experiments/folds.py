"""Document-level folds of a pool of DocBins."""

from pathlib import Path
from typing import Dict, List, Sequence

import spacy
from spacy.tokens import Doc, DocBin

from spacy_bio_rel.converters.docs import DOC_ID_KEY
from spacy_bio_rel.converters.splits import kfold
from spacy_bio_rel.experiments.provenance import fold_inputs, reuse_or_clear, write_manifest
from spacy_bio_rel.training.readers import docs_from_docbin


class PoolError(ValueError):
    """A pool file is missing or holds no documents."""


def read_pool(paths: Sequence[Path], lang: str) -> List[Doc]:
    vocab = spacy.blank(lang).vocab
    docs: List[Doc] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise PoolError(f"Pool file {p} does not exist")
        try:
            part = docs_from_docbin(p, vocab)
        except ValueError as e:
            raise PoolError(str(e)) from e
        for i, d in enumerate(part):
            d.user_data.setdefault(DOC_ID_KEY, f"{p.stem}:{i}")
        docs.extend(part)
    if not docs:
        raise PoolError(f"The pool {list(map(str, paths))} holds no documents")
    return docs


def write_docs(docs: Sequence[Doc], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = DocBin(store_user_data=True)
    for d in docs:
        db.add(d)
    db.to_disk(path)


def make_folds(
    paths: Sequence[Path], lang: str, k: int, seed: int, out_dir: Path, overwrite: bool = False
) -> List[Path]:
    """``fold0.spacy`` ... under ``out_dir``: all Docs of a document go to one fold.

    Reused when ``out_dir/manifest.json`` records the same inputs (pool
    checksums, ``lang``, ``k``, ``seed``, package version); other folds there
    are an error, or are rebuilt with ``overwrite`` (see :mod:`.provenance`).
    """
    files = [out_dir / f"fold{i}.spacy" for i in range(k)]
    for p in paths:
        if not Path(p).is_file():
            raise PoolError(f"Pool file {p} does not exist")
    inputs = fold_inputs(paths, lang, k, seed)
    if reuse_or_clear(out_dir, inputs, "folds", overwrite, files):
        return files
    docs = read_pool(paths, lang)
    try:
        folds = kfold([d.user_data[DOC_ID_KEY] for d in docs], k, seed)
    except ValueError as e:  # too few documents for k folds
        raise PoolError(f"The pool {', '.join(map(str, paths))}: {e}; choose fewer folds") from None
    where: Dict[str, int] = {doc_id: i for i, ids in enumerate(folds) for doc_id in ids}
    for i, f in enumerate(files):
        write_docs([d for d in docs if where[d.user_data[DOC_ID_KEY]] == i], f)
    write_manifest(out_dir, inputs, pool=[str(p) for p in paths])
    return files


def split_dev(docs: Sequence[Doc], fraction: float, seed: int):
    """Hold out about ``fraction`` of the documents (by id) for checkpoint selection."""
    import random

    ids = sorted({d.user_data[DOC_ID_KEY] for d in docs})
    random.Random(seed).shuffle(ids)
    n_dev = max(1, int(round(len(ids) * fraction)))
    dev_ids = set(ids[:n_dev])
    return [d for d in docs if d.user_data[DOC_ID_KEY] not in dev_ids], [
        d for d in docs if d.user_data[DOC_ID_KEY] in dev_ids
    ]
