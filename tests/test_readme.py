"""The README's code blocks run as written after the quick start's `spacy project run all`.

The project is copied to a temporary folder, `spacy project run all` trains the sample pipelines
there, then every ```python and ```bash block of the README runs in that folder, in order. A block
preceded by a line `<!-- not run: REASON -->` is skipped (the quick start itself, commands that need
a GPU or a corpus the repository does not ship); the test checks that such a reason is given.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>python|bash)\n(?P<code>.*?)\n```", re.S)


def readme_blocks():
    """(language, code, skip reason or None) of every python/bash block of the README, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        skip = re.match(r"<!-- not run: (.+?) -->", m.group("before").strip())
        out.append((m.group("lang"), m.group("code"), skip.group(1) if skip else None))
    return out


def test_every_block_is_run_or_says_why_not():
    blocks = readme_blocks()
    assert len(blocks) >= 6
    assert all(reason is None or len(reason) > 10 for _, _, reason in blocks)
    assert sum(reason is None for _, _, reason in blocks) >= 4


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_readme_code_blocks_run_after_the_quick_start(tmp_path):
    proj = tmp_path / "project"
    proj.mkdir()
    for name in ("project.yml", "configs", "assets", "scripts"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, proj / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python"  # `python` in a block is this interpreter (a symlink would leave its venv)
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    res = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "all"],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    for lang, code, reason in readme_blocks():
        if reason is not None:
            continue
        cmd = [sys.executable, "-c", code] if lang == "python" else ["bash", "-euo", "pipefail", "-c", code]
        res = subprocess.run(cmd, cwd=proj, env=env, capture_output=True, text=True)
        assert res.returncode == 0, f"README block failed:\n{code}\n--- stderr:\n{res.stderr[-3000:]}"
