#!/usr/bin/env bash
# The GPU check (weat_paper.bench.gpu, nbs/20b_gpu_check.ipynb): on one CUDA GPU, offline, in <= 5 minutes, every GPU row
# of BENCHMARKS.md. Runs from a bare checkout (weat_paper need not be installed). What a GPU machine without network lacks is in
# the ignored folder .gpu/ (made by tools/gpu_prepare.sh): the CIFAR-10 JPEG archive and pure-Python packages (site/).
#   bash tools/gpu_check.sh [--out DIR] [--smoke] [--archive PATH] ...    (options: python3 -m weat_paper.bench.gpu --help)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"                        # this checkout's weat_paper first
if [ -d .gpu/site ]; then export PYTHONPATH="$PYTHONPATH:$PWD/.gpu/site"; fi # then the carried packages, after the machine's own
export PYTHONUNBUFFERED=1
args=()
if [ -f .gpu/cifar10-jpg.tar.gz ]; then args+=(--archive .gpu/cifar10-jpg.tar.gz); fi
command -v nvidia-smi >/dev/null && { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true; }
exec "$PY" -m weat_paper.bench.gpu "${args[@]}" "$@"
