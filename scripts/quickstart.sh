#!/usr/bin/env bash
# Set up a virtualenv with the project and run the main job (`spacy project run all`:
# convert the embedded ACE-format sample, train briefly, evaluate) on CPU, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0   # CPU build; install it before the project
python -m pip install -q -e ".[dev]"
python -m spacy project run all
