#!/usr/bin/env bash
# Set-up plus the main job on the embedded default: build tripoint and run
# `tripoint demo` (generate a laundering scenario, ingest it into the embedded
# store, trace it, and show the intel and ews engines on the same machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --locked --bin tripoint
exec "${CARGO_TARGET_DIR:-$root/target}/release/tripoint" demo "$@"
