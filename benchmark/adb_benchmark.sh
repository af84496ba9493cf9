#!/usr/bin/env bash
# Single-device benchmark with nothing but adb and bash (no Python on the host).
# Usage: benchmark/adb_benchmark.sh BENCHMARK_BINARY MODEL.tflite [THREADS...]
# Env:   ADB (default adb), ANDROID_SERIAL, CPU_MASK (default f0; "none" = no taskset),
#        NUM_RUNS (50), WARMUP_RUNS (5), COOLDOWN_S (10), OUT (default ./adb_benchmark_out),
#        SIGNATURE (e.g. L128; required by recent builds for multi-signature models),
#        CLEANUP (1: remove binary+model afterwards; 0 keeps them so the next run skips the push)
# Pushes only when the on-device sha256 differs; writes one raw log per thread count and
# prints "threads  avg_ms  init_ms  peak/overall MB". Exit 1 if any run lacks a summary.
set -uo pipefail

ADB=${ADB:-adb}
[[ $# -ge 2 ]] || { echo "usage: $0 BENCHMARK_BINARY MODEL.tflite [THREADS...]" >&2; exit 2; }
BIN=$1; MODEL=$2; shift 2
THREADS=("$@"); [[ ${#THREADS[@]} -gt 0 ]] || THREADS=(1 4)
CPU_MASK=${CPU_MASK:-f0}; NUM_RUNS=${NUM_RUNS:-50}; WARMUP_RUNS=${WARMUP_RUNS:-5}
COOLDOWN_S=${COOLDOWN_S:-10}; OUT=${OUT:-./adb_benchmark_out}
REMOTE=/data/local/tmp/albert_edge
for f in "$BIN" "$MODEL"; do [[ -f $f ]] || { echo "error: not found: $f" >&2; exit 2; }; done
# Every value below reaches the phone's shell inside one adb shell string: plain names and numbers
# only (a signature or file name holding $(…) would run on the phone).
check() {  # name value pattern what
  [[ $2 =~ ^($3)$ ]] || { echo "error: $1=$2 is not $4; fix it (it is passed to the phone's shell)" >&2; exit 2; }
}
check SIGNATURE "${SIGNATURE:-L0}" '[A-Za-z_][A-Za-z0-9_]{0,63}' "a signature name (letters, digits, _)"
[[ "$CPU_MASK" == none ]] || check CPU_MASK "$CPU_MASK" '[0-9a-fA-F]{1,16}' "a hex CPU mask such as f0 (or none)"
check NUM_RUNS "$NUM_RUNS" '[1-9][0-9]{0,6}' "a positive integer"
check WARMUP_RUNS "$WARMUP_RUNS" '[0-9]{1,7}' "an integer >= 0"
check COOLDOWN_S "$COOLDOWN_S" '[0-9]{1,5}(\.[0-9]+)?' "a number of seconds >= 0"
check "model file name" "$(basename "$MODEL")" '[A-Za-z0-9][A-Za-z0-9._-]{0,127}' \
  "a plain file name (letters, digits, ._-): rename the file"
for t in "${THREADS[@]}"; do check THREADS "$t" '[1-9][0-9]?' "a thread count 1-99"; done
mkdir -p "$OUT"

state=$("$ADB" get-state 2>&1) || { echo "error: no usable device: $state" >&2; exit 3; }

push_if_changed() {  # local remote
  local want have
  want=$(sha256sum "$1" | cut -d' ' -f1)
  have=$("$ADB" shell sha256sum "$2" 2>/dev/null | cut -d' ' -f1)
  if [[ "$want" == "$have" ]]; then echo "skip  $(basename "$1") (hash matches)"; return 0; fi
  "$ADB" push "$1" "$2" >/dev/null || return 1
  have=$("$ADB" shell sha256sum "$2" | cut -d' ' -f1)
  [[ "$want" == "$have" ]] || { echo "error: hash mismatch after push of $1" >&2; return 1; }
  echo "push  $(basename "$1")"
}

"$ADB" shell mkdir -p "$REMOTE" || exit 3
push_if_changed "$BIN" "$REMOTE/benchmark_model" || exit 1
"$ADB" shell chmod 755 "$REMOTE/benchmark_model"
push_if_changed "$MODEL" "$REMOTE/$(basename "$MODEL")" || exit 1

pin=""; [[ "$CPU_MASK" != none ]] && pin="taskset $CPU_MASK "
sig=""; [[ -n "${SIGNATURE:-}" ]] && sig=" --signature_to_run_for=$SIGNATURE"
status=0; first=1
printf '%-8s %-10s %-10s %s\n' threads avg_ms init_ms memory_MB
for t in "${THREADS[@]}"; do
  [[ $first -eq 1 ]] || sleep "$COOLDOWN_S"; first=0
  log="$OUT/$(basename "$MODEL" .tflite)__t$t.log"
  "$ADB" shell "${pin}$REMOTE/benchmark_model --graph=$REMOTE/$(basename "$MODEL") --num_threads=$t \
--num_runs=$NUM_RUNS --warmup_runs=$WARMUP_RUNS --report_peak_memory_footprint=true$sig" >"$log" 2>&1
  line=$(grep -E 'Inference timings in us' "$log" | tail -1)
  if [[ -z "$line" ]]; then
    echo "error: threads=$t: no summary (see $log)" >&2; status=1; continue
  fi
  avg=$(sed -E 's/.*Inference \(avg\): ([0-9.e+]+).*/\1/' <<<"$line")
  init=$(sed -E 's/.*Init: ([0-9.e+]+),.*/\1/' <<<"$line")
  mem=$(grep -Eo '(overall=[0-9.e+]+|periodic monitoring: [0-9.e+]+)' "$log" | tail -1 | grep -Eo '[0-9.e+]+$')
  printf '%-8s %-10s %-10s %s\n' "$t" "$(awk -v v="$avg" 'BEGIN{printf "%.2f", v/1000}')" \
    "$(awk -v v="$init" 'BEGIN{printf "%.2f", v/1000}')" "${mem:--}"
done
if [[ "${CLEANUP:-1}" == 1 ]]; then
  "$ADB" shell rm -f "$REMOTE/benchmark_model" "$REMOTE/$(basename "$MODEL")" >/dev/null 2>&1
fi
exit $status
