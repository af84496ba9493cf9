#!/usr/bin/env bash
# Installs, only when missing, the Debian packages behind the Android checks of `make test` and
# `make android-check`, and runs `apt-get update` at most once.
#
#   android_demo/install_deps.sh          # as root (CI); otherwise prints what to install, exit 2
#
# From bookworm (this machine's release):
#   default-jdk-headless junit4   javac, java, keytool; JUnit 4 + hamcrest
#   libjna-java                   JNA: the JVM tests call LiteRT's C API (libLiteRt.so of the
#                                 ai-edge-litert wheel) through it, see app/src/jvm/
#   aapt zipalign apksigner       aapt/aapt2, zipalign, apksigner (Android 10 build tools)
#   dexdump zip                   count invoke-custom in classes.dex; add it to the APK
#   android-framework-res         framework-res.apk, what aapt2 links the app's resources against
#   (shellcheck)                  lints the workflow's run steps (through actionlint) and our scripts
# From bullseye, added as an extra apt source pinned at priority 100 so that it never replaces a
# bookworm package and only supplies what bookworm lacks:
#   android-sdk-platform-23       the real framework android.jar (API 23) the app compiles against
#   dalvik-exchange               dx (command dalvik-exchange), the only dexer Debian ships (no d8/r8)
set -euo pipefail

ANDROID_JAR=/usr/lib/android-sdk/platforms/android-23/android.jar
FRAMEWORK_RES=/usr/share/android-framework-res/framework-res.apk
BULLSEYE_SOURCE=/etc/apt/sources.list.d/albert-edge-bullseye.sources
BULLSEYE_PIN=/etc/apt/preferences.d/albert-edge-bullseye

missing_bookworm=()
missing_bullseye=()

need_cmd() {  # need_cmd COMMAND PACKAGE: queue bookworm's PACKAGE when COMMAND is not on PATH
  command -v "$1" >/dev/null 2>&1 || missing_bookworm+=("$2")
}
need_bullseye_cmd() {  # the same for a package only bullseye has
  command -v "$1" >/dev/null 2>&1 || missing_bullseye+=("$2")
}

need_cmd javac default-jdk-headless
need_cmd keytool default-jdk-headless
[[ -f /usr/share/java/junit4.jar ]] || missing_bookworm+=(junit4)
[[ -f /usr/share/java/jna.jar ]] || missing_bookworm+=(libjna-java)
need_cmd aapt aapt
need_cmd aapt2 aapt
need_cmd zipalign zipalign
need_cmd apksigner apksigner
need_cmd shellcheck shellcheck
need_cmd dexdump dexdump
need_cmd zip zip
[[ -f "$FRAMEWORK_RES" ]] || missing_bookworm+=(android-framework-res)
[[ -f "$ANDROID_JAR" ]] || missing_bullseye+=(android-sdk-platform-23)
need_bullseye_cmd dalvik-exchange dalvik-exchange  # dx, installed under this name

if [[ ${#missing_bookworm[@]} -eq 0 && ${#missing_bullseye[@]} -eq 0 ]]; then
  exit 0
fi

# One line each, deduplicated (javac and keytool come from the same package).
mapfile -t missing_bookworm < <(printf '%s\n' "${missing_bookworm[@]}" | sed '/^$/d' | sort -u)

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  {
    echo "error: missing Debian packages for the Android checks."
    [[ ${#missing_bookworm[@]} -gt 0 ]] && echo "  apt-get install -y ${missing_bookworm[*]}"
    if [[ ${#missing_bullseye[@]} -gt 0 ]]; then
      echo "  and, from Debian 11 (bullseye) as an extra source pinned low (see $0):"
      echo "  apt-get install -y ${missing_bullseye[*]}"
    fi
    echo "Run this script as root to do it: sudo $0"
  } >&2
  exit 2
fi

if [[ ${#missing_bullseye[@]} -gt 0 && ! -f "$BULLSEYE_SOURCE" ]]; then
  cat > "$BULLSEYE_SOURCE" <<'EOF'
# Added by albert_edge android_demo/install_deps.sh: android.jar (API 23) and dx exist only in bullseye.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # Priority 100 (< 500 of the default release): bullseye never upgrades a bookworm package.
  cat > "$BULLSEYE_PIN" <<'EOF'
Package: *
Pin: release n=bullseye
Pin-Priority: 100
EOF
fi

# At most one apt-get update, and none when another step of this run just did one (package lists
# younger than 30 minutes, bullseye's among them when bullseye packages are needed).
lists_fresh() {
  local pattern='*_Packages*'
  [[ ${#missing_bullseye[@]} -gt 0 ]] && pattern='*_dists_bullseye_*Packages*'
  [[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name "$pattern" -mmin -30 -print -quit 2>/dev/null)" ]]
}

export DEBIAN_FRONTEND=noninteractive
echo "installing: ${missing_bookworm[*]} ${missing_bullseye[*]}"
lists_fresh || apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing_bookworm[@]}" "${missing_bullseye[@]}" >/dev/null

# Verify rather than trust apt: a renamed package or path must stop here with a clear message.
for c in javac keytool aapt aapt2 zipalign apksigner shellcheck dexdump zip dalvik-exchange; do
  command -v "$c" >/dev/null 2>&1 || { echo "error: $c still missing after apt-get install" >&2; exit 2; }
done
for f in "$ANDROID_JAR" "$FRAMEWORK_RES" /usr/share/java/junit4.jar /usr/share/java/jna.jar; do
  [[ -f "$f" ]] || { echo "error: $f still missing after apt-get install" >&2; exit 2; }
done
