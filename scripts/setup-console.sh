#!/usr/bin/env bash
# Install what the console's browser tests need, idempotently: Debian's
# chromium (apt, only when /usr/bin/chromium is missing), poppler-utils
# (apt, only when pdftotext is missing) and the pinned npm
# packages of tests/console (@playwright/test, axe-core; `npm ci` from
# package-lock.json, only when the lock changed). No browser is downloaded:
# the tests launch /usr/bin/chromium. Progress goes to stderr; stdout carries
# the chromium path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/tests/console"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium (apt) ..." >&2
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q >&2
  "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium fonts-noto-cjk >&2
else
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)" >&2
fi

# poppler's pdftotext/pdftoppm read the quarterly report's PDF back (text
# and page images) in the browser tests.
if ! command -v pdftotext >/dev/null || ! command -v pdftoppm >/dev/null; then
  echo "installing Debian's poppler-utils (apt) ..." >&2
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y -q --no-install-recommends poppler-utils >&2 ||
    { "${sudo[@]}" apt-get update -q >&2 && "${sudo[@]}" apt-get install -y -q --no-install-recommends poppler-utils >&2; }
else
  echo "poppler-utils already installed" >&2
fi

if ! command -v npm >/dev/null; then
  echo "npm not found: installing Debian's nodejs and npm (apt) ..." >&2
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y -q --no-install-recommends nodejs npm >&2
fi

stamp="$dir/node_modules/.installed-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "installing the console test driver (npm ci in tests/console) ..." >&2
  # Playwright must not fetch a browser of its own: the tests use Debian's.
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
  touch "$stamp"
else
  echo "console test driver already installed in $dir/node_modules" >&2
fi
echo /usr/bin/chromium
