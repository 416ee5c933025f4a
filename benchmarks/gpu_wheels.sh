#!/usr/bin/env bash
# Downloads the wheels benchmarks/gpu_check.sh installs on a torch-only GPU image (CPython 3.12, x86-64
# Linux): those of benchmarks/gpu_wheels.txt, never torch, into DIR (default the repository's .gpu-wheels,
# ignored by git), and refuses a set of 40 MiB or more (all that is sent to the GPU machine fits 64 MiB).
#
#   benchmarks/gpu_wheels.sh [DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-$HERE/../.gpu-wheels}
PYTHON=${PYTHON:-python3}
mkdir -p "$DIR"
rm -f "$DIR"/*.whl
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DIR" -r "$HERE/gpu_wheels.txt"
if compgen -G "$DIR/torch-*.whl" > /dev/null; then echo "gpu_wheels: torch must not be among them" >&2; exit 1; fi
bytes=$(du -cb "$DIR"/*.whl | tail -n 1 | cut -f1)
echo "gpu_wheels: $(ls "$DIR"/*.whl | wc -l) wheels, $(( bytes / 1024 )) KiB in $DIR"
(( bytes < 40 * 1024 * 1024 )) || { echo "gpu_wheels: $bytes bytes, over 40 MiB" >&2; exit 1; }
