# Two commands set up a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of torch; override on a GPU machine, e.g. `make TORCH_SPEC=torch test`.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed
# The runtime's install alone (numpy, pillow, onnxruntime) plus pytest: its tests must pass where it is deployed.
BASE_VENV  ?= .venv-base
BASE_STAMP := $(BASE_VENV)/.installed

.PHONY: demo test test-base photos zoo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[train,dev,openvino,serve]"
	touch $@

demo: $(STAMP)
	$(BIN)/visionrt tune --seconds 2
	$(BIN)/visionrt zoo
	$(BIN)/visionrt run digits model_zoo/samples/digits/*.png
	$(BIN)/visionrt run digit_reader model_zoo/samples/digit_reader/*.png
	$(BIN)/visionrt run denoiser model_zoo/samples/denoiser/*.png -o demo-out --overwrite
	$(BIN)/visionrt run vae model_zoo/samples/vae_encoder/*.png -o demo-out --overwrite
	$(BIN)/visionrt run colorizer model_zoo/samples/colorizer/*.png -o demo-out --overwrite
	$(BIN)/visionrt run style model_zoo/samples/style/*.png -o demo-out --overwrite
	$(BIN)/visionrt run faceswap model_zoo/samples/faceswap_to_b/*.png --to b -o demo-out --overwrite
	$(BIN)/visionrt compare style --out demo-out
	$(BIN)/visionrt bench digits --out demo-out --iters 200
	$(BIN)/visionrt bench digit_reader --out demo-out --iters 100
	$(BIN)/visionrt bench denoiser --out demo-out --iters 20 --batches 1 4
	$(BIN)/visionrt bench vae_decoder --out demo-out --iters 200
	$(BIN)/visionrt bench colorizer --out demo-out --iters 20 --batches 1 4
	$(BIN)/visionrt bench style --out demo-out --iters 20 --batches 1 4
	$(BIN)/visionrt bench faceswap_to_b --out demo-out --iters 50 --batches 1 8
	$(BIN)/visionrt bench-serve digits --out demo-out --concurrency 1 8 32 --seconds 1 --repeats 1

test: $(STAMP)
	$(BIN)/python -m pytest -q
	$(MAKE) test-base

$(BASE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install -q -e . pytest
	touch $@

# tests/runtime with the base install only: what needs an extra skips, naming it.
test-base: $(BASE_STAMP)
	$(BASE_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/runtime

# Retrain and re-export the shipped zoo, seeded: on one machine a rebuild gives the same weights every time
# (tests/test_zoo_rebuild.py); another CPU or torch build may differ in the last bits.
# The colorizer and style train on the varied photo set, built from pinned Debian packages (about 180 MB).
photos: $(STAMP)
	$(BIN)/visionrt photos

zoo: photos
	$(BIN)/visionrt zoo rebuild digits --seed 0
	$(BIN)/visionrt zoo rebuild digit_reader --seed 0
	$(BIN)/visionrt zoo rebuild denoiser --seed 0
	$(BIN)/visionrt zoo rebuild vae --seed 0
	$(BIN)/visionrt zoo rebuild colorizer --seed 0
	$(BIN)/visionrt zoo rebuild style --seed 0
	$(BIN)/visionrt zoo rebuild faceswap --seed 0

bench: $(STAMP)
	$(BIN)/visionrt bench digits --out bench-out
	$(BIN)/visionrt bench digit_reader --out bench-out
	$(BIN)/visionrt bench denoiser --out bench-out
	$(BIN)/visionrt bench vae_encoder --out bench-out
	$(BIN)/visionrt bench vae_decoder --out bench-out
	$(BIN)/visionrt bench colorizer --out bench-out
	$(BIN)/visionrt bench style --out bench-out
	$(BIN)/visionrt bench faceswap_to_a --out bench-out
	$(BIN)/visionrt bench faceswap_to_b --out bench-out

clean:
	rm -rf $(VENV) $(BASE_VENV) runs bench-out demo-out build *.egg-info
