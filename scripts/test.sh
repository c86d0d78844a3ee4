#!/usr/bin/env bash
# The whole test suite, on a fresh machine or CI: installs what the tests need
# (Python interop tools in .venv, a PostgreSQL server), starts the server on
# loopback, runs the Rust tests (unit + the one integration binary, against
# SQLite and PostgreSQL) and the Python interop tests, and stops the server.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "== set-up"
py=$(scripts/setup-python.sh)
eval "$(scripts/pg.sh start)"
trap 'scripts/pg.sh stop' EXIT
export TRIPOINT_PYTHON="$py"

echo "== cargo test (workspace)"
cargo test --workspace --locked 2>&1 | tee /tmp/tripoint-cargo-test.log

if compgen -G "tests/interop/test_*.py" >/dev/null; then
  echo "== interop tests (real OASIS clients from PyPI)"
  cargo build --locked --bin tripoint
  TRIPOINT_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/tripoint" "$py" -m pytest -q tests/interop
fi
