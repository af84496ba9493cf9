#!/usr/bin/env bash
# Convert stage: the frozen SavedModel in --out -> .tflite variants with embedded metadata.
# Run freeze/freeze.sh with the same --checkpoint/--out first (or use `make export` for everything).
# Usage: convert/convert.sh [preset] [--out DIR] [--variants fp32,fp16,dynamic_int8,int8,int16x8] [--calibration FILE]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m albert_edge.export "$@" --stages convert
