#!/usr/bin/env bash
# Upload the test package + spec to AWS Device Farm, run, wait, download artifacts.
# Usage: benchmark/farm_aws.sh SPEC_DIR EXPORTS_DIR BENCHMARK_BINARY   (needs aws CLI, $PROJECT_ARN)
# NPU runs (spec from `farm aws --delegates npu`): LITERT_BINARY=LiteRT's benchmark_model and
# QNN_DEVICE_LIBS=folder of the QNN/dispatch libraries named in the spec (copied into qnn/).
set -euo pipefail
spec_dir=$1; exports=$2; binary=$3
# Device Farm validates the package as Appium Python (requirements.txt, tests/, >= 1 wheel in
# wheelhouse/); the spec never runs Python, it only uses the binary and models at the root.
stage=$(mktemp -d)
mkdir -p "$stage/tests" "$stage/wheelhouse"
echo "pytest" > "$stage/requirements.txt"
printf 'def test_placeholder():\n    """The benchmark runs from the test spec, not from pytest."""\n' > "$stage/tests/test_placeholder.py"
pip wheel --quiet --wheel-dir "$stage/wheelhouse" pytest
cp "$binary" "$exports"/*.tflite "$stage/"
if [[ -n "${LITERT_BINARY:-}" ]]; then cp "$LITERT_BINARY" "$stage/litert_benchmark_model"; fi
if [[ -n "${QNN_DEVICE_LIBS:-}" ]]; then
  mkdir -p "$stage/qnn"
  shopt -s nullglob  # a flat folder, or QAIRT's Android and Hexagon libraries (never its x86 ones)
  for lib in "$QNN_DEVICE_LIBS"/*.so "$QNN_DEVICE_LIBS"/lib/aarch64-android/*.so \
             "$QNN_DEVICE_LIBS"/lib/hexagon-v*/unsigned/*.so; do cp "$lib" "$stage/qnn/"; done
  shopt -u nullglob
fi
pkg="$(cd "$spec_dir" && pwd)/test_package.zip"
rm -f "$pkg"; (cd "$stage" && zip -qr "$pkg" .)
upload() {  # file type → arn (waits until processed)
  local out arn url
  out=$(aws devicefarm create-upload --project-arn "$PROJECT_ARN" --name "$(basename "$1")" --type "$2")
  arn=$(jq -r .upload.arn <<<"$out"); url=$(jq -r .upload.url <<<"$out")
  curl -fsS -T "$1" "$url"
  until [[ $(aws devicefarm get-upload --arn "$arn" | jq -r .upload.status) == SUCCEEDED ]]; do sleep 5; done
  echo "$arn"
}
pkg_arn=$(upload "$pkg" APPIUM_PYTHON_TEST_PACKAGE)
spec_arn=$(upload "$spec_dir/aws_testspec.yml" APPIUM_PYTHON_TEST_SPEC)
pool_arn=$(aws devicefarm create-device-pool --project-arn "$PROJECT_ARN" --name "albert-edge-$(date +%s)" \
  --rules "file://$spec_dir/aws_device_pool_rules.json" | jq -r .devicePool.arn)
run_arn=$(aws devicefarm schedule-run --project-arn "$PROJECT_ARN" --device-pool-arn "$pool_arn" \
  --test "type=APPIUM_PYTHON,testPackageArn=$pkg_arn,testSpecArn=$spec_arn" | jq -r .run.arn)
until [[ $(aws devicefarm get-run --arn "$run_arn" | jq -r .run.status) == COMPLETED ]]; do sleep 30; done
mkdir -p "$spec_dir/artifacts"
aws devicefarm list-jobs --arn "$run_arn" | jq -r '.jobs[] | [.arn, .device.name] | @tsv' |
while IFS=$'\t' read -r job device; do
  device=${device//[^A-Za-z0-9 ._-]/_}; device=${device//../_}  # a folder name, never a path
  aws devicefarm list-artifacts --arn "$job" --type FILE | jq -r '.artifacts[] | [.name, .extension, .url] | @tsv' |
  while IFS=$'\t' read -r name ext url; do
    name=${name//[^A-Za-z0-9 ._-]/_}; ext=${ext//[^A-Za-z0-9]/_}; name=${name//../_}
    mkdir -p "$spec_dir/artifacts/$device"; curl -fsS -o "$spec_dir/artifacts/$device/$name.$ext" "$url"
  done
done
