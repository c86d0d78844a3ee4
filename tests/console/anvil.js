// A real anvil node for the live-alert tests and the benchmark: the binary
// that scripts/setup-anvil.sh installs (or $TRIPOINT_ANVIL), on a port the OS
// picks, and a JSON-RPC call. The caller kills the process it gets back.
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const { root } = require("./server");

function anvilBin() {
  if (process.env.TRIPOINT_ANVIL) return process.env.TRIPOINT_ANVIL;
  const p = path.join(root, ".tools/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
  if (!fs.existsSync(p)) throw new Error("anvil is not installed: run scripts/setup-anvil.sh (scripts/test.sh does), or set TRIPOINT_ANVIL");
  return p;
}

/** Start anvil; `onProc` gets the child process at once (to kill it later, also on failure). Resolves to its URL. */
function startAnvil(onProc) {
  const proc = spawn(anvilBin(), ["--host", "127.0.0.1", "--port", "0", "--accounts", "1"], { stdio: ["ignore", "pipe", "ignore"] });
  onProc(proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("anvil did not report its address within 30 s")), 30_000);
    readline.createInterface({ input: proc.stdout }).on("line", (line) => {
      const m = line.match(/^Listening on (\S+)/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`anvil exited (${code})`)); });
  });
}

async function rpc(url, method, params) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const v = await r.json();
  if (v.error) throw new Error(`${method}: ${JSON.stringify(v.error)}`);
  return v.result;
}

module.exports = { startAnvil, rpc };
