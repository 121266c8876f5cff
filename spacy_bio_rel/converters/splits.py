"""Document-level splits: k folds with a fixed seed, or user-given id lists.

Splitting is always by document, so sentences of one document never land in
two parts.
"""

import random
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

DEFAULT_FOLDS = 5
DEFAULT_SEED = 0


def kfold(doc_ids: Sequence[str], k: int = DEFAULT_FOLDS, seed: int = DEFAULT_SEED) -> List[List[str]]:
    """``k`` disjoint folds of the (unique) ids; the same ids and seed give the same folds."""
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    ids = sorted(set(doc_ids))
    if len(ids) < k:
        raise ValueError(f"{len(ids)} documents cannot fill {k} folds")
    random.Random(seed).shuffle(ids)
    return [sorted(ids[i::k]) for i in range(k)]


def normalize_id(item: str) -> str:
    """A path or file name -> the document id (base name without known suffixes)."""
    name = item.strip().replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".apf.xml", ".sgm", ".ann", ".txt", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_id_list(path: Union[str, Path]) -> List[str]:
    """One id per line; blank lines and ``#`` comments ignored; paths allowed."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Document id list {path} does not exist")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(normalize_id(line))
    return out


def assign_by_lists(
    doc_ids: Sequence[str], lists: Dict[str, Sequence[str]]
) -> Tuple[Dict[str, List[str]], List[str], Dict[str, List[str]], List[str]]:
    """Assign ``doc_ids`` to the named parts.

    Returns ``(parts, unassigned, missing, duplicates)``: the ids of each part,
    ids in no list, per part the listed ids with no document, and ids listed
    in two parts (they stay in the first).
    """
    owner: Dict[str, str] = {}
    duplicates = []
    for name, ids in lists.items():
        for i in ids:
            i = normalize_id(i)
            if i in owner and owner[i] != name:
                duplicates.append(i)
                continue
            owner[i] = name
    present = set(doc_ids)
    parts: Dict[str, List[str]] = {name: [] for name in lists}
    unassigned = []
    for d in doc_ids:
        if normalize_id(d) in owner:
            parts[owner[normalize_id(d)]].append(d)
        else:
            unassigned.append(d)
    present_norm = {normalize_id(d) for d in present}
    missing = {
        name: [normalize_id(i) for i in ids if normalize_id(i) not in present_norm]
        for name, ids in lists.items()
    }
    return parts, unassigned, missing, duplicates
