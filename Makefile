# albert_edge — two commands on a fresh machine:
#   make export   create .venv, install, run the main job (python -m albert_edge.export tiny)
#   make test     install what the tests need (Python extras, a JDK, Debian junit4), run every suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
EXPORT_ARGS ?=

.PHONY: install install-test java-deps export test test-python test-java android-assets clean

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

# A JDK and JUnit 4 from Debian, installed only when missing (CI runs as root).
java-deps:
	@if ! command -v javac >/dev/null || [ ! -f /usr/share/java/junit4.jar ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless junit4 >/dev/null; \
	  else echo "error: need javac and /usr/share/java/junit4.jar (Debian: apt-get install default-jdk-headless junit4)" >&2; exit 2; fi; \
	fi

export: install
	$(PY) -m albert_edge.export tiny $(EXPORT_ARGS)

test-python: install-test
	@set +e; $(PY) -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

test-java: java-deps
	bash android_demo/run_java_tests.sh

test: test-python test-java

android-assets:
	bash android_demo/copy_assets.sh

clean:
	rm -rf exports runs .pytest_cache
