#!/usr/bin/env bash
# Install anvil (Foundry's local Ethereum node) from the npm package
# @foundry-rs/anvil-linux-amd64 into .tools/anvil (git-ignored), for the live
# watch tests. Idempotent and quick when already installed; prints the
# binary's path on stdout and its progress on stderr.
#
#   TRIPOINT_ANVIL=$(scripts/setup-anvil.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=1.7.1
pkg=@foundry-rs/anvil-linux-amd64
dir="$root/.tools/anvil"
stamp="$dir/.installed-$version"
find_bin() {
  local b
  for b in "$dir/node_modules/$pkg/bin/anvil" "$dir/node_modules/$pkg/anvil"; do
    [ -x "$b" ] && { echo "$b"; return 0; }
  done
  b=$(find "$dir/node_modules/$pkg" -type f -name anvil 2>/dev/null | head -n1)
  [ -n "$b" ] && { chmod +x "$b"; echo "$b"; return 0; }
  return 1
}
if [ -f "$stamp" ] && bin=$(find_bin); then
  echo "anvil $version already installed: $bin" >&2
else
  command -v npm >/dev/null || { echo "setup-anvil: npm not found (apt-get install npm)" >&2; exit 1; }
  echo "installing $pkg@$version from npm into $dir ..." >&2
  mkdir -p "$dir"
  # npm's own output is the progress; it goes to stderr (stdout carries the path).
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock \
    "$pkg@$version" >&2
  bin=$(find_bin) || { echo "setup-anvil: no anvil binary inside $pkg@$version (in $dir)" >&2; exit 1; }
  "$bin" --version >&2
  touch "$stamp"
  echo "anvil installed: $bin" >&2
fi
echo "$bin"
