# Set-up and the two main jobs. `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/ssapose: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(BIN)/ssapose

demo: venv
	$(BIN)/ssapose eval --oracle --ann data/coco_tiny/test_coco.json --stride 8

test: venv
	$(BIN)/python -m pytest -q

.PHONY: venv demo test
