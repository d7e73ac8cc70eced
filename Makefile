# One command surface. `make install` once, then the others.
PY ?= python

install:  ## CPU torch first (a bare range would pull a CUDA build), then confsched with the dev extra
	$(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[dev]"
	$(PY) -m pip install --no-deps timm==1.0.31

fuzz:  ## the long hypothesis profile (10,000 specs)
	$(PY) -m pytest -q tests/test_properties.py --hypothesis-profile=long

lint:
	ruff check confsched tests benchmarks docs examples
	ruff format --check confsched tests benchmarks docs examples

typecheck:
	mypy

test:
	$(PY) -m pytest -q

bench:
	$(PY) -m benchmarks

.PHONY: install lint typecheck test fuzz bench
