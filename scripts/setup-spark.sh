#!/usr/bin/env bash
# Install what the Spark path needs: a Java runtime from Debian (Spark 4 runs
# on Java 17 or 21) and PySpark from PyPI into the project venv (.venv).
# Idempotent and quiet; prints the venv's spark-submit.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v java >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  # bookworm ships 17; later Debian releases ship 21 (and default-jre-headless).
  for pkg in openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
      $sudo apt-get install -y -qq "$pkg" >/dev/null
      break
    fi
  done
fi
command -v java >/dev/null 2>&1 || { echo "setup-spark: no Java runtime could be installed" >&2; exit 1; }
py=$("$root/scripts/setup-python.sh")
venv=$(dirname "$(dirname "$py")")
stamp="$venv/.installed-spark-$(sha256sum "$root/scripts/requirements-spark.txt" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  "$venv/bin/pip" install --disable-pip-version-check -q -r "$root/scripts/requirements-spark.txt"
  touch "$stamp"
fi
echo "$venv/bin/spark-submit"
