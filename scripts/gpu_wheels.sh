#!/usr/bin/env bash
# What scripts/gpu_check.sh needs on a GPU machine with no network: wheels in .whl/ and, with --data,
# the converted corpora in .gpu_data/ (both git-ignored).
#
# That machine has Python 3.12, torch with CUDA 13 and cupy-cuda13x (which thinc's GPU ops use), numpy,
# typer's own needs, requests, jinja2, tqdm, packaging, setuptools, pyyaml, regex, safetensors, filelock
# and fsspec, but no spaCy; its transformers (5.x), tokenizers and huggingface-hub are newer than
# spacy-transformers 1.4 accepts. So .whl/ holds, for CPython 3.12 on manylinux x86-64, spaCy, thinc and
# what they need beyond that, and spacy-transformers with transformers 4.53.2, tokenizers 0.21 and
# huggingface-hub 0.36. At most 64 MiB travels with a run; as downloaded these are about 72 MiB, so
# scripts/slim_wheel.py rewrites them: the debug sections of their shared libraries go (spaCy's wheel
# drops from 34 to 6 MiB), and so do spaCy's tests, its languages other than en, zh, xx and the four
# whose tokenizers it registers at start (ja, ko, th, vi), and
# transformers' models other than BERT (whose configurations stay, as its auto classes read them).
# No cupy: cupy-cuda12x alone is larger than the limit, and the machine's cupy-cuda13x matches its CUDA.
#
#     scripts/gpu_wheels.sh                              # .whl/, about 30 MiB
#     scripts/gpu_wheels.sh --data ../shared/datasets    # and .gpu_data/: CoNLL04 and SanWen, about 10 MiB
#
# Then on the device tool: carry [".whl", ".gpu_data"], command `scripts/gpu_check.sh`, timeout_s 540.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DATASETS=
if [ "${1:-}" = "--data" ]; then DATASETS=${2:?--data needs the datasets folder (conll04/, sanwen/)}; fi
rm -rf .whl
mkdir -p .whl
"$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
    -d .whl \
    spacy==3.8.18 thinc==8.3.14 blis==1.3.4 cymem==2.0.16 preshed==3.0.15 murmurhash==1.0.16 \
    srsly==2.5.6 wasabi==1.1.3 weasel==1.0.1 catalogue==2.0.10 confection==1.3.4 \
    cloudpathlib==0.26.0 smart_open==9.0.4 spacy-legacy==3.0.12 spacy-loggers==1.0.5 \
    pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    typing-extensions==4.16.0 typer==0.29.2 click==8.5.1 \
    spacy-transformers==1.4.0 spacy-alignments==0.9.3 transformers==4.53.2 tokenizers==0.21.4 \
    huggingface-hub==0.36.2
for wheel in .whl/*.whl; do
    case "$wheel" in
        *-none-any.whl) ;;
        *) "$PY" scripts/slim_wheel.py "$wheel" --strip ;;
    esac
done
"$PY" scripts/slim_wheel.py .whl/spacy-*.whl --drop 'spacy/tests/*' 'spacy/lang/*/*' '*.pyx' '*.pxd' \
    '*.cpp' '*.h' --keep 'spacy/lang/en/*' 'spacy/lang/zh/*' 'spacy/lang/xx/*' \
    'spacy/lang/ja/*' 'spacy/lang/ko/*' 'spacy/lang/th/*' 'spacy/lang/vi/*'
"$PY" scripts/slim_wheel.py .whl/thinc-*.whl --drop 'thinc/tests/*' '*.pyx' '*.pxd' '*.cpp' '*.h'
"$PY" scripts/slim_wheel.py .whl/transformers-*.whl --drop 'transformers/models/*/*' \
    --keep 'transformers/models/auto/*' 'transformers/models/bert/*' 'transformers/models/encoder_decoder/*' \
    '*/__init__.py' 'transformers/models/*/configuration_*.py'
du -sh .whl
if [ -n "$DATASETS" ]; then
    rm -rf .gpu_data
    "$PY" -m spacy_bio_rel convert conll04 "$DATASETS/conll04/train.json" .gpu_data --name conll04_train
    "$PY" -m spacy_bio_rel convert conll04 "$DATASETS/conll04/dev.json" .gpu_data --name conll04_dev
    "$PY" -m spacy_bio_rel convert brat "$DATASETS/sanwen/train" .gpu_data --name sanwen_train
    "$PY" -m spacy_bio_rel convert brat "$DATASETS/sanwen/dev" .gpu_data --name sanwen_dev
    du -sh .gpu_data
fi
du -ch .whl ${DATASETS:+.gpu_data} | tail -n 1
