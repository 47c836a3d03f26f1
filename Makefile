# Two commands: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_OUT := out/demo

.PHONY: demo test setup lint typecheck unit wheel-smoke bench fuzz clean

$(STAMP): pyproject.toml
	bash scripts/setup-system.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,mlflow,evidently,spark]'
	# Byte-compiled once here: an editable install is not, and where PYTHONDONTWRITEBYTECODE
	# is set every `assay` run would compile ~90 modules again (~0.1 s of each gate).
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	bash scripts/demo.sh $(DEMO_OUT)

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q

# The built wheel installed outside the checkout, on a plain copy of the examples.
wheel-smoke: setup
	bash scripts/wheel-smoke.sh $(CURDIR)/$(BIN)/python

test: lint typecheck unit wheel-smoke

# A longer run of the property-based fuzzing of inputs (tests/fuzz) before a release:
# minutes, not seconds; `make test` runs the same property with a small fixed budget.
FUZZ_EXAMPLES ?= 50000
fuzz: setup
	ASSAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/fuzz

bench: setup
	$(BIN)/python benchmarks/bench_gate.py
	$(BIN)/python benchmarks/bench_pack.py

clean:
	rm -rf $(VENV) out build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
