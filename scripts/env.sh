# Source this file to build or run ablate with the project's libtorch:
#   source scripts/env.sh && cargo build --release
# It points cargo at the PyTorch wheel in the project-local virtualenv.
_ablate_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export VIRTUAL_ENV="$_ablate_root/.venv"
export PATH="$VIRTUAL_ENV/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
unset _ablate_root
