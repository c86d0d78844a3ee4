// The console's benchmark, run by `tripoint bench console` (which passes
// TRIPOINT_BIN and TRIPOINT_ANVIL), or by hand:
//   node tests/console/bench.js [--requests N] [--nodes N] [--alerts N] [--json]
// 1. Server time of every console page over a real `tripoint serve` (the
//    generated scenario of the browser tests, one case, intel objects),
//    sequential requests on loopback: p50, p99, max, requests/s; next to it
//    the peer, the TAXII API's GET objects of the same collection on the
//    same server (the JSON the intel page wraps). Goal: p99 < 20 ms.
// 2. A case graph of N addresses (a synthetic graph.json with a fixed seed,
//    served in place of the case's own) in Debian's chromium: time from
//    navigation to the first drawing, to all N addresses laid out and drawn
//    ("Expand all"), and to a click answered (panel shown); the peer is
//    Cytoscape's own `breadthfirst` layout of the same N addresses in the
//    same page. Goal: < 2 s. Peak memory of the page (renderer VmHWM, JS heap).
// 3. SSE latency: a real anvil, a real `tripoint watch` on the served case
//    store, a transaction per alert; the time from the watch printing the
//    alert (it prints after storing it) to the open alerts page adding it
//    (a MutationObserver in the page; both clocks are this machine's).
//    Goal: <= 200 ms. The peer: the case API polled every 100 ms (the
//    stream's own interval), as a client without the stream would.
// 4. The server's peak resident memory (VmHWM).
const { chromium } = require("@playwright/test");
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const readline = require("readline");
const { startServer, exchangeCaseStore, TLP_GREEN, target } = require("./server");
const { startAnvil, rpc } = require("./anvil");

function args(argv) {
  const o = { requests: 200, nodes: 2000, alerts: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") { o.json = true; continue; }
    const k = a.replace(/^--/, "");
    if (!(k in o) || i + 1 >= argv.length || !/^\d+$/.test(argv[i + 1])) {
      throw new Error(`usage: bench.js [--requests N] [--nodes N] [--alerts N] [--json] (bad argument ${a})`);
    }
    o[k] = Number(argv[++i]);
  }
  return o;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] };
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
  return { ...stats(times), rps: n / wall };
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
  try {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) : null;
  } catch (e) {
    return null;
  }
}

// The largest VmHWM among chromium's renderer processes (descendants of this process).
function rendererPeakKiB(rootPid) {
  const parent = {};
  for (const p of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      parent[p] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    } catch (e) { /* gone */ }
  }
  const under = (p) => { for (let x = p, i = 0; x && i < 64; x = parent[x], i++) { if (x === String(rootPid)) return true; } return false; };
  let best = null;
  for (const p of Object.keys(parent)) {
    if (!under(p)) continue;
    let cmd = "";
    try { cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8"); } catch (e) { continue; }
    if (!cmd.includes("--type=renderer")) continue;
    const k = peakKiB(p);
    if (k !== null && (best === null || k > best)) best = k;
  }
  return best;
}

// CPU time (ms) of the main thread of each chromium renderer under this
// process: the page's JavaScript, style and drawing run there, so this is
// the work the graph costs, whatever else the machine is doing (the wall
// times above it stretch with the machine's load).
function rendererMainCpu(rootPid) {
  const parent = {};
  for (const p of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      parent[p] = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
    } catch (e) { /* gone */ }
  }
  const under = (p) => { for (let x = p, i = 0; x && i < 64; x = parent[x], i++) { if (x === String(rootPid)) return true; } return false; };
  const out = {};
  for (const p of Object.keys(parent)) {
    if (!under(p)) continue;
    try {
      if (!fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const stat = fs.readFileSync(`/proc/${p}/task/${p}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[p] = (Number(f[11]) + Number(f[12])) * 1000 / CLOCK_TICKS;
    } catch (e) { /* gone */ }
  }
  return out;
}
const CLOCK_TICKS = (() => { try { return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100; } catch (e) { return 100; } })();

const f1 = (x) => (x === null || x === undefined ? "—" : x.toFixed(1));
const mib = (k) => (k === null ? null : k / 1024);

async function serverPages(o, out, log) {
  const server = await startServer();
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
      ["early-warning series.json", "/console/ews/series.json", us],
      ["early-warning backtest.json", "/console/ews/backtest.json", us],
      ["audit (admin)", "/console/audit/", admin],
      ["quarterly report", "/console/report/", us],
    ];
    log(`1. server time per page, ${o.requests} sequential requests each (loopback, incl. the audit write; goal p99 < 20 ms):`);
    log(`${"page".padEnd(28)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"req/s".padStart(8)}`);
    const row = (name, r) => log(`${name.padEnd(28)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${r.max.toFixed(2).padStart(8)} ${r.rps.toFixed(0).padStart(8)}`);
    out.pages = {};
    for (const [name, p, h] of pages) {
      await timePage(b + p, h, 3); // warm (the trace and the EWS data are cached after the first)
      const r = await timePage(b + p, h, o.requests);
      out.pages[name] = r;
      row(name, r);
    }
    const peer = await timePage(`${b}/trilateral/collections/${col}/objects/`, { ...us, Accept: "application/taxii+json;version=2.1" }, o.requests);
    out.pages_peer = { name: "TAXII GET objects", ...peer };
    row("peer: TAXII GET objects", peer);
    const worst = Object.entries(out.pages).sort((x, y) => y[1].p99 - x[1].p99)[0];
    log(`worst p99: ${worst[0]} ${worst[1].p99.toFixed(2)} ms (goal < 20 ms: ${worst[1].p99 < 20 ? "met" : "NOT met"})`);
    out.server_peak_mib = mib(peakKiB(server.proc.pid));
    return { server, caseId: c.id };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

async function graph(o, out, log, server, caseId) {
  const browser = await chromium.launch({ executablePath: process.env.TRIPOINT_CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
  try {
    const ctx = await browser.newContext({ extraHTTPHeaders: { Authorization: server.auth("us") }, viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const g = syntheticGraph(o.nodes);
    await page.route("**/graph.json", (route) => route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(g) }));
    // The moment the canvas first reports what it drew, then painted (two frames).
    await page.addInitScript(() => {
      new MutationObserver((list, obs) => {
        const host = document.getElementById("case-graph");
        if (host && host.hasAttribute("data-nodes")) {
          obs.disconnect();
          requestAnimationFrame(() => requestAnimationFrame(() => { window.__firstDrawn = performance.now(); }));
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-nodes"] });
    });
    const load = os.loadavg();
    const cpu0 = rendererMainCpu(process.pid);
    await page.goto(`${server.base}/console/cases/${caseId}/`);
    await page.waitForFunction(() => window.__firstDrawn !== undefined, null, { timeout: 120_000 });
    const first = await page.evaluate(() => window.__firstDrawn);
    const cpu1 = rendererMainCpu(process.pid);
    // Expand all: the click's own task (case.js working out and laying out
    // what is drawn, Cytoscape adding and styling the elements), then the
    // first frame (Cytoscape's rendered style and drawing), then the second
    // (the canvas painted).
    const expand = await page.evaluate(() => new Promise((resolve) => {
      const host = document.getElementById("case-graph");
      const s = performance.now();
      document.getElementById("g-expand-all").click();
      const task = performance.now() - s;
      requestAnimationFrame(() => {
        const frame = performance.now() - s;
        requestAnimationFrame(() => resolve({ ms: performance.now() - s, task, frame, since: performance.now(), nodes: Number(host.getAttribute("data-nodes")) }));
      });
    }));
    const cpu2 = rendererMainCpu(process.pid);
    if (expand.nodes !== g.nodes.length) throw new Error(`Expand all showed ${expand.nodes} of ${g.nodes.length} addresses`);
    // What was drawn is the graph: every cluster a compound node holding
    // exactly its addresses.
    const boxes = await page.evaluate(() => {
      const { cy, data } = window.tripointCase;
      const want = {};
      data.nodes.forEach((n) => { if (n.cluster) (want[n.cluster.id] = want[n.cluster.id] || []).push(n.id); });
      return Object.keys(want).filter((k) => cy.getElementById("c:" + k).children().map((c) => c.id()).sort().join() !== want[k].sort().join());
    });
    if (boxes.length) throw new Error(`clusters not drawn as compound nodes of exactly their addresses: ${boxes.join(", ")}`);
    const rpid = Object.keys(cpu2).sort((a, b) => cpu2[b] - cpu2[a])[0];
    const firstCpu = (cpu1[rpid] || 0) - (cpu0[rpid] || 0), expandCpu = cpu2[rpid] - (cpu1[rpid] || 0);
    const click = await page.evaluate(() => new Promise((resolve) => {
      const cy = window.tripointCase.cy;
      const nodes = cy.nodes(".address");
      const n = nodes[Math.floor(nodes.length / 2)];
      const s = performance.now();
      n.emit("tap");
      requestAnimationFrame(() => requestAnimationFrame(() => resolve({ ms: performance.now() - s, panel: document.getElementById("address-panel").getAttribute("data-address") === n.id() })));
    }));
    if (!click.panel) throw new Error("a click on an address did not open its panel");
    // What was measured (our layout of all N), kept beside the tests' screenshots.
    const shots = path.join(target, "test-logs/console");
    fs.mkdirSync(shots, { recursive: true });
    await page.locator("#case-graph").screenshot({ path: path.join(shots, "bench-graph.png") });
    const cdp = await ctx.newCDPSession(page);
    const metrics = Object.fromEntries((await cdp.send("Performance.enable").then(() => cdp.send("Performance.getMetrics"))).metrics.map((m) => [m.name, m.value]));
    const peerLayout = await page.evaluate(() => new Promise((resolve) => {
      const cy = window.tripointCase.cy;
      const s = performance.now();
      const l = cy.elements().layout({ name: "breadthfirst", directed: true, roots: cy.nodes(".seed"), animate: false });
      l.one("layoutstop", () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - s))));
      l.run();
    }));
    await page.locator("#case-graph").screenshot({ path: path.join(shots, "bench-graph-breadthfirst.png") });
    const renderer = mib(rendererPeakKiB(process.pid));
    // A click that expands: on a fresh page, an address of the first view
    // that paid addresses not drawn yet.
    await page.reload();
    await page.waitForFunction(() => window.__firstDrawn !== undefined, null, { timeout: 120_000 });
    const grow = await page.evaluate(() => new Promise((resolve) => {
      const { cy, data } = window.tripointCase;
      const host = document.getElementById("case-graph");
      const before = Number(host.getAttribute("data-nodes"));
      const n = cy.nodes(".address").filter((n) => data.edges.some((e) => e.source === n.id() && cy.getElementById(e.target).empty()))[0];
      if (!n) { resolve(null); return; } // a small graph is drawn whole at once
      const s = performance.now();
      n.emit("tap");
      requestAnimationFrame(() => requestAnimationFrame(() => resolve({ ms: performance.now() - s, added: Number(host.getAttribute("data-nodes")) - before })));
    }));
    if (grow && !(grow.added > 0)) throw new Error("a click on an address with hidden receivers did not expand it");
    out.graph = { nodes: g.nodes.length, edges: g.edges.length, first_drawing_ms: first, expand_all_ms: expand.ms,
      expand_all_task_ms: expand.task, expand_all_first_frame_ms: expand.frame,
      all_laid_out_ms: expand.since, click_ms: click.ms, click_expanding_ms: grow && grow.ms, click_expanding_added: grow && grow.added,
      peer_breadthfirst_ms: peerLayout,
      renderer_main_cpu_first_ms: firstCpu, renderer_main_cpu_expand_all_ms: expandCpu, load_average: load,
      renderer_peak_mib: renderer, js_heap_mib: metrics.JSHeapUsedSize / 1048576 };
    log(`\n2. case graph of ${g.nodes.length} addresses, ${g.edges.length} transfers (synthetic, seed 1) in chromium (goal: laid out and interactive < 2 s; load average ${load.map((x) => x.toFixed(2)).join(", ")}):`);
    log(`  first drawing (navigation to the first view drawn):      ${first.toFixed(0)} ms (renderer main thread CPU ${firstCpu.toFixed(0)} ms)`);
    log(`  Expand all: all ${expand.nodes} laid out and drawn:            ${expand.ms.toFixed(0)} ms (renderer main thread CPU ${expandCpu.toFixed(0)} ms)`);
    log(`    the click's task (case.js, Cytoscape adding and styling): ${expand.task.toFixed(0)} ms, then first frame (Cytoscape drawing) ${(expand.frame - expand.task).toFixed(0)} ms, then painted ${(expand.ms - expand.frame).toFixed(0)} ms`);
    log(`  navigation to all ${expand.nodes} laid out and drawn:          ${expand.since.toFixed(0)} ms (goal < 2000 ms: ${expand.since < 2000 ? "met" : "NOT met"})`);
    log(`  a click on a drawn address answered (panel, drawn):      ${click.ms.toFixed(0)} ms`);
    if (grow) log(`  a click that expands (first view; +${grow.added} addresses, laid out, drawn): ${grow.ms.toFixed(0)} ms`);
    log(`  peer: Cytoscape breadthfirst layout of the same graph:   ${peerLayout.toFixed(0)} ms`);
    log(`  page memory: renderer peak ${f1(renderer)} MiB, JS heap ${f1(out.graph.js_heap_mib)} MiB`);
  } finally {
    await browser.close();
  }
}

const THIEF = "0x7e1f0000000000000000000000000000000000c1";
const EXCHANGE = "0xe8c40000000000000000000000000000000000c5";
const ETHER = 10n ** 18n;

async function sse(o, out, log) {
  const children = [];
  let browser;
  const server = await startServer({
    caseStore: exchangeCaseStore({
      actor: "upbit", label: "Upbit", jurisdiction: "KR", address: EXCHANGE, tag: "Upbit 9",
      cases: [{ name: "SSE bench", seed: THIEF, partner: "us", tlp: "green" }],
    }),
  });
  const caseId = server.cases.caseIds[0];
  try {
    const anvil = await startAnvil((p) => children.push(p));
    const emitted = {};
    let watchErr = "";
    const watch = spawn(server.cases.bin, ["watch", "--store", server.cases.store, "--rpc", anvil, "--poll-ms", "50"], { stdio: ["ignore", "pipe", "pipe"] });
    children.push(watch);
    watch.stderr.on("data", (d) => { watchErr += d.toString(); });
    // The watch prints each alert (one JSON line) once it is stored.
    readline.createInterface({ input: watch.stdout }).on("line", (line) => {
      try { const a = JSON.parse(line); if (a.alert_id) emitted[a.alert_id] = Date.now(); } catch (e) { /* not an alert */ }
    });
    browser = await chromium.launch({ executablePath: process.env.TRIPOINT_CHROMIUM || "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu"] });
    const ctx = await browser.newContext({ extraHTTPHeaders: { Authorization: server.auth("us") } });
    const page = await ctx.newPage();
    await page.addInitScript(() => {
      window.__received = {};
      new MutationObserver((list) => {
        const t = Date.now();
        list.forEach((m) => m.addedNodes.forEach((n) => {
          if (n.getAttribute && n.getAttribute("data-alert") && !(n.getAttribute("data-alert") in window.__received)) window.__received[n.getAttribute("data-alert")] = t;
        }));
      }).observe(document, { subtree: true, childList: true });
    });
    await page.goto(`${server.base}/console/alerts/?case=${caseId}`);
    await page.waitForSelector("#alert-live[data-live='1']");
    await rpc(anvil, "anvil_setBalance", [THIEF, "0x" + (1000000n * ETHER).toString(16)]);
    await rpc(anvil, "anvil_impersonateAccount", [THIEF]);
    // The peer: a client without the stream, polling the case API at the
    // stream's own interval (100 ms), as a script watching a case would.
    const polled = {};
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const r = await fetch(`${server.base}/api/cases/${caseId}/alerts/`, { headers: { Authorization: server.auth("us"), Accept: "application/json" } });
        const t = Date.now();
        if (r.ok) (await r.json()).alerts.forEach((a) => { if (!(a.alert_id in polled)) polled[a.alert_id] = t; });
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const lat = [], peerLat = [];
    for (let i = 0; i < o.alerts; i++) {
      const before = new Set(Object.keys(emitted));
      await rpc(anvil, "eth_sendTransaction", [{ from: THIEF, to: EXCHANGE, value: "0x" + (BigInt(i + 1) * ETHER).toString(16) }]);
      const deadline = Date.now() + 60_000;
      let ids = [];
      for (;;) {
        ids = Object.keys(emitted).filter((id) => !before.has(id));
        if (ids.length) {
          const got = await page.evaluate((ids) => ids.map((id) => window.__received[id]), ids);
          if (got.every((t) => t !== undefined) && ids.every((id) => id in polled)) {
            ids.forEach((id, k) => { lat.push(got[k] - emitted[id]); peerLat.push(polled[id] - emitted[id]); });
            break;
          }
        }
        if (Date.now() > deadline) throw new Error(`drill ${i + 1}: ${ids.length ? "the page did not receive the alert" : "the watch raised no alert"} within 60 s\n${watchErr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    polling = false;
    await poller;
    const s = stats(lat), q = stats(peerLat);
    out.sse = { alerts: s.n, p50_ms: s.p50, p99_ms: s.p99, max_ms: s.max, peer_p50_ms: q.p50, peer_p99_ms: q.p99, peer_max_ms: q.max };
    log(`\n3. SSE: the watch printing a stored alert to the open alerts page adding it, ${s.n} alerts (${o.alerts} transactions):`);
    log(`  p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (goal <= 200 ms: ${s.max <= 200 ? "met" : "NOT met"}; the server polls the store every 100 ms)`);
    log(`  peer: the case API polled every 100 ms (GET /api/cases/{id}/alerts/): p50 ${q.p50} ms, p99 ${q.p99} ms, max ${q.max} ms`);
  } finally {
    if (browser) await browser.close();
    children.forEach((p) => { if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL"); });
    await server.stop();
  }
}

async function main() {
  const o = args(process.argv.slice(2));
  const out = { requests: o.requests };
  const log = (s) => console.log(s);
  const { server, caseId } = await serverPages(o, out, log);
  try {
    await graph(o, out, log, server, caseId);
    out.server_peak_mib = mib(peakKiB(server.proc.pid));
  } finally {
    await server.stop();
  }
  await sse(o, out, log);
  log(`\n4. server peak memory (VmHWM) over parts 1 and 2: ${f1(out.server_peak_mib)} MiB`);
  if (o.json) console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e); process.exit(1); });
