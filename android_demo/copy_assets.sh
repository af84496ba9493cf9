#!/usr/bin/env bash
# `make android-assets`: put the exported model(s), their sidecar metadata and the vocabulary into
# app/src/main/assets/, where the app finds them (it lists every albert_tiny_<variant>.tflite
# there; albert_tiny_<variant>.<soc>.tflite, compiled ahead of time for one SoC, is used for the
# NPU on that SoC and needs no .json of its own).
#
#   android_demo/copy_assets.sh [EXPORT_DIR] [VARIANT...]
#     EXPORT_DIR  default: exports/albert_tiny   (written by `python -m albert_edge.export tiny`)
#     VARIANT     e.g. int8 fp16; default: every albert_tiny_*.tflite in EXPORT_DIR
#   ASSETS_DIR=DIR puts them elsewhere (android_check.sh stages its APK's assets that way)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export_dir="${1:-$repo/exports/albert_tiny}"
shift || true
assets="${ASSETS_DIR:-$here/app/src/main/assets}"

die() { echo "error: $*" >&2; exit 2; }
[[ -d "$export_dir" ]] || die "$export_dir does not exist: run \`make export\` first (python -m albert_edge.export tiny)"

models=()
if [[ $# -gt 0 ]]; then
  for v in "$@"; do models+=("$export_dir/albert_tiny_$v.tflite"); done
else
  shopt -s nullglob
  for m in "$export_dir"/albert_tiny_*.tflite; do
    # --mediapipe's single-length files are for MediaPipe Tasks; the app reads the multi-length ones
    [[ "$m" == *.mediapipe.tflite ]] || models+=("$m")
  done
  shopt -u nullglob
fi
[[ ${#models[@]} -gt 0 ]] || die "no albert_tiny_*.tflite in $export_dir: run \`make export\` first"

mkdir -p "$assets"
vocab_names=()
if [[ $# -gt 0 ]]; then  # the named variants' per-SoC models (albert_tiny_<variant>.<soc>.tflite) too
  shopt -s nullglob
  for v in "$@"; do models+=("$export_dir/albert_tiny_$v".*.tflite); done
  shopt -u nullglob
fi
for m in "${models[@]}"; do
  [[ -f "$m" ]] || die "$m not found (variants present: $(find "$export_dir" -maxdepth 1 -name 'albert_tiny_*.tflite' -printf '%f '))"
  stem="$(basename "$m" .tflite)"
  if [[ "$stem" == *.* ]]; then
    # compiled ahead of time for one SoC (the NPU path): it shares the plain model's metadata
    [[ -f "$export_dir/${stem%%.*}.json" ]] || die "$m: ${stem%%.*}.json not found beside it (the per-SoC model uses the plain model's metadata)"
    cp "$m" "$assets/"
    echo "copied $(basename "$m") ($(du -h "$m" | cut -f1)), for the NPU of that SoC"
    continue
  fi
  json="${m%.tflite}.json"
  [[ -f "$json" ]] || die "$json not found: the app needs the sidecar metadata next to each model"
  cp "$m" "$json" "$assets/"
  # vocab_file named by the metadata (default vocab.txt), looked up next to the model first
  name="$(sed -n 's/.*"vocab_file"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$json" | head -n1)"
  vocab_names+=("${name:-vocab.txt}")
  echo "copied $(basename "$m") ($(du -h "$m" | cut -f1)) + $(basename "$json")"
done
for name in $(printf '%s\n' "${vocab_names[@]}" | sort -u); do
  if [[ -f "$export_dir/$name" ]]; then
    cp "$export_dir/$name" "$assets/$name"
  else
    cp "$repo/albert_edge/resources/vocab.txt" "$assets/$name"
  fi
  echo "copied $name"
done
echo "assets ready in $assets — build and install: (cd android_demo && ./gradlew installDebug)"
