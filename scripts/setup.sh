#!/usr/bin/env bash
# Creates the project-local virtualenv with the pinned PyTorch wheel (the
# libtorch that tch =0.24.0 is built for). Idempotent: a second call only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION=2.11.0
if ! .venv/bin/python -c "import torch,sys; sys.exit(torch.__version__.split('+')[0] != '$TORCH_VERSION')" 2>/dev/null; then
    echo "setup: installing torch==$TORCH_VERSION into .venv (once)"
    python3 -m venv .venv
    .venv/bin/pip install --quiet "torch==$TORCH_VERSION"
fi
echo "setup: torch $(.venv/bin/python -c 'import torch; print(torch.__version__)') in .venv"
