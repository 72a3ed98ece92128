#!/usr/bin/env bash
# The whole test suite (`make test`): set up, start a throwaway PostgreSQL on
# loopback so that the store tests run against both databases, run every test,
# stop the server. Without PostgreSQL (no root to install it) its tests are
# skipped with a note, except under CI, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The report's browser test needs Chromium (Debian package); without root it
# is skipped with a note, except under CI, where it fails.
if ! command -v chromium >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "test: installing chromium for the report's browser test" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq chromium >/dev/null || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }
fi

# The report's LaTeX test compiles the generated tables and figures with
# pdflatex and booktabs (Debian: about 50 MB to download, a minute to install).
if ! command -v pdflatex >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "test: installing pdflatex for the report's LaTeX test" >&2
    export DEBIAN_FRONTEND=noninteractive
    tex=(texlive-latex-base texlive-latex-recommended)
    apt-get install -y -qq --no-install-recommends "${tex[@]}" >/dev/null ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${tex[@]}" >/dev/null; }
fi

if pg_env="$(scripts/postgres.sh)"; then
    eval "$pg_env"
    stop_postgres() {
        local pg_ctl
        pg_ctl="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl"
        if [[ "$(id -u)" == 0 ]]; then
            su postgres -s /bin/bash -c "'$pg_ctl' -D '$ABLATE_TEST_POSTGRES_DATA' -m fast stop" >/dev/null || true
        else
            "$pg_ctl" -D "$ABLATE_TEST_POSTGRES_DATA" -m fast stop >/dev/null || true
        fi
        rm -rf "$ABLATE_TEST_POSTGRES_DATA"
    }
    trap stop_postgres EXIT
else
    echo "test: PostgreSQL unavailable; its store tests will be skipped" >&2
fi

# cargo runs two tests at once; libtorch's default of one thread per core on
# top of that cost five times the CPU time on a 2-core machine.
export OMP_NUM_THREADS=1

# Benchmarks are built (so they cannot rot) but not run: they are no tests.
cargo test --locked --all-targets --no-run
cargo test --locked --lib --bins --tests --no-fail-fast
