#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server beside it:
#
#     scripts/with-postgres.sh .venv/bin/pytest tests/integration
#
# The server runs on a free loopback port with a data directory in a temporary folder, and
# is stopped and removed when the command ends, whatever its outcome. The command sees its
# URL in ETL_TEST_POSTGRES_URL (the tests' PostgreSQL leg uses it).
#
# The same server speaks TLS with a certificate of a throwaway CA made here (openssl), for
# `localhost` and 127.0.0.1. Its role `tls_only` may connect over TLS alone (pg_hba
# `hostssl`, and `hostnossl ... reject`): the command sees that role's URL in
# ETL_TEST_POSTGRES_TLS_URL and the CA in ETL_TEST_POSTGRES_CA, so that the tests can check
# `sslmode=verify-full` against a real server and a plain connection refused.
#
# Without PostgreSQL's server programs, as root (CI) the script installs Debian's
# `postgresql` package; otherwise it runs the command without a server, so the PostgreSQL
# tests skip, unless CI is set, where that is an error.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

if [ -n "${ETL_TEST_POSTGRES_URL:-}" ]; then
    exec "$@"  # a server was provided already
fi

find_bin() {
    # Debian keeps the server programs out of PATH, one folder per major version.
    local folder
    for folder in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/bin /usr/bin; do
        if [ -x "$folder/initdb" ] && [ -x "$folder/pg_ctl" ]; then
            echo "$folder"
            return 0
        fi
    done
    return 1
}

PG_BIN="$(find_bin || true)"
if [ -z "$PG_BIN" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "with-postgres: installing Debian's postgresql package" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    PG_BIN="$(find_bin || true)"
fi
if [ -z "$PG_BIN" ]; then
    if [ -n "${CI:-}" ]; then
        echo "with-postgres: PostgreSQL is not installed and could not be installed" >&2
        exit 1
    fi
    echo "with-postgres: PostgreSQL not found; the PostgreSQL tests will skip" >&2
    exec "$@"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/customer-etl-pg.XXXXXX")"
# The server refuses to run as root: as root, it runs as the `postgres` user.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
if [ "$(id -u)" = 0 ]; then
    chown postgres "$WORK"
fi

stop() {
    as_owner "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap stop EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_owner "$PG_BIN/initdb" -D "$WORK/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
    --no-sync >/dev/null
TLS="$WORK/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=customer-etl test CA" \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$TLS/san.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -days 2 -extfile "$TLS/san.ext" -out "$TLS/server.pem" >/dev/null 2>&1
chmod 0600 "$TLS/server.key"
chmod 0644 "$TLS/ca.pem"
if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$TLS"
fi
# First match wins: the TLS-only role's rules go before initdb's `trust` lines.
{
    echo "hostnossl all tls_only 127.0.0.1/32 reject"
    echo "hostssl   all tls_only 127.0.0.1/32 trust"
    cat "$WORK/data/pg_hba.conf"
} >"$WORK/pg_hba.conf"
as_owner cp "$WORK/pg_hba.conf" "$WORK/data/pg_hba.conf"

# Durability settings off: the data is thrown away, and the tests run several times faster.
as_owner "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w -o \
    "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c ssl=on -c ssl_cert_file=$TLS/server.pem -c ssl_key_file=$TLS/server.key" \
    start >/dev/null
as_owner "$PG_BIN/psql" -q -h "$WORK" -p "$PORT" -U postgres -d postgres \
    -c "create role tls_only login superuser" >/dev/null

export ETL_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
export ETL_TEST_POSTGRES_TLS_URL="postgresql+psycopg://tls_only@localhost:$PORT/postgres"
export ETL_TEST_POSTGRES_CA="$TLS/ca.pem"
echo "with-postgres: PostgreSQL $("$PG_BIN/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2
status=0
"$@" || status=$?
exit "$status"
