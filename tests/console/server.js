// Starts a real `tripoint serve` for the browser tests: a fresh trilateral
// configuration in a temporary folder, a free loopback port (port 0, read
// back from the server's first line), the synthetic early-warning data set.
// `stop()` kills it and removes the folder; call it from afterAll.
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "../..");
const target = process.env.CARGO_TARGET_DIR || path.join(root, "target");
const bin = process.env.TRIPOINT_BIN || path.join(target, "debug/tripoint");

const TLP_RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const MEDIA = "application/taxii+json;version=2.1";

function firstLine(proc, deadlineMs) {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`tripoint serve printed no address within ${deadlineMs} ms: ${buf}`)), deadlineMs);
    proc.stdout.on("data", (d) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl).trim());
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tripoint serve exited (${code}) before listening: ${buf}`));
    });
  });
}

// A transfer store with a generated laundering scenario (fixed seed) and its
// labels, the exchanges attributed to actors with jurisdictions (US, JP, KR in
// turn), for the case pages. Returns the store folder and the scenario's truth.
function caseStore(dir) {
  const gen = path.join(dir, "gen");
  const st = path.join(dir, "store");
  execFileSync(bin, ["gen", "--out", gen, "--seed", "3", "--transfers", "10000", "--format", "json"], { encoding: "utf8" });
  execFileSync(bin, ["ingest", "--store", st, "ethereum-etl",
    "--transactions", path.join(gen, "transactions.csv"),
    "--token-transfers", path.join(gen, "token_transfers.csv"),
    "--tokens", path.join(gen, "tokens.csv")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const codes = ["US", "JP", "KR"];
  const exchanges = fs.readFileSync(path.join(gen, "labels.csv"), "utf8").split("\n")
    .map((l) => l.split(",")).filter((f) => f[2] === "exchange");
  const actors = exchanges.map((f, i) => `- id: exchange-${i + 1}\n  label: ${f[1]}\n  jurisdictions:\n  - ${codes[i % 3]}\n`).join("");
  fs.writeFileSync(path.join(dir, "exchanges.actorpack.yaml"), `actors:\n${actors}`);
  const tags = exchanges.map((f, i) => `- address: '${f[0]}'\n  label: ${f[1]}\n  actor: exchange-${i + 1}\n`).join("");
  fs.writeFileSync(path.join(dir, "exchanges.yaml"),
    `title: Exchange wallets (test)\ncategory: exchange\ncurrency: ETH\nconfidence: service_data\nlastmod: 2025-01-01\nsource: https://example.org/exchanges\ntags:\n${tags}`);
  execFileSync(bin, ["labels", "import", "--store", st, path.join(gen, "labels.csv"),
    path.join(dir, "exchanges.actorpack.yaml"), path.join(dir, "exchanges.yaml")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const truth = JSON.parse(fs.readFileSync(path.join(gen, "truth.json"), "utf8"));
  return { store: st, truth };
}

// A `caseStore` for the live-alert tests: an empty transfer store with one
// exchange address labelled (`tag`) and attributed to `actor` (`label`, one
// `jurisdiction`), and the cases `cases` ({ name, seed, partner, tlp }) opened
// on it. Returns the store folder, the binary and the cases' ids in order.
function exchangeCaseStore({ actor, label, jurisdiction, address, tag, cases }) {
  return (dir, bin) => {
    const st = path.join(dir, "store");
    fs.writeFileSync(path.join(dir, "x.actorpack.yaml"), `actors:\n- id: ${actor}\n  label: ${label}\n  jurisdictions:\n  - ${jurisdiction}\n`);
    fs.writeFileSync(path.join(dir, "x.yaml"),
      `title: ${label} wallets\ncategory: exchange\nactor: ${actor}\ncurrency: ETH\nconfidence: service_data\nlastmod: 2024-05-01\n` +
      `source: https://example.org/${actor}\ntags:\n- address: '${address}'\n  label: ${tag}\n`);
    execFileSync(bin, ["labels", "import", "--store", st, path.join(dir, "x.actorpack.yaml"), path.join(dir, "x.yaml")], { stdio: ["ignore", "pipe", "pipe"] });
    const caseIds = cases.map((c) => JSON.parse(execFileSync(bin, ["case", "new", "--store", st, "--name", c.name, "--seed", c.seed,
      "--partner", c.partner, "--tlp", c.tlp, "--json"], { encoding: "utf8" })).id);
    return { store: st, bin, caseIds };
  };
}

// `opts.caseStore(dir, bin)` builds the case store the server serves (default:
// the generated scenario above) and returns at least `{ store }`.
async function startServer(opts = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tripoint-console-"));
  const config = path.join(dir, "intel.toml");
  let cases;
  try {
    cases = await (opts.caseStore || caseStore)(dir, bin);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const out = execFileSync(bin, ["intel", "init", "--config", config, "--storage", "intel.db"], { encoding: "utf8" });
  const secrets = {};
  for (const m of out.matchAll(/partner (\w+): basic (\w+):(\w+)/g)) {
    secrets[m[1]] = { user: m[2], password: m[3] };
  }
  const op = out.match(/operator \(admin endpoints\): basic (\S+):(\S+)/);
  if (!op || !secrets.us || !secrets.jp) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`unexpected intel init output:\n${out}`);
  }
  secrets.admin = { user: op[1], password: op[2] };
  const proc = spawn(bin, ["serve", "--config", config, "--listen", "127.0.0.1:0", "--ews-synthetic", "7", "--case-store", cases.store], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => { stderr += d.toString(); });
  let line;
  try {
    line = await firstLine(proc, 30_000);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  const m = line.match(/listening on (http:\/\/[\d.:]+)\/taxii2\//);
  if (!m) {
    proc.kill("SIGKILL");
    throw new Error(`unexpected first line from tripoint serve: ${line}`);
  }
  const server = {
    base: m[1],
    secrets,
    proc,
    stderr: () => stderr,
    auth(partner) {
      const s = secrets[partner];
      return "Basic " + Buffer.from(`${s.user}:${s.password}`).toString("base64");
    },
    async collectionId(alias) {
      const r = await fetch(`${this.base}/trilateral/collections/`, { headers: { Authorization: this.auth("us"), Accept: MEDIA } });
      const body = await r.json();
      const c = body.collections.find((c) => c.alias === alias);
      if (!c) throw new Error(`no collection ${alias}`);
      return c.id;
    },
    async post(partner, alias, objects) {
      const id = await this.collectionId(alias);
      const r = await fetch(`${this.base}/trilateral/collections/${id}/objects/`, {
        method: "POST",
        headers: { Authorization: this.auth(partner), Accept: MEDIA, "Content-Type": MEDIA },
        body: JSON.stringify({ objects }),
      });
      const status = await r.json();
      if (r.status !== 202 || status.failure_count > 0) {
        throw new Error(`POST failed (${r.status}): ${JSON.stringify(status)}`);
      }
      return id;
    },
    truth: cases.truth,
    cases,
    dir,
    // A case opened through the case API by `partner`.
    async newCase(partner, body) {
      const r = await fetch(`${this.base}/api/cases/`, {
        method: "POST",
        headers: { Authorization: this.auth(partner), Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const c = await r.json();
      if (r.status !== 201) throw new Error(`case create failed (${r.status}): ${JSON.stringify(c)}`);
      return c;
    },
    async stop() {
      // The server's log is a test artifact.
      fs.mkdirSync(path.join(target, "test-logs/console"), { recursive: true });
      fs.writeFileSync(path.join(target, "test-logs/console", `serve-${path.basename(dir)}.log`), stderr);
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once("exit", resolve));
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

module.exports = { startServer, exchangeCaseStore, TLP_RED, TLP_GREEN, target, bin, root };
