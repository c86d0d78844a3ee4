// The console benchmark's smoke size, through the command users run:
// `tripoint bench console --smoke --json` (a real server, chromium, anvil
// and watch, all started and stopped by the benchmark). No speed is
// asserted here (speed is measured by the benchmark, not by tests); the
// test checks that every part measured what it says.
const { test, expect } = require("@playwright/test");
const { execFileSync } = require("child_process");
const { bin } = require("./server");

test("bench console --smoke: server time for every page beside TAXII, the graph laid out beside breadthfirst, SSE latency", async () => {
  test.setTimeout(300_000);
  const out = execFileSync(bin, ["bench", "console", "--smoke", "--json"], { encoding: "utf8", timeout: 280_000, stdio: ["ignore", "pipe", "inherit"] });
  const lines = out.trim().split("\n");
  const r = JSON.parse(lines[lines.length - 1]);
  expect(out).toContain("peer: TAXII GET objects");
  expect(Object.keys(r.pages)).toEqual(expect.arrayContaining(["home", "cases", "case", "case graph.json", "alerts", "intel",
    "collection (204 objects)", "object", "early warning", "audit (admin)", "quarterly report"]));
  for (const [name, p] of Object.entries(r.pages)) {
    expect(p.n, name).toBe(20);
    expect(p.p50, name).toBeGreaterThan(0);
    expect(p.p99, name).toBeGreaterThanOrEqual(p.p50);
  }
  expect(r.pages_peer.n).toBe(20);
  expect(r.graph.nodes).toBe(300);
  for (const k of ["first_drawing_ms", "expand_all_ms", "all_laid_out_ms", "click_ms", "peer_breadthfirst_ms"]) expect(r.graph[k], k).toBeGreaterThan(0);
  expect(r.graph.all_laid_out_ms).toBeGreaterThanOrEqual(r.graph.first_drawing_ms);
  expect(r.graph.renderer_peak_mib).toBeGreaterThan(0);
  // Each of the 3 transactions raised at least one alert, each timed.
  expect(r.sse.alerts).toBeGreaterThanOrEqual(3);
  expect(r.sse.p50_ms).toBeGreaterThanOrEqual(0);
  expect(r.sse.peer_p50_ms).toBeGreaterThanOrEqual(0);
  expect(out).toContain("peer: the case API polled every 100 ms");
  expect(r.server_peak_mib).toBeGreaterThan(0);
});
