#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the store tests: installs the
# server if missing (needs root and apt), initialises a cluster in a fresh
# temporary directory, starts it, creates a database and prints the lines to
# `eval`: ABLATE_TEST_POSTGRES_URL for the tests, ABLATE_TEST_POSTGRES_DATA
# for stopping it (`pg_ctl -D "$ABLATE_TEST_POSTGRES_DATA" stop`).
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin="$(find_bin)"
if [[ -z "$bin" ]]; then
    if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
        echo "postgres: no PostgreSQL server here and no root apt to install one" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin="$(find_bin)"
fi

# The server refuses to run as root: run it as the postgres user then.
as_server_user() {
    if [[ "$(id -u)" == 0 ]]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
data="$(mktemp -d /tmp/ablate-postgres.XXXXXX)"
if [[ "$(id -u)" == 0 ]]; then chown postgres "$data"; fi
# The first free port from 55432, so that two test runs on one machine do
# not collide (a second server on a taken port fails to start).
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="${ABLATE_TEST_POSTGRES_PORT:-55432}"
while [[ -z "${ABLATE_TEST_POSTGRES_PORT:-}" ]] && port_taken "$port"; do
    port=$((port + 1))
done
as_server_user "'$bin/initdb' -D '$data' -A trust -U postgres" >&2
as_server_user "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -w \
    -o \"-c listen_addresses=127.0.0.1 -p $port -k '$data'\" start" >&2
as_server_user "'$bin/psql' -h 127.0.0.1 -p $port -U postgres -q -c 'CREATE DATABASE ablate_test'" >&2
echo "export ABLATE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/ablate_test"
echo "export ABLATE_TEST_POSTGRES_DATA=$data"
