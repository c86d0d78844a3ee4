#!/usr/bin/env bash
# Create/refresh the project's Python venv (.venv) with the interop-test tools,
# and with benchmark peers when called with --bench. Idempotent; prints the
# interpreter's path on stdout and its progress on stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv ..." >&2
  python3 -m venv "$venv"
fi
want=("$root/scripts/requirements-test.txt")
[ "${1:-}" = "--bench" ] && want+=("$root/scripts/requirements-bench.txt")
stamp="$venv/.installed-$(cat "${want[@]}" | sha256sum | cut -c1-16)"
# pip's own lines (Collecting / Downloading / Installing) go to stderr as
# progress; stdout carries only the interpreter's path.
pip=("$venv/bin/pip" install --disable-pip-version-check --progress-bar off)
if [ ! -f "$stamp" ]; then
  echo "installing Python tools into $venv (${want[*]##*/}) ..." >&2
  "${pip[@]}" --upgrade pip setuptools wheel | { grep -v '^Requirement already satisfied' || true; } >&2
  for r in "${want[@]}"; do "${pip[@]}" -r "$r" | { grep -v '^Requirement already satisfied' || true; } >&2; done
  touch "$stamp"
  echo "Python tools installed." >&2
else
  echo "Python tools already installed in $venv" >&2
fi
echo "$venv/bin/python"
