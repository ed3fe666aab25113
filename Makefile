# appwarden — the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: env tools demo test lint typecheck bench eval fixtures clean

$(STAMP): pyproject.toml setup.py src/appwarden/apk/_dexscan.c
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

env: $(STAMP)

# Debian's Android tools (aapt, dexdump, apktool, smali, zipalign, apksigner) and
# chromium: the differential tests and the fixture builds need them.
tools:
	bash tools/install-tools.sh

demo: env
	$(BIN)/appwarden demo

lint: env
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench

typecheck: env
	$(BIN)/mypy

test: env tools lint typecheck
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: env tools
	PY=$(CURDIR)/$(BIN)/python bash bench/fetch_corpus.sh
	$(BIN)/python bench/run.py bench/corpus $(BENCH_ARGS)
	$(BIN)/python bench/policy_bench.py

eval: env
	$(BIN)/python -m appwarden.evidence.policy.evaluate

fixtures: env tools
	$(BIN)/python tools/build_fixtures.py

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
