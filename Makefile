# Every target creates and uses the local virtualenv (.venv) by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run demo test lint typecheck pytest bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## The main job on its embedded default: SQLite + the built-in fake Green API, narrated.
run: $(STAMP)
	$(BIN)/hotelbot demo

demo: run

## Lint, type-check and the whole test suite (SQLite and PostgreSQL).
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check hotelbot tests
	$(BIN)/ruff format --check hotelbot tests
	$(BIN)/mypy --strict hotelbot tests

typecheck: lint

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

## Benchmarks (prints figures; not a test). Extra options: make bench BENCH_ARGS='--hotels 10'.
bench: $(STAMP)
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

## Attention figures of the rules on the labelled guest messages (development parts).
## The test parts are for the final figure only: make eval EVAL_ARGS='--part test'.
eval: $(STAMP)
	$(BIN)/python -m tests.eval.score_attention $(EVAL_ARGS)

clean:
	rm -rf $(VENV) .hotelbot-demo .mypy_cache .ruff_cache .pytest_cache *.egg-info
