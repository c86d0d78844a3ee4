// The console's benchmark (not a test; run by hand):
//   scripts/setup-console.sh && cargo build --release -p tripoint &&
//   TRIPOINT_BIN=target/release/tripoint node tests/console/bench.js [requests-per-page]
// 1. Server time of every console page over a real `tripoint serve` (the
//    generated scenario of the browser tests, one case, intel objects),
//    sequential requests on loopback: p50, p99, max, requests/s; next to it
//    the peer, the TAXII API's GET objects of the same collection on the
//    same server (the JSON the intel page wraps).
// 2. A case graph of 2,000 addresses (a synthetic graph.json with a fixed
//    seed, served in place of the case's own) in Debian's chromium: time to
//    the first drawing, to "Expand all" laid out (all 2,000 shown), and to a
//    click answered (panel shown); the peer is Cytoscape's own
//    `breadthfirst` layout of the same 2,000 nodes in the same page.
// 3. The server's peak resident memory (VmHWM).
// The SSE alert latency is not measured here (see docs/console.md).
const { chromium } = require("@playwright/test");
const fs = require("fs");
const { startServer, TLP_GREEN } = require("./server");

const N = Number(process.argv[2] || 200);

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function timePage(url, headers, n) {
  const times = [];
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    const r = await fetch(url, { headers, redirect: "manual" });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  times.sort((a, b) => a - b);
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: times[times.length - 1], rps: n / wall };
}

// A left-to-right graph of `n` addresses in layers, deterministic (LCG seed 1).
function syntheticGraph(n) {
  let x = 1;
  const rand = () => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648; };
  const hex = (i) => "0x" + i.toString(16).padStart(40, "0");
  const nodes = [], edges = [];
  let hops = 0, layer = [], prev = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || layer.length >= Math.max(1, Math.round(4 * Math.pow(1.6, hops)))) { prev = layer.length ? layer : prev; layer = []; hops = i === 0 ? 0 : hops + 1; }
    const id = hex(i + 1);
    const cluster = hops > 2 && rand() < 0.2 ? { id: `actor:x${Math.floor(rand() * 20)}`, name: "exchange", basis: "actor" } : null;
    nodes.push({ id, hops, role: "intermediary", seed: i === 0, endpoint: false, freeze: false, labels: [], partner: null, jurisdictions: [],
      taint: { ETH: "1 ETH" }, held: {}, balance: {}, exposure: {}, first_tainted: null, patterns: [], cluster });
    layer.push(id);
    if (i > 0) {
      const k = 1 + Math.floor(rand() * 2);
      for (let j = 0; j < k; j++) {
        const src = prev[Math.floor(rand() * prev.length)];
        edges.push({ id: `t${edges.length}`, source: src, target: id, asset: "ETH", symbol: "ETH", decimals: 18,
          amount: String(BigInt(1 + Math.floor(rand() * 1000)) * 10n ** 18n), shown: "1 ETH", time: 1700000000 + edges.length, tx: "0x" + edges.length.toString(16).padStart(64, "0") });
      }
    }
  }
  // Clusters of one member are not clusters.
  const size = {};
  nodes.forEach((n) => { if (n.cluster) size[n.cluster.id] = (size[n.cluster.id] || 0) + 1; });
  nodes.forEach((n) => { if (n.cluster && size[n.cluster.id] < 2) n.cluster = null; });
  return { case: "bench", seeds: [nodes[0].id], assets: { ETH: { symbol: "ETH", decimals: 18 } }, nodes, edges };
}

function peakKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  return m ? Number(m[1]) : null;
}

(async () => {
  const server = await startServer();
  let browser;
  try {
    const seed = server.truth.seeds.addresses[0];
    const from = new Date(server.truth.seeds.start_time * 1000).toISOString();
    const c = await server.newCase("us", { name: "Bench case", seeds: [seed], from, tlp: "green" });
    const T = new Date().toISOString();
    const objects = [];
    for (let i = 0; i < 200; i++) {
      const id = `indicator--00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      objects.push({ type: "indicator", spec_version: "2.1", id, created: T, modified: T, name: `Bench wallet ${i}`,
        pattern: `[ipv4-addr:value = '198.18.${i >> 8}.${i & 255}']`, pattern_type: "stix", valid_from: T, object_marking_refs: [TLP_GREEN] });
    }
    const col = await server.post("us", "indicators", objects);
    const us = { Authorization: server.auth("us") };
    const admin = { Authorization: server.auth("admin") };
    const b = server.base;
    const pages = [
      ["home", "/console/", us],
      ["cases", "/console/cases/", us],
      ["case", `/console/cases/${c.id}/`, us],
      ["case graph.json", `/console/cases/${c.id}/graph.json`, us],
      ["alerts", "/console/alerts/", us],
      ["intel", "/console/intel/", us],
      ["collection (204 objects)", `/console/intel/trilateral/${col}/`, us],
      ["object", `/console/intel/trilateral/${col}/objects/${objects[0].id}/`, us],
      ["early warning", "/console/ews/", us],
      ["audit (admin)", "/console/audit/", admin],
      ["quarterly report", "/console/report/", us],
    ];
    console.log(`server time per page, ${N} sequential requests each (loopback, incl. the audit write):`);
    console.log(`${"page".padEnd(28)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"req/s".padStart(8)}`);
    for (const [name, p, h] of pages) {
      await timePage(b + p, h, 3); // warm (the trace and the EWS data are cached after the first)
      const r = await timePage(b + p, h, N);
      console.log(`${name.padEnd(28)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.max.toFixed(2).padStart(8)} ${r.rps.toFixed(0).padStart(8)}`);
    }
    const peer = await timePage(`${b}/trilateral/collections/${col}/objects/`, { ...us, Accept: "application/taxii+json;version=2.1" }, N);
    console.log(`${"peer: TAXII GET objects".padEnd(28)} ${peer.p50.toFixed(2).padStart(8)} ${peer.p99.toFixed(2).padStart(8)} ${peer.max.toFixed(2).padStart(8)} ${peer.rps.toFixed(0).padStart(8)}`);

    // The 2,000-address graph in chromium.
    browser = await chromium.launch({ executablePath: process.env.TRIPOINT_CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
    const ctx = await browser.newContext({ extraHTTPHeaders: us });
    const page = await ctx.newPage();
    const graph = syntheticGraph(2000);
    await page.route("**/graph.json", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(graph) }));
    const t0 = Date.now();
    await page.goto(`${b}/console/cases/${c.id}/`);
    await page.waitForSelector("#case-graph[data-nodes]");
    const first = Date.now() - t0;
    const expand = await page.evaluate(() => new Promise((resolve) => {
      const host = document.getElementById("case-graph");
      const s = performance.now();
      document.getElementById("g-expand-all").click();
      requestAnimationFrame(() => requestAnimationFrame(() => resolve({ ms: performance.now() - s, nodes: Number(host.getAttribute("data-nodes")) })));
    }));
    const click = await page.evaluate(() => new Promise((resolve) => {
      const cy = window.tripointCase.cy;
      const n = cy.nodes(".address:visible")[100];
      const s = performance.now();
      n.emit("tap");
      requestAnimationFrame(() => requestAnimationFrame(() => resolve({ ms: performance.now() - s, panel: document.getElementById("address-panel").getAttribute("data-address") === n.id() })));
    }));
    const peerLayout = await page.evaluate(() => new Promise((resolve) => {
      const cy = window.tripointCase.cy;
      const s = performance.now();
      const l = cy.elements(":visible").layout({ name: "breadthfirst", directed: true, roots: cy.nodes(".seed"), animate: false });
      l.one("layoutstop", () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - s))));
      l.run();
    }));
    console.log(`\ncase graph of ${graph.nodes.length} addresses, ${graph.edges.length} transfers (synthetic, seed 1) in chromium:`);
    console.log(`  first drawing (page load to graph drawn): ${first} ms`);
    console.log(`  Expand all, laid out and drawn: ${expand.ms.toFixed(0)} ms (${expand.nodes} addresses shown)`);
    console.log(`  a click answered (panel + expansion + layout): ${click.ms.toFixed(0)} ms (panel shown: ${click.panel})`);
    console.log(`  peer: Cytoscape breadthfirst layout of the same view: ${peerLayout.toFixed(0)} ms`);
    console.log(`\nserver peak memory (VmHWM): ${(peakKiB(server.proc.pid) / 1024).toFixed(1)} MiB`);
  } finally {
    if (browser) await browser.close();
    await server.stop();
  }
})().catch((e) => { console.error(e); process.exit(1); });
