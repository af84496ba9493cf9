#!/usr/bin/env bash
# `make android-aipack`: lays out a Play for On-device AI pack from the export folder, as LiteRT's
# NPU guide and its AI-pack exporter (litert/python/aot/ai_pack/export_lib.py) do: one model per
# SoC, delivered by device targeting on the SoC (Play, API 31+), and the CPU model for every other
# phone (device group "other").
#
#   android_demo/make_aipack.sh [EXPORT_DIR [VARIANT]]
#     EXPORT_DIR  default exports/albert_tiny; holds albert_tiny_<VARIANT>.tflite (the CPU model)
#                 and the export's per-SoC models albert_tiny_<VARIANT>.<soc>.tflite (e.g. .sm8650.)
#     VARIANT     default int8
#   AIPACK_DIR=DIR writes elsewhere (default android_demo/ai_pack, which app/build.gradle and
#   settings.gradle pick up: `./gradlew bundleRelease` then builds the AAB with the pack).
#
# Layout written (the pack is "albert_tiny_pack", install-time delivery):
#   ai_pack/device_targeting_configuration.xml       one <config:device-group> per SoC, each with a
#                                                     <config:system-on-chip manufacturer model/>
#                                                     selector (Qualcomm SoCs: "Qualcomm" and "QTI")
#   ai_pack/albert_tiny_pack/build.gradle             plugin com.android.ai-pack, packName, delivery
#   ai_pack/albert_tiny_pack/src/main/assets/model#group_<Vendor>_<SOC>/albert_tiny_<VARIANT>.tflite
#   ai_pack/albert_tiny_pack/src/main/assets/model#group_other/albert_tiny_<VARIANT>.tflite (CPU)
#   ... and beside each model target.txt: the SoC it was compiled for ("sm8650"; "other"), which the
#   app reads to know whether the delivered model/ is the AOT one (Play strips the #group_ suffix).
# Exit 2 (message, nothing written) when the export folder, the CPU model or a known vendor is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export_dir="${1:-$repo/exports/albert_tiny}"
variant="${2:-int8}"
out="${AIPACK_DIR:-$here/ai_pack}"
pack=albert_tiny_pack
name="albert_tiny_$variant.tflite"

die() { echo "error: $*" >&2; exit 2; }
[[ -d "$export_dir" ]] || die "$export_dir does not exist: run \`make export\` first (python -m albert_edge.export tiny)"
[[ "$variant" =~ ^[a-z0-9_]+$ ]] || die "variant '$variant': expected letters, digits and _ (e.g. int8, fp16)"
cpu_model="$export_dir/$name"
[[ -f "$cpu_model" ]] || die "$cpu_model not found: the pack needs the CPU model as the fallback for every other phone (variants present: $(find "$export_dir" -maxdepth 1 -name 'albert_tiny_*.tflite' -printf '%f ' 2>/dev/null))"

# SoC (lower case, as the export names files) -> "<group name> <manufacturer>..." for the selector.
vendor_of() {
  case "$1" in
    sm[0-9]* | qcs[0-9]* | sa[0-9]*) echo "Qualcomm Qualcomm QTI" ;;
    mt[0-9]*) echo "Mediatek Mediatek" ;;
    *) return 1 ;;
  esac
}

shopt -s nullglob
soc_models=("$export_dir/albert_tiny_$variant".*.tflite)
shopt -u nullglob
socs=()
for m in "${soc_models[@]}"; do
  soc="$(basename "$m" .tflite)"
  soc="${soc#"albert_tiny_$variant."}"
  [[ "$soc" =~ ^[a-z0-9]+$ ]] || die "$(basename "$m"): the SoC part '$soc' should be lower-case letters and digits (e.g. sm8650)"
  vendor_of "$soc" >/dev/null || die "$(basename "$m"): unknown SoC vendor for '$soc' (known: Qualcomm sm*/qcs*/sa*, MediaTek mt*)"
  socs+=("$soc")
done
[[ ${#socs[@]} -gt 0 ]] || echo "note: no albert_tiny_$variant.<soc>.tflite in $export_dir: the pack holds only the CPU model (group other)" >&2

# Build next to the destination, then swap it in: a failed run leaves the previous pack intact.
parent="$(dirname "$out")"
mkdir -p "$parent"
tmp="$(mktemp -d "$parent/.ai_pack.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
assets="$tmp/$pack/src/main/assets"
mkdir -p "$assets/model#group_other"
cp "$cpu_model" "$assets/model#group_other/$name"
echo other > "$assets/model#group_other/target.txt"
groups=""
for soc in "${socs[@]}"; do
  read -r vendor manufacturers <<< "$(vendor_of "$soc")"
  soc_upper="$(echo "$soc" | tr '[:lower:]' '[:upper:]')"
  group="${vendor}_${soc_upper}"
  mkdir -p "$assets/model#group_$group"
  cp "$export_dir/albert_tiny_$variant.$soc.tflite" "$assets/model#group_$group/$name"
  echo "$soc" > "$assets/model#group_$group/target.txt"
  groups+="    <config:device-group name=\"$group\">"$'\n'
  for manufacturer in $manufacturers; do
    groups+="        <config:device-selector>"$'\n'
    groups+="            <config:system-on-chip manufacturer=\"$manufacturer\" model=\"$soc_upper\"/>"$'\n'
    groups+="        </config:device-selector>"$'\n'
  done
  groups+="    </config:device-group>"$'\n'
done
{
  echo '<config:device-targeting-config'
  echo '    xmlns:config="http://schemas.android.com/apk/config">'
  printf '%s' "$groups"
  echo '</config:device-targeting-config>'
} > "$tmp/device_targeting_configuration.xml"
cat > "$tmp/$pack/build.gradle" <<GRADLE
// Written by android_demo/make_aipack.sh: the albert_edge model as a Play for On-device AI pack.
plugins {
    id "com.android.ai-pack"
}

aiPack {
    packName = "$pack"
    dynamicDelivery {
        deliveryType = "install-time"
    }
}
GRADLE
rm -rf "$out.old"
[[ -e "$out" ]] && mv "$out" "$out.old"
mv "$tmp" "$out"
rm -rf "$out.old"
trap - EXIT
echo "AI pack $pack in $out: model#group_other (CPU, $name)$(for s in "${socs[@]}"; do printf ', %s' "$s"; done)"
echo "build the bundle: (cd android_demo && ./gradlew bundleRelease)"
