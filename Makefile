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

demo: build
	$(ABLATE) variants check
	$(ABLATE) variants matrix

test:
	@scripts/test.sh

fmt:
	cargo fmt --all

lint: setup
	cargo clippy --all-targets --locked -- -D warnings
