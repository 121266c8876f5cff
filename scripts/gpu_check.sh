#!/usr/bin/env bash
# One prepared GPU check, start to finish in a few minutes (well under 8 on one GPU):
#   1. installs the carried wheels (.whl/, from scripts/gpu_wheels.sh) and this checkout (--no-deps)
#      into /tmp/site;
#   2. converts a CoNLL04 slice (SpERT JSON) with the project's converter, or takes .spacy files;
#   3. `python -m spacy train configs/en_wordwise.cfg --gpu-id 0 --training.max_steps 100`;
#   4. trains the network through the Python API on the device (30 steps), then checks that the fast
#      and reference paths agree to 1e-4 (scores, loss, gradients, predictions) in float32, and reports
#      the difference with PyTorch's TF32 defaults too;
#   5. scores the trained pipeline on dev with spacy.require_gpu (the Python API of `evaluate`);
#   6. `python -m spacy_bio_rel predict MODEL DEV --gpu-id 0`;
# and writes gpu_check.log and gpu_check.json (seconds per epoch, pairs/s, peak GPU memory, the
# differences, each step's error if any) under $OUT, or ./gpu_check_out when OUT is unset.
#
#   scripts/gpu_check.sh [--cpu] [TRAIN [DEV]]      # TRAIN/DEV: SpERT-style .json or .spacy
#
# Default data: tests/fixtures/conll04/small.json (5 sentences) as train and dev. For real figures,
# copy converted CoNLL04 DocBins into a git-ignored folder that travels, e.g. .gpu_data/ (add it to
# .git/info/exclude), and pass them: scripts/gpu_check.sh .gpu_data/train.spacy .gpu_data/dev.spacy
# (CoNLL04 train is 0.3 MB; nothing from the datasets ships with the repository).
# --cpu (or GPU_ID=-1) runs the same steps on the CPU: the dry run. PYTHON picks the interpreter
# (default python3); SITE the install folder (default /tmp/site); WHEELS the wheel folder (default
# .whl; WHEELS=none for a dry run in an environment that has spaCy).
#
# The wheels: the GPU machine has Python 3.12 with torch, CUDA 13 and cupy-cuda13x, but no spaCy and
# no network, and at most 64 MiB travels with a run. scripts/gpu_wheels.sh downloads spaCy, thinc and
# their needs for it into .whl/ (git-ignored, about 58 MiB) with
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 ... -d .whl spacy==3.8.18 thinc==8.3.14 blis cymem preshed \
#       murmurhash srsly wasabi weasel catalogue confection cloudpathlib smart_open spacy-legacy \
#       spacy-loggers pydantic pydantic-core annotated-types typing-inspection typing-extensions typer click
# (the versions are pinned in that script). cupy is not carried: the machine's cupy-cuda13x serves
# thinc, and cupy-cuda12x alone is over the limit. On the device tool: carry [".whl"] (and the data
# folder), command `scripts/gpu_check.sh`, timeout_s 540.
set -uo pipefail
cd "$(dirname "$0")/.."
GPU_ID=${GPU_ID:-0}
if [ "${1:-}" = "--cpu" ]; then GPU_ID=-1; shift; fi
TRAIN=${1:-tests/fixtures/conll04/small.json}
DEV=${2:-$TRAIN}
PY=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
DEST=${OUT:-./gpu_check_out}
mkdir -p "$DEST"
LOG="$DEST/gpu_check.log"
exec > >(tee "$LOG") 2>&1
export PYTHONUNBUFFERED=1
start=$(date +%s)
echo "[gpu_check] gpu_id=$GPU_ID train=$TRAIN dev=$DEV python=$($PY -c 'import sys;print(sys.version.split()[0])')"
if [ "$GPU_ID" -ge 0 ] && command -v nvidia-smi >/dev/null; then nvidia-smi -L; fi
mkdir -p "$SITE"
WHEELS=${WHEELS:-.whl}
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    echo "[gpu_check] installing $(ls "$WHEELS"/*.whl | wc -l) wheels into $SITE"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl || exit 2
fi
# the checkout, for its entry points (spaCy finds the factory, readers and callbacks through them)
"$PY" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --no-cache-dir --upgrade \
    --target "$SITE" . || exit 2
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
"$PY" scripts/gpu_check.py --gpu-id "$GPU_ID" --train "$TRAIN" --dev "$DEV" --out "$DEST"
rc=$?
echo "[gpu_check] done in $(( $(date +%s) - start )) s, exit $rc; log $LOG, summary $DEST/gpu_check.json"
exit $rc
