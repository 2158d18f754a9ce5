# Set-up and the two main jobs. `make demo` and `make test` work on a fresh machine with ../shared beside the repo.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/ssapose: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# CPU torch first: a bare `torch` requirement would pull a multi-GB CUDA build (see README: GPU set-up).
	$(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev,torch,app,openvino,plot,cluster,table]"
	touch $@

venv: $(BIN)/ssapose

# The default model: Lightweight OpenPose's COCO weights read from ../shared (never copied into the repo),
# plus the RIE offset heads SSA-Pose trained (models/lwop-offsets.pt).
models/lwop.pt: $(BIN)/ssapose models/lwop-offsets.pt
	$(BIN)/ssapose import-ir --out $@

# ONNX (parity-checked against PyTorch) and the INT8 OpenVINO IR, the default model on a CPU.
models/lwop.int8.xml: models/lwop.pt
	$(BIN)/ssapose export $< --out models/lwop.onnx --int8

models: models/lwop.int8.xml

# The app on the demo clip and the default model; headless machines get the same pipeline from the command line.
demo: venv models
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] && $(BIN)/python -m app.qt.display; then $(BIN)/ssapose app; \
	else echo "no usable display: running the headless pipeline (ssapose video)"; \
	$(BIN)/ssapose video --out demo-annotated.mp4 --json demo-poses.jsonl; fi

test: venv models
	$(BIN)/python -m pytest -q

# The runtime as a user without torch installs it: a fresh venv with only `.[openvino]`, running `video` and
# `eval` on the INT8 IR (CI runs this after the tests; the model comes from the full venv).
RUNTIME := .venv-runtime
SHARED ?= $(or $(SSAPOSE_SHARED),../shared)
torch-free: models
	rm -rf $(RUNTIME)
	$(PY) -m venv $(RUNTIME)
	$(RUNTIME)/bin/pip install -q --upgrade pip
	$(RUNTIME)/bin/pip install -q -e ".[openvino]"
	@if $(RUNTIME)/bin/python -c "import torch" 2>/dev/null; then echo "torch is installed in $(RUNTIME)"; exit 1; fi
	$(RUNTIME)/bin/ssapose video --max-frames 30 --json $(RUNTIME)/poses.jsonl --out $(RUNTIME)/annotated.mp4 --track
	$(RUNTIME)/bin/ssapose eval --ann $(SHARED)/data/coco_tiny/test_coco.json
	$(RUNTIME)/bin/python -c "import engines, cv2, glob; e = engines.load(); \
	print('python api:', len(e(cv2.imread(sorted(glob.glob('$(SHARED)/data/coco_tiny/**/*.jpg', recursive=True))[0]))), 'people')"

.PHONY: venv models demo test torch-free
