# cloudmask: the two commands a new machine needs are `make demo` and `make test`.
# Everything they need is installed here (Debian 12 packages, a Python venv with ONNX Runtime
# and the ukis-csmask models); a Rust toolchain (cargo) must already be on PATH.

SHELL := /bin/bash
SCENE ?= ../shared/data/ukis-s2/s2_6band.tif
MODEL ?= ukis-6b-l1c
OUT ?= out/demo
VENV := .venv
PYTHON := $(VENV)/bin/python
# valgrind: tests/valgrind.rs runs the C programs of examples/ under memcheck (docs/testing.md).
APT_PACKAGES := libgdal-dev gdal-bin python3-gdal pkg-config python3-venv gcc g++ valgrind
# QGIS 3.22 for the Processing plugin and its tests (make qgis-plugin / make test-qgis).
QGIS_APT_PACKAGES := qgis python3-qgis qgis-providers
CARGO_TEST_FLAGS ?= --release

.PHONY: demo test deps venv openvino-venv torch-venv build train lint header bench bench-batch bench-train clean valgrind asan

# Installs the Debian packages of $(1) that are missing (needs root or sudo).
apt_install = missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Debian packages, installed only when missing (needs root or sudo).
deps:
	@$(call apt_install,$(APT_PACKAGES))
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs) first"; exit 1; }

# ONNX Runtime (the shared library the engine loads) and the reference package with its models.
$(VENV)/.ready: | deps
	/usr/bin/python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check onnxruntime==1.31.1 ukis-csmask==1.0.0
	touch $@

venv: $(VENV)/.ready

# ONNX Runtime 1.24.1 with OpenVINO's execution provider (and OpenVINO's libraries inside, about
# 256 MB), for `--device openvino`: a second runtime, in its own venv, found by the search for
# that device only; the default runtime stays 1.31.1 in .venv (docs/engine.md).
OPENVINO_VENV := .venv-openvino
$(OPENVINO_VENV)/.ready: | deps
	/usr/bin/python3 -m venv $(OPENVINO_VENV)
	$(OPENVINO_VENV)/bin/python -m pip install -q --disable-pip-version-check onnxruntime-openvino==1.24.1
	touch $@

openvino-venv: $(OPENVINO_VENV)/.ready

# The trainer links PyTorch's libtorch (tch 0.26 needs torch 2.13.0; the pip wheel ships it, CUDA
# libraries included, about 4.7 GB). Kept in its own venv: masking never needs it.
TORCH_VENV := .venv-torch
TRAIN_ENV := VIRTUAL_ENV=$(abspath $(TORCH_VENV)) PATH=$(abspath $(TORCH_VENV))/bin:$$PATH LIBTORCH_USE_PYTORCH=1
$(TORCH_VENV)/.ready: | deps
	/usr/bin/python3 -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
	touch $@

torch-venv: $(TORCH_VENV)/.ready

# cloudmask plus the trainer (`cloudmask train`), which is the separate program cloudmask-train
# (package crates/train).
train: venv torch-venv
	$(TRAIN_ENV) cargo build --release --workspace

build: deps
	cargo build --release

# Masks the sample scene (or SCENE=path) with the default model and draws a quicklook.
demo: venv build
	@mkdir -p $(OUT)
	./target/release/cloudmask mask "$(SCENE)" --model $(MODEL) -o $(OUT)/mask.tif --overwrite \
	  --output classes,valid --quicklook $(OUT)/quicklook.png
	@echo "class map: $(OUT)/mask.tif, valid mask: $(OUT)/mask_valid.tif, quicklook: $(OUT)/quicklook.png"

lint: deps torch-venv
	cargo fmt --check
	$(TRAIN_ENV) cargo clippy --release --workspace --all-targets -- -D warnings

# `cargo test` alone does not build the cdylib that the C and Python examples load.
# The whole workspace, trainer included, so its tests run too (the library and cloudmask never
# link libtorch: they are packages of their own, see README "Layout").
test: venv openvino-venv torch-venv lint qgis-venv
	$(TRAIN_ENV) cargo build $(CARGO_TEST_FLAGS) --workspace
	$(TRAIN_ENV) cargo test $(CARGO_TEST_FLAGS) --workspace
	$(MAKE) test-qgis
	$(MAKE) test-python
	$(MAKE) fuzz-smoke
	@# Last: it installs the Debian package system-wide (every GDAL program then loads its
	@# plugin) and purges it again, also when a check fails.
	$(MAKE) test-deb

# The Python package (python/, docs/python.md): pure Python over the C API, carrying
# libcloudmask.so. Its tests run in .venv-python, every version pinned; `make python-wheel`
# writes dist/cloudmask-*.whl.
PY_VENV := .venv-python
PY_PINS := numpy==2.4.6 onnxruntime==1.31.1 ukis-csmask==1.0.0 xarray==2026.9.0 \
  dask[array]==2026.8.0 distributed==2026.8.0 pytest==9.2.0 setuptools==80.9.0 wheel==0.45.1
PY_PYTEST_FLAGS ?= -q
PY_BUILD := -q --disable-pip-version-check --no-deps --no-build-isolation

.PHONY: python-venv python-wheel test-python bench-python

$(PY_VENV)/.ready: | deps
	/usr/bin/python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/python -m pip install -q --disable-pip-version-check $(PY_PINS)
	touch $@

python-venv: $(PY_VENV)/.ready

python-wheel: build python-venv
	rm -rf python/build
	$(PY_VENV)/bin/python -m pip wheel $(PY_BUILD) -w dist ./python
	@ls dist/cloudmask-*.whl

# The wheel installed and tested; pytest runs from python/tests, so `import cloudmask` is the
# installed package.
test-python: python-wheel
	$(PY_VENV)/bin/python -m pip install $(PY_BUILD) --force-reinstall dist/cloudmask-0.1.0-py3-none-*.whl
	cd python/tests && ../../$(PY_VENV)/bin/python -m pytest -p no:cacheprovider $(PY_PYTEST_FLAGS) .

# mask_scenes on 16 scenes with 1 and 2 workers against the CLI batch (same run).
bench-python: build python-venv
	rm -rf python/build
	$(PY_VENV)/bin/python -m pip install $(PY_BUILD) --force-reinstall ./python
	$(PY_VENV)/bin/python tools/bench_python.py --markdown docs/BENCHMARKS.md

# The C example and the C API bad-input program under valgrind alone (make test runs them too).
valgrind: venv build
	cargo test $(CARGO_TEST_FLAGS) --test valgrind

# AddressSanitizer over the C API tests (docs/testing.md, "Sanitizers"): the library, the CLI
# and the test programs rebuilt by the nightly toolchain with -Zsanitizer=address, in their own
# target folder (RUSTFLAGS with --target reach neither build scripts nor proc macros). The C
# programs the tests compile (examples/*.c) link the instrumented libcloudmask.so, so they are
# built with -fsanitize=address (gcc's runtime); the Python example is skipped, python3 having
# no sanitizer runtime to give the library. c_api_input compares with the instrumented CLI.
ASAN_TARGET := x86_64-unknown-linux-gnu
ASAN_TESTS := --test c_api --test c_api_input --test c_api_eval --test c_api_select --test c_api_bad_input \
  --test c_api_chunk
ASAN_ENV := RUSTFLAGS=-Zsanitizer=address CARGO_TARGET_DIR=target/asan ASAN_OPTIONS=detect_leaks=1 \
  CLOUDMASK_TEST_CFLAGS=-fsanitize=address
asan: venv
	$(ASAN_ENV) cargo +nightly build --release --target $(ASAN_TARGET) -p cloudmask -p cloudmask-cli
	$(ASAN_ENV) cargo +nightly test --release --target $(ASAN_TARGET) --no-fail-fast -p cloudmask \
	  $(ASAN_TESTS) -- --skip the_python_example

# Regenerates include/cloudmask.h from the Rust sources (tests fail while it differs).
header:
	CLOUDMASK_REGEN_HEADER=1 cargo build --release

bench: venv openvino-venv build
	./target/release/cloudmask bench --markdown docs/BENCHMARKS.md

# 20 scenes masked by one batch run against 20 separate runs (same run of the bench).
bench-batch: venv build
	./target/release/cloudmask bench --size 0 --memory-size 0 --batch-scenes 20 --threads 2 --markdown docs/BENCHMARKS.md

# Training step time against PyTorch on the same networks (same run, same threads).
bench-train: train
	./target/release/cloudmask-train bench --threads 2 --pytorch $(TORCH_VENV)/bin/python --markdown docs/BENCHMARKS.md

clean:
	cargo clean
	rm -rf $(OUT)

# Installs the GDAL plugin (as gdal_cloudmask.so, the name GDAL auto-loads) and the CLI.
# PREFIX=/usr/local or GDAL_PLUGIN_DIR=/some/dir to choose; then set the variable it prints.
PREFIX ?= $(HOME)/.local
GDAL_PLUGIN_DIR ?= $(PREFIX)/lib/gdalplugins
GDAL_DEFAULT_PLUGIN_DIR ?= /usr/lib/x86_64-linux-gnu/gdalplugins

.PHONY: install
install: build
	install -d "$(GDAL_PLUGIN_DIR)" "$(PREFIX)/bin"
	install -m 755 target/release/libcloudmask.so "$(GDAL_PLUGIN_DIR)/gdal_cloudmask.so"
	install -m 755 target/release/cloudmask "$(PREFIX)/bin/cloudmask"
	@# The trainer, when built (make train): `cloudmask train` looks for it beside cloudmask.
	if [ -x target/release/cloudmask-train ]; then install -m 755 target/release/cloudmask-train "$(PREFIX)/bin/"; fi
	@echo "installed $(GDAL_PLUGIN_DIR)/gdal_cloudmask.so and $(PREFIX)/bin/cloudmask"
	@echo "GDAL finds the plugin once this is set (GDAL's default folder first: setting it replaces the default):"
	@echo "  export GDAL_DRIVER_PATH=$(GDAL_DEFAULT_PLUGIN_DIR):$(GDAL_PLUGIN_DIR)"

# The QGIS Processing plugin (qgis-plugin/cloudmask_qgis, docs/qgis.md): an installable zip with the
# native library bundled as lib/libcloudmask.so (and lib/gdal_cloudmask.so for GDAL_DRIVER_PATH).
# Its folder, the module QGIS imports, is cloudmask_qgis so that it never shadows the cloudmask
# Python package (python/) in QGIS's Python; the Processing provider id stays cloudmask.
QGIS_PLUGIN := cloudmask_qgis
QGIS_ZIP := dist/cloudmask-qgis.zip
QGIS_STAGE := out/qgis-plugin-stage
QGIS_VENV := out/venv-qgis
QGIS_PYTEST_FLAGS ?= -q
QGIS_DOCS := docs/qgis.md docs/packaging.md docs/gdal-plugin.md docs/engine.md
# The wheels the plugin's set-up installs, downloaded once, so its test runs without network.
QGIS_WHEELS := out/wheels

.PHONY: qgis-deps qgis-plugin qgis-plugin-zip qgis-venv qgis-wheels test-qgis

# Like `deps`, for QGIS (about 1.2 GB; --no-install-recommends keeps GRASS out).
qgis-deps: deps
	@$(call apt_install,$(QGIS_APT_PACKAGES))

qgis-plugin: build
	@$(MAKE) --no-print-directory qgis-plugin-zip

# Packages the library that target/release already holds (no cargo run).
qgis-plugin-zip:
	@test -f target/release/libcloudmask.so || { echo "target/release/libcloudmask.so missing: run make qgis-plugin"; exit 1; }
	rm -rf $(QGIS_STAGE) && mkdir -p $(QGIS_STAGE) dist
	cp -r qgis-plugin/$(QGIS_PLUGIN) $(QGIS_STAGE)/$(QGIS_PLUGIN)
	find $(QGIS_STAGE) -name __pycache__ -prune -exec rm -rf {} +
	mkdir -p $(QGIS_STAGE)/$(QGIS_PLUGIN)/lib
	install -m 755 target/release/libcloudmask.so $(QGIS_STAGE)/$(QGIS_PLUGIN)/lib/libcloudmask.so
	install -m 755 target/release/libcloudmask.so $(QGIS_STAGE)/$(QGIS_PLUGIN)/lib/gdal_cloudmask.so
	@# The documentation the plugin's metadata and help links open (docs.py).
	mkdir -p $(QGIS_STAGE)/$(QGIS_PLUGIN)/docs/img
	install -m 644 $(QGIS_DOCS) $(QGIS_STAGE)/$(QGIS_PLUGIN)/docs/
	install -m 644 docs/img/qgis-valid-mask.png $(QGIS_STAGE)/$(QGIS_PLUGIN)/docs/img/
	rm -f $(QGIS_ZIP) && cd $(QGIS_STAGE) && /usr/bin/python3 -m zipfile -c ../../$(QGIS_ZIP) $(QGIS_PLUGIN)
	@echo "wrote $(QGIS_ZIP): QGIS > Plugins > Manage and Install Plugins > Install from ZIP"

# pytest in Debian's Python (PyQGIS lives there), with the system packages visible.
$(QGIS_VENV)/.ready: | qgis-deps
	/usr/bin/python3 -m venv --system-site-packages $(QGIS_VENV)
	$(QGIS_VENV)/bin/python -m pip install -q --disable-pip-version-check pytest
	touch $@

qgis-venv: $(QGIS_VENV)/.ready

$(QGIS_WHEELS)/.ready: | venv
	$(PYTHON) -m pip download -q --disable-pip-version-check --no-deps -d $(QGIS_WHEELS) \
	  onnxruntime==1.31.1 ukis-csmask==1.0.0
	touch $@

qgis-wheels: $(QGIS_WHEELS)/.ready

# Real QGIS 3.22, headless: processing.run, qgis_process, cancel, virtual mask, render, zip install.
test-qgis: venv qgis-venv qgis-plugin qgis-wheels
	QT_QPA_PLATFORM=offscreen PYTHONDONTWRITEBYTECODE=1 $(QGIS_VENV)/bin/python -m pytest -p no:qgis -p no:cacheprovider $(QGIS_PYTEST_FLAGS) tests/qgis

# Coverage-guided fuzzing of the parsers that read what users hand us (docs/testing.md): model
# cards, ukis-csmask sidecars, ONNX files, virtual-mask descriptors, split configs. libFuzzer
# targets in fuzz/ (a workspace of its own), built with nightly Rust by fuzz/build.sh, the way
# `cargo fuzz build` does, so nothing has to be installed. `make fuzz-smoke` (part of `make test`)
# runs each target from the committed corpus fuzz/corpus/ for FUZZ_SMOKE_SECONDS; `make fuzz
# TARGET=onnx SECONDS=600` is the longer run (no TARGET: every target in turn).
FUZZ_SMOKE_SECONDS ?= 13
SECONDS ?= 300
TARGET ?=

.PHONY: fuzz-build fuzz-smoke fuzz

fuzz-build: deps
	fuzz/build.sh

fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_SMOKE_SECONDS)

fuzz: fuzz-build
	fuzz/run.sh $(SECONDS) $(TARGET)

# Release artefacts from a clean checkout, with their checksums, into dist/ (docs/packaging.md):
# the Debian 12 package, the QGIS plugin zip and the Python wheel.
DEB_APT_PACKAGES := lintian dpkg-dev patchelf
.PHONY: dist deb deb-deps test-deb

dist: deb qgis-plugin python-wheel
	cd dist && rm -f SHA256SUMS && sha256sum *.deb *.zip *.whl > SHA256SUMS
	@cat dist/SHA256SUMS

# dist/cloudmask_<version>_amd64.deb: the checkout's release build, ONNX Runtime and the
# ukis-csmask models from the .venv (tools/deb/build.sh).
deb: venv deb-deps
	tools/deb/build.sh

# What checking the package needs besides `deps` (needs root or sudo, like `deps`).
deb-deps: deps
	@$(call apt_install,$(DEB_APT_PACKAGES))

# lintian, then install, use as a user would, purge (tests/deb/check.sh; part of `make test`).
test-deb: deb deb-deps qgis-plugin
	tests/deb/check.sh
