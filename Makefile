# Two commands for a fresh Debian bookworm machine:
#   make demo   installs everything, builds, and runs the main job (experiments/demo.yaml)
#   make test   installs everything, builds, and runs the C++ (ctest) and Python (pytest) tests
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD_DIR ?= build/cmake
JOBS ?= $(shell nproc)
APT_PACKAGES := cmake g++ make pkg-config pybind11-dev libeigen3-dev libsentencepiece-dev \
  libhdf5-dev libgtest-dev python3-dev python3-venv python3-pip python3-setuptools python3-wheel \
  python3-numpy python3-pandas python3-h5py python3-tqdm python3-matplotlib python3-yaml \
  python3-pytest python3-nbclient python3-nbformat python3-ipykernel python3-torch \
  libopenblas0-pthread strace libdnnl-dev python3-igraph python3-xgboost \
  python3-optuna python3-distributed python3-sklearn python3-hypothesis python3-hnswlib
# Fuzzing and the sanitizer builds (make fuzz, test-asan, test-tsan): clang 14 with libFuzzer.
APT_PACKAGES += clang-14 libclang-rt-14-dev
DEMO_OUT ?= out/demo
ASAN_DIR ?= build/asan
TSAN_DIR ?= build/tsan
FUZZ_DIR ?= build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= fuzz_list_column fuzz_session_store fuzz_h5_arrays fuzz_word_vectors fuzz_tokenizer

.PHONY: deps venv build demo demo-quick test test-cpp test-python bench clean test-asan test-tsan \
  fuzz-build fuzz

# apt-get runs only when a package is missing, so repeated runs cost nothing.
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/bin/python:
	/usr/bin/python3 -m venv --system-site-packages $(VENV)

venv: deps $(VENV)/bin/python

build: venv
	SESSREC_BUILD_DIR=$(BUILD_DIR) SESSREC_BUILD_JOBS=$(JOBS) $(PY) -m pip install --no-build-isolation --no-deps -q -e .
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job: the committed experiment (about 6 minutes on 2 cores after the build).
demo: build
	$(PY) -m sessrec.cli run experiments/demo.yaml --out $(DEMO_OUT)

# The classical baselines alone, in well under a minute.
demo-quick: build
	$(PY) -m sessrec.cli demo --out $(DEMO_OUT)-quick

test-cpp: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

test-python: build
	$(PY) -m pytest -q tests/python

test: test-cpp test-python

# The core and the C++ tests under ASan + UBSan (-O1 -g: CMakeLists.txt's Debug flags), in their
# own build folder; any sanitizer report fails the run. About 9 min to build on 2 idle cores.
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DSESSREC_BUILD_PYTHON=OFF -DSESSREC_PORTABLE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS) --target sessrec_tests
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(ASAN_DIR)/sessrec_tests --gtest_brief=1

# The concurrent scoring tests under ThreadSanitizer (cmake/tsan/CMakeLists.txt says why
# OMP_NUM_THREADS=1).
test-tsan: deps
	cmake -S cmake/tsan -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(TSAN_DIR) -j $(JOBS)
	OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1 $(TSAN_DIR)/sessrec_tsan_tests

# libFuzzer targets of the parsers and readers (fuzz/), each run FUZZ_SECONDS from its seeds.
fuzz-build: deps
	CC=clang-14 CXX=clang++-14 cmake -S fuzz -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_DIR) -j $(JOBS)

fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	$(PY) bench/run_itemcf_bench.py

clean:
	rm -rf build $(VENV) python/sessrec/_core*.so
