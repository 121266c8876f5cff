#!/usr/bin/env bash
# One prepared GPU check, start to finish in a few minutes (well under 8 on one GPU):
#   1. installs the carried wheels (.whl/, from scripts/gpu_wheels.sh) and this checkout (--no-deps)
#      into /tmp/site;
#   2. converts the corpora with the project's converters, or takes .spacy files (.gpu_data/ from
#      scripts/gpu_wheels.sh --data: CoNLL04 and SanWen train and dev);
#   3. `spacy train --gpu-id 0` of configs/en_wordwise.cfg for 2 CoNLL04 epochs;
#   4. trains the network through the Python API on the device (30 steps), then checks that the fast
#      and reference paths agree to 1e-4 (scores, loss, gradients, predictions) in float32, and reports
#      the difference with PyTorch's TF32 defaults too;
#   5. scores the trained pipeline on dev with spacy.require_gpu (the Python API of `evaluate`), and
#      runs `python -m spacy_bio_rel predict MODEL DEV --gpu-id 0`;
#   6. `spacy train --gpu-id 0` of configs/zh_charwise.cfg for 1 SanWen epoch;
#   7. builds a randomly initialised BERT (4 layers, 256 wide; full transformer weights do not
#      travel), trains configs/en_trf.cfg on it for 1 CoNLL04 epoch with `spacy train --gpu-id 0`, and
#      runs `predict --gpu-id 0` with it;
# and writes gpu_check.log and gpu_check.json (seconds per epoch, sentences/s, peak GPU memory, the
# differences, each step's error if any) under $OUT, or ./gpu_check_out when OUT is unset.
#
#   scripts/gpu_check.sh [--cpu] [OPTIONS of scripts/gpu_check.py]
#
# Options: --train/--dev (CoNLL04: SpERT .json or .spacy), --zh-train/--zh-dev (SanWen: brat folder or
# .spacy), --en-epochs 2, --zh-epochs 1, --trf-epochs 1, --max-steps N (a cap on every training run).
# Default data: .gpu_data/*.spacy when present, else tests/fixtures (CoNLL04 small.json, brat/1.ann);
# nothing from the datasets ships with the repository.
# --cpu (or GPU_ID=-1) runs the same steps on the CPU: the dry run, e.g. `--cpu --max-steps 20`.
# PYTHON picks the interpreter (default python3); SITE the install folder (default /tmp/site); WHEELS
# the wheel folder (default .whl; WHEELS=none for a dry run in an environment that has spaCy).
#
# The wheels: the GPU machine has Python 3.12 with torch, CUDA 13 and cupy-cuda13x, but no spaCy and
# no network, and at most 64 MiB travels with a run. scripts/gpu_wheels.sh downloads spaCy, thinc,
# spacy-transformers and their needs for it into .whl/ (git-ignored) and slims them to about 30 MiB
# (its header says how). On the device tool: carry [".whl", ".gpu_data"], command
# `scripts/gpu_check.sh`, timeout_s 540.
set -uo pipefail
cd "$(dirname "$0")/.."
GPU_ID=${GPU_ID:-0}
if [ "${1:-}" = "--cpu" ]; then GPU_ID=-1; shift; fi
PY=${PYTHON:-python3}
SITE=${SITE:-/tmp/site}
DEST=${OUT:-./gpu_check_out}
mkdir -p "$DEST"
LOG="$DEST/gpu_check.log"
exec > >(tee "$LOG") 2>&1
export PYTHONUNBUFFERED=1
start=$(date +%s)
echo "[gpu_check] gpu_id=$GPU_ID options=${*:-none} python=$($PY -c 'import sys;print(sys.version.split()[0])')"
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
"$PY" scripts/gpu_check.py --gpu-id "$GPU_ID" --out "$DEST" "$@"
rc=$?
echo "[gpu_check] done in $(( $(date +%s) - start )) s, exit $rc; log $LOG, summary $DEST/gpu_check.json"
exit $rc
