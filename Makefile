# Set-up and the two main jobs. `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/ssapose: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev,app]"
	touch $@

venv: $(BIN)/ssapose

# The app on the bundled demo video and model; headless machines get the same pipeline from the command line.
demo: venv
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(BIN)/ssapose app; \
	else echo "no display: running the headless pipeline (ssapose video)"; \
	$(BIN)/ssapose video --out demo-annotated.mp4 --json demo-poses.json; fi

test: venv
	$(BIN)/python -m pytest -q

.PHONY: venv demo test
