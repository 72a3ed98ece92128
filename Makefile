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

# Today's main job: the smoke grid (Baseline, SPL R, SPL-Net x 2 label
# proportions x 2 seeds, tiny profile, synthetic faces), trained for real,
# then its report. A second call reuses every finished run.
demo: build
	$(ABLATE) variants check
	$(ABLATE) run experiments/smoke.toml
	$(ABLATE) report experiments/smoke.toml

test:
	@scripts/test.sh

fmt:
	cargo fmt --all

lint: setup
	cargo clippy --all-targets --locked -- -D warnings
