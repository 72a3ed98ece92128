#!/usr/bin/env bash
# Measures `ablate report` on a generated database of the issue's size:
# 3 datasets x 16 variants x 6 proportions x 10 seeds (2880 runs) with
# per-epoch metrics, filled by the noop trainer (which trains nothing).
# Prints the report's time and its ratio to `ablate status` on the same
# database, measured in the same run (status reads every run once).
# Usage: scripts/bench-report.sh [path/to/ablate] (default target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
ablate="${1:-target/release/ablate}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/bench.toml" <<TOML
name = "bench"
proportions = [0.5, 1, 2, 5, 10, 50]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
device = "cpu"
database = "sqlite://$work/bench.db"
artifacts = "$work/artifacts"
[profile]
name = "tiny"
$(for seed in 0 1 2; do printf '[[datasets]]\nkind = "synthetic"\ncount = 100\nsize = 32\nseed = %s\n' "$seed"; done)
TOML
"$ablate" -q run "$work/bench.toml" --trainer noop --noop-epochs 10
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
status=$(seconds "$ablate" -q status "$work/bench.toml" --format json)
report=$(seconds "$ablate" -q report "$work/bench.toml" --out "$work/out" --format html,latex,csv,json)
printf 'runs 2880  status %.2f s  report (all formats) %.2f s  report/status %.2f\n' \
    "$status" "$report" "$(echo "$report / $status" | bc -l)"
ls -l "$work/out" | awk 'NR > 1 { print "  " $9 ": " $5 " bytes" }'
