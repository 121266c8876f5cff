"""What produced a fold set or a run: a ``manifest.json`` beside it, checked before it is reused.

A manifest holds the ``inputs`` that determine the outputs (pool checksums,
folds, seed, language; for a run also the fold, variant, ratio, dev fraction,
the config file's checksum, the overrides, and the package version) and, for
the reader, the pool paths. Existing outputs are reused only when their
recorded inputs equal the current ones exactly; otherwise the experiment stops
with a :class:`StaleOutputError` telling the user to pass ``--overwrite``
(rebuild) or to choose a new output folder. Outputs with no manifest (written
before manifests existed) count as different.
"""

import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

MANIFEST = "manifest.json"


class StaleOutputError(ValueError):
    """An output folder holds results of other inputs."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_version() -> str:
    try:
        return metadata.version("spacy-bio-rel")
    except metadata.PackageNotFoundError:
        return "unknown"


def plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists, keys strings, sorted)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def fold_inputs(pool: Sequence[Path], lang: str, folds: int, seed: int) -> Dict[str, Any]:
    return plain(
        {
            "pool_sha256": [sha256_file(Path(p)) for p in pool],
            "lang": lang,
            "folds": folds,
            "seed": seed,
            "package_version": package_version(),
        }
    )


def run_inputs(
    folds: Dict[str, Any],
    fold: int,
    variant: str,
    ratio: Optional[float],
    seed: int,
    dev_fraction: float,
    config: Path,
    overrides: Dict[str, Any],
) -> Dict[str, Any]:
    return plain(
        {
            "folds": folds,
            "fold": fold,
            "variant": variant,
            "negative_ratio": ratio,
            "seed": seed,
            "dev_fraction": dev_fraction,
            "config_sha256": sha256_file(Path(config)),
            "overrides": overrides,
            "package_version": package_version(),
        }
    )


def read_inputs(folder: Path) -> Optional[Dict[str, Any]]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_manifest(folder: Path, inputs: Dict[str, Any], **recorded: Any) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"inputs": inputs, **plain(recorded)}, indent=2, ensure_ascii=False, sort_keys=True)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def differences(old: Optional[Dict[str, Any]], new: Dict[str, Any]) -> List[str]:
    if old is None:
        return ["no manifest (written by an older version, or by hand)"]
    return [
        f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def reuse_or_clear(
    folder: Path, inputs: Dict[str, Any], what: str, overwrite: bool, outputs: Sequence[Path]
) -> bool:
    """True when ``outputs`` exist and were made from ``inputs``; otherwise clear ``folder`` with
    ``overwrite`` (returns False) or raise StaleOutputError. No outputs: the folder is cleared."""
    old = read_inputs(folder)
    if outputs and all(p.exists() for p in outputs) and old == inputs:
        return True
    if any(p.exists() for p in outputs) and not overwrite:
        raise StaleOutputError(
            f"{folder} holds {what} made from other inputs ({'; '.join(differences(old, inputs))}): "
            f"pass --overwrite to rebuild it, or choose a new --output-dir folder"
        )
    if folder.exists():
        shutil.rmtree(folder)
    return False
