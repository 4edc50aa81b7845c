PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/hotelbot: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/hotelbot
.PHONY: venv
