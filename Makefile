# The two commands of the README:
#   make demo   set up, then run the main job on the built-in synthetic data
#   make test   set up, then run the whole test suite
# Everything cargo does here links against the PyTorch wheel in .venv.

SHELL := /bin/bash
export VIRTUAL_ENV := $(CURDIR)/.venv
export PATH := $(VIRTUAL_ENV)/bin:$(PATH)
export LIBTORCH_USE_PYTORCH := 1

ABLATE := target/release/ablate

.PHONY: setup build demo test fmt lint

setup:
	@scripts/setup.sh

build: setup
	cargo build --release --locked

# One local worker per core; each gets an even share of libtorch's threads.
WORKERS ?= $(shell nproc)

# The main job: all sixteen variants x 3 label proportions x 2 seeds on the
# synthetic faces (experiments/demo.toml), trained for real, then its report.
# A second call reuses every finished run.
demo: build
	$(ABLATE) variants check
	$(ABLATE) run experiments/demo.toml --workers $(WORKERS)
	$(ABLATE) report experiments/demo.toml

test:
	@scripts/test.sh

fmt:
	cargo fmt --all

lint: setup
	cargo clippy --all-targets --locked -- -D warnings
