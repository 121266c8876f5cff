#!/usr/bin/env bash
# The wheels that scripts/gpu_check.sh installs on a GPU machine with no network, in .whl/ (git-ignored).
#
# That machine has Python 3.12, torch with CUDA 13 and cupy-cuda13x (which thinc's GPU ops use), numpy,
# typer's own needs, requests, jinja2, tqdm, packaging and setuptools, but no spaCy. So .whl/ holds spaCy,
# thinc and what they need beyond that, for CPython 3.12 on manylinux x86-64: about 60 MB, under the
# 64 MiB that travels (the project, about 3 MB, travels beside it). No cupy: cupy-cuda12x alone is
# larger than that, and the machine's cupy-cuda13x matches its CUDA. No spacy-transformers stack
# (transformers, tokenizers, huggingface-hub: 15 MB more) either: it does not fit with spaCy.
#
#     scripts/gpu_wheels.sh            # then: du -sh .whl
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mkdir -p .whl
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl \
    spacy==3.8.18 thinc==8.3.14 blis==1.3.4 cymem==2.0.16 preshed==3.0.15 murmurhash==1.0.16 \
    srsly==2.5.6 wasabi==1.1.3 weasel==1.0.1 catalogue==2.0.10 confection==1.3.4 \
    cloudpathlib==0.26.0 smart_open==9.0.4 spacy-legacy==3.0.12 spacy-loggers==1.0.5 \
    pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    typing-extensions==4.16.0 typer==0.29.2 click==8.5.1
du -sh .whl
