#!/usr/bin/env bash
# Create/refresh the project's Python venv (.venv) with the interop-test tools,
# and with benchmark peers when called with --bench. Idempotent and quiet.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
want=("$root/scripts/requirements-test.txt")
[ "${1:-}" = "--bench" ] && want+=("$root/scripts/requirements-bench.txt")
stamp="$venv/.installed-$(cat "${want[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$venv/bin/pip" install --disable-pip-version-check -q --upgrade pip setuptools wheel >/dev/null
  for r in "${want[@]}"; do "$venv/bin/pip" install --disable-pip-version-check -q -r "$r"; done
  touch "$stamp"
fi
echo "$venv/bin/python"
