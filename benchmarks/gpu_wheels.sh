#!/usr/bin/env bash
# The offline install for the GPU check (issue 26): one folder holding the project's five wheels,
# built here with `pip wheel --no-deps`, and the third-party wheels the GPU machine lacks
# (benchmarks/gpu_wheels.txt; it has those of benchmarks/gpu_preinstalled.txt), with a
# requirements.txt that names them all. The target needs no build backend and no index:
#     pip install --no-index --no-deps --find-links DIR -r DIR/requirements.txt
# which is what `MT_WHEELS=DIR bash benchmarks/gpu_check.sh` runs first.
#
# From the repository root, on a machine with a package index:
#     bash benchmarks/gpu_wheels.sh [DIR]             # prepare DIR (default .whl)
#     bash benchmarks/gpu_wheels.sh --rehearse [DIR]  # then rehearse the target in a fresh venv
# Environment: PYTHON (default .venv/bin/python, else python3: it builds the wheels, with
# hatchling installed), MT_WHEEL_PYTHONS (Python versions to fetch binary wheels for; default
# 3.12, the target's, and this interpreter's so that the rehearsal can install them too).
#
# The rehearsal makes a fresh venv holding torch==2.13.0 (the target has 2.11) and exactly the
# packages of benchmarks/gpu_preinstalled.txt, without those of the folder, then runs `MT_WHEELS=DIR bash
# benchmarks/gpu_check.sh --cpu` with it: the offline install, then every CPU stage. Rehearsed
# on 2026-12-07 (Python 3.11, 2 shared cores), see benchmarks/README.md.

set -euo pipefail
cd "$(dirname "$(realpath "$0")")/.."
REHEARSE=0
if [[ ${1:-} == --rehearse ]]; then
    REHEARSE=1
    shift
fi
DIR=${1:-.whl}
if [[ -n ${PYTHON:-} ]]; then
    PY=$PYTHON
elif [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
else
    PY=python3
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
HERE=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
PYTHONS=${MT_WHEEL_PYTHONS:-$(printf '%s\n' 3.12 "$HERE" | sort -u | paste -sd ' ')}
PROJECT=(packages/metaticket-{core,datasets,models,methods} plugins/metaticket-metasgd)

mkdir -p "$DIR"
DIR=$(realpath "$DIR")
rm -f "$DIR"/metaticket_*.whl
# --no-build-isolation: hatchling from this interpreter, so that building needs no index
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DIR" "${PROJECT[@]}"
THIRD_PARTY=$(grep -v '^#' benchmarks/gpu_wheels.txt)
for version in $PYTHONS; do
    # shellcheck disable=SC2086  # one argument per requirement
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$version" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$DIR" $THIRD_PARTY
done
{
    echo "# pip install --no-index --no-deps --find-links $(basename "$DIR") -r this file"
    for p in "${PROJECT[@]}"; do basename "$p"; done
    echo "$THIRD_PARTY"
} >"$DIR/requirements.txt"
echo "$DIR: $(find "$DIR" -name '*.whl' | wc -l) wheels, $(du -sh "$DIR" | cut -f1)" \
    "(binary wheels for Python $PYTHONS)"

((REHEARSE)) || exit 0
VENV=$(mktemp -d)/target
echo "rehearsal: a fresh venv in $VENV with torch==2.13.0 and benchmarks/gpu_preinstalled.txt"
"$PY" -m venv "$VENV"
# shellcheck disable=SC2046  # one argument per package
"$VENV/bin/python" -m pip install -q torch==2.13.0 $(grep -v -e '^#' -e '^torch$' benchmarks/gpu_preinstalled.txt)
# what the target lacks, even where a newer release of one of its packages brought it here
# (typer 0.29 requires pydantic; the target's typer is older)
# shellcheck disable=SC2046
"$VENV/bin/python" -m pip uninstall -q -y $(grep -v '^#' benchmarks/gpu_wheels.txt | cut -d= -f1)
start=$SECONDS
MT_WHEELS=$DIR PYTHON=$VENV/bin/python bash benchmarks/gpu_check.sh --cpu
echo "rehearsal: gpu_check.sh --cpu took $((SECONDS - start)) s; folder $(du -sh "$DIR" | cut -f1)"
