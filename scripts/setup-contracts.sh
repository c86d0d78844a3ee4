#!/usr/bin/env bash
# Install the compiled contract artifacts the contract tests deploy on
# anvil (tests/it/contracts.rs): WETH9 from @uniswap/v2-periphery
# (build/WETH9.json) and the Uniswap V2 factory, pair and test ERC-20 from
# @uniswap/v2-core (build/*.json), from npm into .tools/contracts
# (git-ignored). Nothing is compiled: the tests install the packages'
# runtime bytecode. Idempotent and quick when already installed; prints the
# directory holding node_modules on stdout, progress on stderr.
#
#   TRIPOINT_CONTRACTS=$(scripts/setup-contracts.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
core=@uniswap/v2-core@1.0.1
periphery=@uniswap/v2-periphery@1.1.0-beta.0
dir="$root/.tools/contracts"
stamp="$dir/.installed-v2-core-1.0.1-periphery-1.1.0-beta.0"
have() {
  [ -f "$dir/node_modules/@uniswap/v2-core/build/UniswapV2Pair.json" ] &&
    [ -f "$dir/node_modules/@uniswap/v2-periphery/build/WETH9.json" ]
}
if [ -f "$stamp" ] && have; then
  echo "contract artifacts already installed: $dir" >&2
else
  command -v npm >/dev/null || { echo "setup-contracts: npm not found (apt-get install npm)" >&2; exit 1; }
  echo "installing $core and $periphery from npm into $dir ..." >&2
  mkdir -p "$dir"
  # --ignore-scripts: only the shipped build/ artifacts are wanted.
  npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock \
    --ignore-scripts "$core" "$periphery" >&2
  have || { echo "setup-contracts: artifacts missing after install (in $dir)" >&2; exit 1; }
  touch "$stamp"
  echo "contract artifacts installed: $dir" >&2
fi
echo "$dir"
