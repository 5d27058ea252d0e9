# The two commands of the README:
#   make demo   set everything up, then run the main job (symbolic demo)
#   make test   set everything up, then run the test suite
# Set-up is idempotent: a virtual environment in .venv, the package and its test
# extras installed into it, and the FluidSynth library from Debian when missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench serve clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(wildcard /opt/wheels),--find-links /opt/wheels) -e ".[test,bench,fast,serve]"
	@bash .ci/fluidsynth.sh
	@bash .ci/chromium.sh
	@bash .ci/redis.sh
	@touch $(STAMP)

demo: setup
	$(BIN)/symbolic demo

test: setup
	@$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

serve: setup
	$(BIN)/symbolic serve

bench: setup
	$(BIN)/python benchmarks/tokenize_speed.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
