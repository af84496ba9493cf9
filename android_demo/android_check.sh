#!/usr/bin/env bash
# `make android-check`: builds a debug APK of the demo from Debian's Android tools, without Gradle,
# and checks it. It proves resources, manifest, dex and packaging — not inference on a phone: the
# APK has NO LiteRT runtime inside (LiteRT's AAR comes from Maven, which only the real build,
# Android Studio / Gradle, reaches). On a phone it should start and, on Compare, say LiteRT's
# runtime is missing. (The inference path itself runs here on LiteRT's C API: app/similarity-jvm.)
#
#   android_demo/android_check.sh [EXPORT_DIR [OUT_DIR]]
#     EXPORT_DIR  default exports/albert_tiny (`make export`); its albert_tiny_int8.tflite, .json and
#                 vocabulary go into assets/
#     OUT_DIR     default android_demo/build/android-check; the APK is OUT_DIR/albert_edge_demo-debug.apk
#
# Steps, each printed as "ok: ..." (exit 1 naming the failed step; exit 2 when a tool or the
# export is missing):
#   1. aapt2 compile + link res/ and the manifest against framework-res.apk (android-framework-res)
#   2. javac core + app against android.jar (API 23) + LiteRT's API (app/src/jvm; not packaged)
#   3. dx (dalvik-exchange) to classes.dex; dexdump must show 0 invoke-custom (no lambda survives)
#   4. model + json + vocab in assets/, the .tflite stored uncompressed (it is memory-mapped)
#   5. zipalign, sign with a debug key made on the fly (keytool), zipalign -c, apksigner verify
#   6. aapt dump badging: package, versions, SDK levels and launcher activity as app/build.gradle says
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export_dir="${1:-$repo/exports/albert_tiny}"
out="${2:-$here/build/android-check}"
variant=int8
android_jar="${ANDROID_JAR:-/usr/lib/android-sdk/platforms/android-23/android.jar}"
framework_res="${FRAMEWORK_RES:-/usr/share/android-framework-res/framework-res.apk}"

die() { echo "error: $*" >&2; exit 2; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

[[ -f "${JNA_JAR:-/usr/share/java/jna.jar}" ]] || die "JNA not found: android_demo/install_deps.sh (libjna-java) or set JNA_JAR"
for tool in javac keytool aapt aapt2 zipalign apksigner dalvik-exchange dexdump zip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found: run android_demo/install_deps.sh as root"
done
[[ -f "$android_jar" ]] || die "$android_jar not found: run android_demo/install_deps.sh as root"
[[ -f "$framework_res" ]] || die "$framework_res not found: run android_demo/install_deps.sh as root"
model="$export_dir/albert_tiny_$variant.tflite"
[[ -f "$model" ]] || die "$model not found: run \`make export\` first (a few minutes), or pass an export folder"

# Package, versions and SDK levels come from app/build.gradle, the one place Gradle reads them too.
gradle_value() {
  local value
  value="$(sed -n "s/^[[:space:]]*$1[[:space:]]\{1,\}\"\{0,1\}\([^\"[:space:]]*\)\"\{0,1\}[[:space:]]*$/\1/p" \
    "$here/app/build.gradle" | head -n1)"
  [[ -n "$value" ]] || fail "app/build.gradle: no '$1' line"
  echo "$value"
}
package="$(gradle_value applicationId)"
min_sdk="$(gradle_value minSdk)"
target_sdk="$(gradle_value targetSdk)"
version_code="$(gradle_value versionCode)"
version_name="$(gradle_value versionName)"

rm -rf "$out"
mkdir -p "$out/assets" "$out/gen" "$out/classes" "$out/litert-jvm"
apk="$out/albert_edge_demo-debug.apk"

# 1. Resources and manifest. AGP takes the package from `namespace` and writes it into the merged
# manifest; aapt2 needs it literally, so it goes into a copy (the source manifest must not have one).
grep -q 'package=' "$here/app/src/main/AndroidManifest.xml" \
  && fail "AndroidManifest.xml has a package= attribute; AGP 8 wants it only as namespace in app/build.gradle"
sed "s#<manifest #<manifest package=\"$package\" #" "$here/app/src/main/AndroidManifest.xml" > "$out/AndroidManifest.xml"
aapt2 compile --dir "$here/app/src/main/res" -o "$out/res.zip" || fail "aapt2 compile of app/src/main/res"
ASSETS_DIR="$out/assets" bash "$here/copy_assets.sh" "$export_dir" "$variant" >/dev/null
# --warn-manifest-validation: aapt2 of Android 10 does not know <uses-native-library> (API 31);
# unknown elements become warnings, while unknown attributes and resource references still fail.
# "-0 .tflite" with the dot: this aapt2 compresses assets given as "-0 tflite" (checked in step 4).
aapt2 link -o "$out/linked.apk" -I "$framework_res" --manifest "$out/AndroidManifest.xml" \
  --java "$out/gen" --min-sdk-version "$min_sdk" --target-sdk-version "$target_sdk" \
  --version-code "$version_code" --version-name "$version_name" \
  -A "$out/assets" -0 .tflite --warn-manifest-validation "$out/res.zip" \
  || fail "aapt2 link (resources/manifest against framework-res)"
ok "aapt2 compile + link against $(basename "$framework_res"): resources, manifest, R.java"

# 2. Java. --release 8: dx reads class files up to Java 8, and Android 8.0's java.* library is
# Java 8's, so a Java 9+ API used by mistake fails here instead of on the phone.
jna="${JNA_JAR:-/usr/share/java/jna.jar}"
mapfile -t litert_sources < <(find "$here/app/src/jvm/java/com" -name '*.java')
javac -encoding UTF-8 --release 8 -nowarn -cp "$jna" -d "$out/litert-jvm" "${litert_sources[@]}" >/dev/null
mapfile -t sources < <(find "$here/core/src/main/java" "$here/app/src/main/java" "$out/gen" -name '*.java')
javac -encoding UTF-8 --release 8 -Xlint:-options -cp "$android_jar:$out/litert-jvm" \
  -d "$out/classes" "${sources[@]}" || fail "javac of core + app against android.jar (API 23)"
ok "javac --release 8 of core + app + R against android-23 android.jar (LiteRT's API not packaged)"

# 3. Dex. Java 8 lambdas become invoke-custom + LambdaMetafactory under dx, which Android has
# not got; Gradle's D8 would desugar them, dx cannot, so the sources have none and we check it.
dalvik-exchange --dex --min-sdk-version="$min_sdk" --output="$out/classes.dex" "$out/classes" \
  || fail "dx (dalvik-exchange)"
dexdump -d "$out/classes.dex" > "$out/classes.dump" || fail "dexdump of classes.dex"
invoke_custom="$(grep -c 'invoke-custom' "$out/classes.dump" || true)"
[[ "$invoke_custom" == 0 ]] || fail "classes.dex has $invoke_custom invoke-custom (a lambda or method reference in core/ or app/)"
for cls in org/albertedge/demo/MainActivity org/albertedge/demo/R\$id org/albertedge/core/FullTokenizer; do
  grep -q "Class descriptor  : 'L$cls;'" "$out/classes.dump" || fail "classes.dex lacks $cls"
done
! grep -q "Class descriptor  : 'Lcom/google/ai/edge/litert/" "$out/classes.dump" \
  || fail "classes.dex contains com.google.ai.edge.litert classes: the JVM implementation must not be packaged"
ok "dx: classes.dex with $(grep -c 'Class descriptor' "$out/classes.dump") classes, 0 invoke-custom, no LiteRT classes"

# 4. Package: classes.dex next to what aapt2 linked; check how every asset is stored.
cp "$out/linked.apk" "$out/unsigned.apk"
(cd "$out" && zip -q unsigned.apk classes.dex) || fail "adding classes.dex to the APK"
aapt list -v "$out/unsigned.apk" > "$out/listing.txt" || fail "aapt list"
stored() {  # stored ENTRY: the zip method of ENTRY in the APK (Stored / Deflated), empty if absent
  awk -v name="$1" '$NF == name { print $2 }' "$out/listing.txt"
}
for entry in classes.dex resources.arsc AndroidManifest.xml "assets/albert_tiny_$variant.json" assets/vocab.txt; do
  [[ -n "$(stored "$entry")" ]] || fail "$entry missing from the APK"
done
[[ "$(stored "assets/albert_tiny_$variant.tflite")" == Stored ]] \
  || fail "assets/albert_tiny_$variant.tflite is not stored uncompressed (the app opens it with openFd)"
# Android 11+ refuses to install an app targeting API 30+ whose resources.arsc is compressed.
[[ "$(stored resources.arsc)" == Stored ]] || fail "resources.arsc is compressed (targetSdk $target_sdk)"
ok "assets/albert_tiny_$variant.tflite stored uncompressed, its .json and vocab.txt present"

# 5. Align, sign with a throw-away debug key, verify both.
zipalign -p -f 4 "$out/unsigned.apk" "$out/aligned.apk" || fail "zipalign"
keytool -genkeypair -keystore "$out/debug.keystore" -storepass android -keypass android \
  -alias androiddebugkey -keyalg RSA -keysize 2048 -validity 10000 \
  -dname "CN=Android Debug,O=Android,C=US" -noprompt >/dev/null 2>&1 || fail "keytool -genkeypair"
apksigner sign --ks "$out/debug.keystore" --ks-pass pass:android --ks-key-alias androiddebugkey \
  --key-pass pass:android --out "$apk" "$out/aligned.apk" || fail "apksigner sign"
zipalign -c -p 4 "$apk" || fail "zipalign -c: the signed APK is not aligned"
ok "zipalign -c -p 4"
apksigner verify --verbose --min-sdk-version "$min_sdk" "$apk" > "$out/verify.txt" 2>&1 \
  || { cat "$out/verify.txt" >&2; fail "apksigner verify"; }
grep -q "Verified using v2 scheme (APK Signature Scheme v2): true" "$out/verify.txt" \
  || fail "apksigner verify: no v2 signature"
ok "apksigner verify (v2 signature, min SDK $min_sdk)"

# 6. What a device reads from the APK before running anything.
aapt dump badging "$apk" > "$out/badging.txt" 2>&1 || { cat "$out/badging.txt" >&2; fail "aapt dump badging"; }
expect_badging() {
  grep -qF "$1" "$out/badging.txt" || fail "aapt dump badging lacks: $1"
}
expect_badging "package: name='$package' versionCode='$version_code' versionName='$version_name'"
expect_badging "sdkVersion:'$min_sdk'"
expect_badging "targetSdkVersion:'$target_sdk'"
expect_badging "launchable-activity: name='$package.MainActivity'"
ok "aapt dump badging: $package $version_name, sdk $min_sdk..$target_sdk, launcher $package.MainActivity"
echo "APK: $apk ($(du -k "$apk" | cut -f1) KiB; no LiteRT runtime inside — see android_demo/README.md)"
