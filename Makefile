# `make demo` and `make test` each set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# llama.cpp's default native build enables AMX kernels that crash every generation on some CPUs;
# the portable build works everywhere.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
# Benchmark data lives beside the checkout; loaders read it before trying to download.
export WORDGRAD_DATA ?= $(abspath ../shared/data)

.PHONY: demo test lint typecheck layers unit install system-deps clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,local,server,graph,chem,docking,radiotherapy,ray,mlflow,tokens,multimodal]"
	touch $@

install: $(VENV)/.installed

LINTED := $(wildcard src tests benchmarks examples)

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: install
	$(BIN)/mypy

layers: install
	$(BIN)/lint-imports

# Chromium (browser tests) and Graphviz (graph pictures), from Debian's packages when missing.
system-deps:
	./scripts/install-system-deps.sh

unit: install system-deps
	$(BIN)/pytest

test: lint typecheck layers unit

demo: install
	$(PY) -m wordgrad.demo

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
