# One command surface. `make install` once, then the others.
PY ?= python

install:  ## CPU torch first (a bare range would pull a CUDA build), then confsched with dev + framework extras
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[dev,lightning,hf]"

lint:
	ruff check confsched tests benchmarks
	ruff format --check confsched tests

typecheck:
	mypy

test:
	$(PY) -m pytest -q

bench:
	$(PY) -m benchmarks

.PHONY: install lint typecheck test bench
