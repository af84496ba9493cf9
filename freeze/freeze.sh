#!/usr/bin/env bash
# Freeze stage: checkpoint + config -> SavedModel (signatures L32/L64/L128) + frozen GraphDef.
# Usage: freeze/freeze.sh [preset] [--checkpoint DIR] [--config FILE] [--out DIR] [--seq-lens 32,64,128] [--task pairs|single|nli|mlm]
#        freeze/freeze.sh tiny --tf1-meta path/to/albert_model.ckpt      # albert_zh's own .meta graph -> frozen .pb
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python3
args=("$@")
for a in "$@"; do
  case "$a" in --tf1-meta|--frozen-graph) exec "$PY" -m albert_edge.export "${args[@]}" --variants fp32 ;; esac
done
exec "$PY" -m albert_edge.export "${args[@]}" --stages freeze
