PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/hotelbot: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/hotelbot
.PHONY: venv

# Throughput/latency/CPU/RSS of the daemon vs a bare aiohttp loop (a few minutes).
bench: venv
	$(BIN)/python -m hotelbot.bench $(BENCH_ARGS)
.PHONY: bench
