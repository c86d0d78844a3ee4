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

async function startServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tripoint-console-"));
  const config = path.join(dir, "intel.toml");
  const out = execFileSync(bin, ["intel", "init", "--config", config, "--storage", "intel.db"], { encoding: "utf8" });
  const secrets = {};
  for (const m of out.matchAll(/partner (\w+): basic (\w+):(\w+)/g)) {
    secrets[m[1]] = { user: m[2], password: m[3] };
  }
  const op = out.match(/operator \(admin endpoints\): basic (\S+):(\S+)/);
  if (!op || !secrets.us || !secrets.jp) throw new Error(`unexpected intel init output:\n${out}`);
  secrets.admin = { user: op[1], password: op[2] };
  const proc = spawn(bin, ["serve", "--config", config, "--listen", "127.0.0.1:0", "--ews-synthetic", "7"], {
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
    async stop() {
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

module.exports = { startServer, TLP_RED, TLP_GREEN, target };
