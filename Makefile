# Two commands on a fresh machine: `make book` and `make test`. Both start with `make install`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help install book test bench outputs lab clean
.DEFAULT_GOAL := help

help:
	@echo "make book    set up .venv and build the HTML book into _build/html"
	@echo "make test    set up .venv and run the whole suite (lint, library, notebooks, CLI, book build)"
	@echo "make bench   print the performance figures the issues name"
	@echo "make outputs re-execute analyses/*.ipynb in place so the outputs nbval compares are current"
	@echo "make lab     open the chapters in JupyterLab with the perfcost kernel, to change and re-run them"
	@echo "make clean   remove build outputs (keeps .venv)"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

book: install
	$(BIN)/jupyter-book build . --warningiserror --keep-going --quiet

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/run.py

outputs: install
	$(BIN)/python tools/refresh_notebooks.py

# The kernel lives inside .venv (--sys-prefix): nothing is written to the user's Jupyter folders.
lab: install
	$(BIN)/python -m ipykernel install --sys-prefix --name perfcost --display-name "Python (perfcost)"
	$(BIN)/jupyter lab --MappingKernelManager.default_kernel_name=perfcost analyses/

clean:
	rm -rf _build .pytest_cache .hypothesis
