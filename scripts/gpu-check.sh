#!/usr/bin/env bash
# The GPU check of issue #8, in one script, for a machine with an NVIDIA GPU,
# the PyTorch 2.11 libraries (pip install torch==2.11.0) and an ablate
# release binary built elsewhere and copied over. Run it from a checkout (it
# reads variants/ and benches/pytorch_twin.py). It prints, in order:
#   1. CUDA as ablate sees it (`ablate env`); stops if CUDA is not visible;
#   2. `ablate model stats` of SPL-Net at the paper profile;
#   3. inference latency at batch 1 and throughput at batch 128 of every
#      variant, next to the paper's 10.56 ms per image (GTX 2080, Table 10);
#   4. stage-1 and stage-2 training images/s at the paper profile, against
#      the PyTorch eager twin (`ablate bench train`);
#   5. a short end-to-end grid on synthetic faces at 224 px and its report.
#
# Usage: scripts/gpu-check.sh [--ablate PATH] [--python PATH] [--device cpu]
#   --device cpu  checks the script's plumbing on a machine without a GPU:
#                 the same steps at the tiny profile and 32 px, on the CPU.
# docs/gpu.md says what has run where.
set -euo pipefail
cd "$(dirname "$0")/.."
ablate=target/release/ablate
python=python3
device=cuda
while [ $# -gt 0 ]; do
    case "$1" in
        --ablate) ablate="$2"; shift 2 ;;
        --python) python="$2"; shift 2 ;;
        --device) device="$2"; shift 2 ;;
        *) echo "usage: $0 [--ablate PATH] [--python PATH] [--device cpu]" >&2; exit 2 ;;
    esac
done
case "$device" in
    cuda) profile=paper; size=224; grid_profile=paper
          timing=(--warmup 5 --iters 20); rounds=(--warmup 3 --iters 10 --rounds 3) ;;
    # Plumbing only: the fewest repetitions that still run every path.
    cpu) profile=tiny; size=32; grid_profile=tiny
         timing=(--warmup 1 --iters 2); rounds=(--warmup 0 --iters 1 --rounds 1) ;;
    *) echo "--device must be cuda (default) or cpu, not $device" >&2; exit 2 ;;
esac
[ -x "$ablate" ] || { echo "no ablate binary at $ablate (build with cargo build --release, or pass --ablate)" >&2; exit 2; }

# The binary links libtorch dynamically: point it at the wheel's libraries.
torch_lib="$("$python" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
run() { echo "\$ ablate $*"; "$ablate" --device "$device" "$@"; }

echo "== 1. CUDA visible"
env_out="$(run env)"
echo "$env_out"
if [ "$device" = cuda ] && ! grep -q '^cuda available: true' <<<"$env_out"; then
    echo "CUDA is not visible to ablate: check the driver and LD_LIBRARY_PATH ($torch_lib)" >&2
    exit 1
fi

echo; echo "== 2. model stats, SPL-Net at the paper profile"
run model stats --variant SPL-Net --profile paper

echo; echo "== 3. inference: latency at batch 1, throughput at batch 128 (profile $profile)"
echo "paper (Table 10, GTX 2080): SPL-Net 10.56 ms per image"
run model stats --all --profile "$profile" --batch 128 "${timing[@]}"

echo; echo "== 4. training images/s at profile $profile, ablate vs PyTorch eager"
run bench train --profile "$profile" --python "$python" "${rounds[@]}"

echo; echo "== 5. end-to-end grid on synthetic faces at $size px"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/gpu-grid.toml" <<TOML
name = "gpu-check"
variants = ["Baseline", "SPL R", "SPL-Net"]
proportions = [10, 50]
seeds = [0]
device = "$device"
database = "sqlite://$work/gpu-check.db"
artifacts = "$work/artifacts"
[profile]
name = "$grid_profile"
[profile.overrides]
stage1_epochs = 2
stage2_epochs = 2
warmup_epochs = 1
[[datasets]]
kind = "synthetic"
count = 400
size = $size
TOML
start=$(date +%s)
run run "$work/gpu-grid.toml"
echo "grid: $(( $(date +%s) - start )) s"
run status "$work/gpu-grid.toml"
run report "$work/gpu-grid.toml" --out "$work/report" --format json
echo "gpu-check: all steps ran on $device"
