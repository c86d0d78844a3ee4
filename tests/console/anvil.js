// A real anvil node for the live-alert tests and the benchmark: the binary
// that scripts/setup-anvil.sh installs (or $TRIPOINT_ANVIL), on a port the OS
// picks, and a JSON-RPC call; and the live-alert tests' set-up, anvil with a
// real `tripoint watch` following it into a served case store.
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const readline = require("readline");
const { root, target } = require("./server");

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
    proc.on("error", (e) => { clearTimeout(timer); reject(e); });
    readline.createInterface({ input: proc.stdout }).on("line", (line) => {
      const m = line.match(/^Listening on (\S+)/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
    });
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`anvil exited (${code})`)); });
  });
}

/**
 * A real anvil node and a real `tripoint watch` following it (polling every
 * 50 ms) into `server`'s case store, the one `tripoint serve --case-store`
 * serves. Resolves once the watch says it follows the node (it has opened
 * the case records; it reads the chain from block 0, so a transaction sent
 * before its first poll is not missed), to `{ rpc, out(), err(), stop() }`:
 * the node's URL, what the watch printed so far on stdout (its alerts and
 * retractions, one JSON line each) and on stderr. `stop()` kills both and
 * writes the watch's output to target/test-logs/console/<name>-watch.log
 * (a test artifact, beside the server's log); call it from afterAll. A
 * set-up that fails stops what it started before it throws.
 */
async function startWatchedNode(server, name) {
  const children = [];
  let out = "", err = "", exited = null;
  const chain = {
    rpc: null,
    out: () => out,
    err: () => err,
    stop() {
      for (const p of children) {
        if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      }
      const dir = path.join(target, "test-logs/console");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${name}-watch.log`),
        `${out}\n--- stderr${exited ? ` (the watch exited early: ${exited})` : ""}\n${err}`);
    },
  };
  try {
    chain.rpc = await startAnvil((p) => children.push(p));
    const watch = spawn(server.cases.bin, ["watch", "--store", server.cases.store, "--rpc", chain.rpc, "--poll-ms", "50"],
      { stdio: ["ignore", "pipe", "pipe"] });
    children.push(watch);
    watch.stdout.on("data", (d) => { out += d.toString(); });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tripoint watch did not start following ${chain.rpc} within 30 s:\n${err}`)), 30_000);
      watch.stderr.on("data", (d) => {
        err += d.toString();
        if (/^watch: following /m.test(err)) { clearTimeout(timer); resolve(); }
      });
      watch.on("error", (e) => { clearTimeout(timer); reject(e); });
      watch.on("exit", (code, signal) => {
        exited = `code ${code}, signal ${signal}`;
        clearTimeout(timer);
        reject(new Error(`tripoint watch exited (${exited}) before following the node:\n${err}`));
      });
    });
  } catch (e) {
    chain.stop();
    throw e;
  }
  return chain;
}

async function rpc(url, method, params) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const v = await r.json();
  if (v.error) throw new Error(`${method}: ${JSON.stringify(v.error)}`);
  return v.result;
}

module.exports = { startAnvil, startWatchedNode, rpc };
