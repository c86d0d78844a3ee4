#!/usr/bin/env bash
# Start a throw-away PostgreSQL server from Debian's packages on loopback for the
# test suite.  Usage:  eval "$(scripts/pg.sh start)"  ...  scripts/pg.sh stop
# `start` installs the server if missing, initialises a cluster in a temp dir,
# and prints `export TRIPOINT_TEST_PG_URL=postgres://...` and `export TRIPOINT_PG_DIR=...`.
set -euo pipefail
cmd=${1:-start}
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
start)
  bin=$(find_bin)
  if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "installing postgresql from Debian's packages (apt-get; a minute or two)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    # apt's own lines are the progress; they go to stderr (stdout carries the exports).
    (apt-get update && apt-get install -y --no-install-recommends postgresql) >&2
    bin=$(find_bin)
    echo "postgresql installed: $bin" >&2
  fi
  dir=$(mktemp -d /tmp/tripoint-pg.XXXXXX)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
  as_pg "$bin/initdb" -D "$dir/data" -U tripoint --auth=trust -E UTF8 >/dev/null
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U tripoint tripoint_test
  echo "postgresql $("$bin/postgres" --version | awk '{print $3}') listening on 127.0.0.1:$port (data in $dir)" >&2
  echo "export TRIPOINT_TEST_PG_URL=postgres://tripoint@127.0.0.1:$port/tripoint_test"
  echo "export TRIPOINT_PG_DIR=$dir"
  ;;
stop)
  dir=${TRIPOINT_PG_DIR:?TRIPOINT_PG_DIR not set}
  bin=$(find_bin)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
