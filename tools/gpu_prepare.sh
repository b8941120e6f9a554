#!/usr/bin/env bash
# Fill the ignored folder .gpu/ that the GPU check needs on a machine without network (see BENCHMARKS.md):
# the CIFAR-10 JPEG archive (19 MB) and pyautoattack's Python files (its wheel is 42 MB, almost all of it an example
# model; the files the check imports are 0.2 MB), so that the checkout and .gpu/ stay small to copy.
#   WEAT_CIFAR10_JPG=/path/to/cifar10-jpg.tar.gz bash tools/gpu_prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${WEAT_CIFAR10_JPG:-data/cifar10-jpg.tar.gz}
[ -f "$archive" ] || { echo "gpu_prepare: CIFAR-10 JPEG archive not found at $archive; set WEAT_CIFAR10_JPG" >&2; exit 1; }
mkdir -p .gpu
cp "$archive" .gpu/cifar10-jpg.tar.gz
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "pyautoattack==0.2.0"
rm -rf .gpu/site; mkdir -p .gpu/site
python3 - "$tmp" <<'PY'
import sys, zipfile, glob
whl = glob.glob(f"{sys.argv[1]}/pyautoattack-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith("pyautoattack/") and n.endswith(".py") and "/examples/" not in n: z.extract(n, ".gpu/site")
PY
du -sh .gpu
