// Browser tests of the web console: a real `tripoint serve`, Debian's
// chromium driven by Playwright, axe-core for accessibility. Screenshots of
// every page go to target/test-logs/console/ (test artifacts).
const { test, expect } = require("@playwright/test");
const fs = require("fs");
const path = require("path");
const { startServer, TLP_RED, TLP_GREEN } = require("./server");
const { SHOTS, accessible, signIn: signInTo, scrollIntoView, clickClusterTitle, shot } = require("./helpers");

const T = "2026-01-02T03:04:05.000Z";
const RED_ID = "indicator--0d5a7c1e-6a51-4d6e-9a3b-1f2e3d4c5b01";
const GREEN_ID = "indicator--0d5a7c1e-6a51-4d6e-9a3b-1f2e3d4c5b02";
const MALWARE_ID = "malware--0d5a7c1e-6a51-4d6e-9a3b-1f2e3d4c5b03";
const REL_ID = "relationship--0d5a7c1e-6a51-4d6e-9a3b-1f2e3d4c5b04";
const RED_NAME = "Lazarus cash-out wallet REDONLY-7731";
const GREEN_NAME = "Shared bridge wallet GREEN-4410";

const objects = [
  {
    type: "indicator", spec_version: "2.1", id: RED_ID, created: T, modified: T,
    name: RED_NAME, pattern: "[ipv4-addr:value = '198.51.100.7']", pattern_type: "stix",
    valid_from: T, object_marking_refs: [TLP_RED],
  },
  {
    type: "indicator", spec_version: "2.1", id: GREEN_ID, created: T, modified: T,
    name: GREEN_NAME, pattern: "[ipv4-addr:value = '198.51.100.8']", pattern_type: "stix",
    valid_from: T, object_marking_refs: [TLP_GREEN],
  },
  {
    type: "malware", spec_version: "2.1", id: MALWARE_ID, created: T, modified: T,
    name: "AppleJeus", is_family: true, object_marking_refs: [TLP_GREEN],
  },
  {
    type: "relationship", spec_version: "2.1", id: REL_ID, created: T, modified: T,
    relationship_type: "indicates", source_ref: GREEN_ID, target_ref: MALWARE_ID,
    object_marking_refs: [TLP_GREEN],
  },
];

let server;
let indicators;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer();
  indicators = await server.post("us", "indicators", objects);
});

test.afterAll(async () => {
  if (server) await server.stop();
});

function signIn(page, partner) {
  return signInTo(page, server, partner);
}

test("sign-in: a wrong password is refused, the right one opens the console", async ({ page }) => {
  const resp = await page.goto(`${server.base}/console/intel/`);
  // Not signed in: sent to the sign-in form.
  await expect(page).toHaveURL(`${server.base}/console/login`);
  expect(resp.status()).toBe(200);
  await accessible(page, "sign-in");
  await shot(page, "01-sign-in");

  const s = server.secrets.us;
  await page.getByLabel("User name").fill(s.user);
  await page.getByLabel("Password").fill(s.password + "x");
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/console/login") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Sign in" }).click(),
  ]);
  expect(refused.status()).toBe(401);
  await expect(page.getByRole("alert")).toHaveText("Wrong user name or password.");
  await shot(page, "02-sign-in-refused");
  const cookies = await page.context().cookies();
  expect(cookies.find((c) => c.name === "tripoint_session")).toBeUndefined();

  await page.getByLabel("User name").fill(s.user);
  await page.getByLabel("Password").fill(s.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${server.base}/console/`);
  await expect(page.locator(".who strong")).toHaveText("us");
  const session = (await page.context().cookies()).find((c) => c.name === "tripoint_session");
  expect(session).toBeTruthy();
  expect(session.httpOnly).toBe(true);
  expect(session.sameSite).toBe("Strict");
  expect(session.expires).toBeGreaterThan(Date.now() / 1000);
  await shot(page, "03-home");
});

test("navigation: Cases, Alerts, Intel, Early warning, Audit, in that order, each page answers", async ({ page }) => {
  await signIn(page, "us");
  const nav = page.getByRole("navigation", { name: "Main" }).getByRole("link");
  await expect(nav).toHaveText(["Cases", "Alerts", "Intel", "Early warning", "Audit"]);
  const expected = {
    Cases: "Cases",
    Alerts: "Alerts",
    Intel: "Intel",
    "Early warning": "Early warning",
    Audit: "Error", // US is a partner, not an operator
  };
  let i = 4;
  for (const [link, heading] of Object.entries(expected)) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
    await expect(page.getByRole("link", { name: link, exact: true })).toHaveAttribute("aria-current", "page");
    await accessible(page, link);
    await shot(page, `0${i++}-${link.toLowerCase().replace(" ", "-")}`);
  }
  // The honest empty state before any case is opened.
  await page.goto(`${server.base}/console/cases/`);
  await expect(page.getByRole("status")).toHaveText("No case you may see.");
  await page.goto(`${server.base}/console/audit/`);
  await expect(page.getByRole("alert")).toHaveText("You may not see this page.");
});

test("intel: collections, a collection with search and type filters, an object with links, JSON and versions", async ({ page }) => {
  await signIn(page, "us");
  await page.goto(`${server.base}/console/intel/`);
  await expect(page.getByRole("link", { name: "Indicators: wallets, domains, addresses, hashes" })).toBeVisible();
  await page.getByRole("link", { name: "Indicators: wallets, domains, addresses, hashes" }).click();
  const rows = page.locator("table.objects tbody tr");
  await expect(rows).toHaveCount(4);
  // The poster sees its own TLP:RED object, with its badge.
  const red = rows.filter({ hasText: RED_NAME });
  await expect(red.locator(".tlp")).toHaveText("TLP:RED");
  await expect(red.locator("td").nth(4)).toHaveText("us");
  await shot(page, "09-collection");
  await accessible(page, "collection");

  const search = page.getByRole("searchbox", { name: "Search objects" });
  await search.fill("GREEN-4410");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(GREEN_NAME);
  await search.fill("");
  await page.getByLabel("malware (1)").check();
  await page.getByRole("button", { name: "Search" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("AppleJeus");

  await page.goto(`${server.base}/console/intel/trilateral/${indicators}/objects/${GREEN_ID}/`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(GREEN_NAME);
  await expect(page.locator("ul.rels a", { hasText: "indicates" })).toHaveCount(1);
  await expect(page.locator("pre.raw")).toContainText(`"id": "${GREEN_ID}"`);
  await expect(page.locator("ul.versions li")).toHaveCount(1);
  await accessible(page, "object");
  await shot(page, "10-object");
  // A relationship link leads to the related object.
  await page.locator("ul.rels a", { hasText: MALWARE_ID }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("AppleJeus");
});

test("TLP:RED: an object US posted is invisible to Japan in every console view and in the search", async ({ page }) => {
  await signIn(page, "jp");
  await page.goto(`${server.base}/console/intel/trilateral/${indicators}/`);
  const rows = page.locator("table.objects tbody tr");
  // Japan sees the rest of the collection, so the check below is not vacuous.
  await expect(rows).toHaveCount(3);
  await expect(page.locator("table.objects")).toContainText(GREEN_NAME);
  await expect(page.locator("main")).not.toContainText(RED_NAME);
  await expect(page.locator("main")).not.toContainText(RED_ID);
  await shot(page, "11-collection-as-jp");
  await page.getByRole("searchbox", { name: "Search objects" }).fill("REDONLY");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByRole("status")).toHaveText("No object you may see matches.");
  await page.getByRole("searchbox", { name: "Search objects" }).fill("Lazarus");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.locator("main")).not.toContainText(RED_NAME);
  const direct = await page.goto(`${server.base}/console/intel/trilateral/${indicators}/objects/${RED_ID}/`);
  expect(direct.status()).toBe(404);
  await expect(page.locator("main")).not.toContainText(RED_NAME);
  const versions = await page.goto(`${server.base}/console/intel/trilateral/${indicators}/objects/${RED_ID}/?version=${encodeURIComponent(T)}`);
  expect(versions.status()).toBe(404);
  await shot(page, "12-red-object-as-jp");
  // The US sees it under the same URL (the 404 above is the TLP rule, not a wrong URL).
  const us = await page.context().browser().newContext();
  const usPage = await us.newPage();
  await signIn(usPage, "us");
  const ok = await usPage.goto(`${server.base}/console/intel/trilateral/${indicators}/objects/${RED_ID}/`);
  expect(ok.status()).toBe(200);
  await expect(usPage.getByRole("heading", { level: 1 })).toHaveText(RED_NAME);
  await us.close();
});

test("intel upload: a partner posts a STIX bundle file; stored through the TAXII POST path, refusals named per object, bad files named with the line; RED stays invisible to Japan", async ({ page }) => {
  const UP_GREEN = "indicator--5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e01";
  const UP_RED = "indicator--5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e02";
  const UP_BAD = "indicator--5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e03";
  const bundle = {
    type: "bundle", id: "bundle--5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e00",
    objects: [
      { type: "indicator", spec_version: "2.1", id: UP_GREEN, created: T, modified: T, name: "Uploaded mixer wallet UPLOAD-5521",
        pattern: "[ipv4-addr:value = '203.0.113.9']", pattern_type: "stix", valid_from: T, object_marking_refs: [TLP_GREEN] },
      { type: "indicator", spec_version: "2.1", id: UP_RED, created: T, modified: T, name: "Uploaded RED wallet UPRED-7",
        pattern: "[ipv4-addr:value = '203.0.113.10']", pattern_type: "stix", valid_from: T, object_marking_refs: [TLP_RED] },
      // No pattern: refused by the exchange's validation, the others stored.
      { type: "indicator", spec_version: "2.1", id: UP_BAD, created: T, modified: T, name: "No pattern", pattern_type: "stix", valid_from: T },
    ],
  };
  const dir = fs.mkdtempSync(path.join(SHOTS, "upload-"));
  const good = path.join(dir, "wallets.stix.json");
  fs.writeFileSync(good, JSON.stringify(bundle, null, 2));
  const bad = path.join(dir, "broken.json");
  fs.writeFileSync(bad, '{\n  "type": "bundle",\n  "objects": [ {"type": "indicator",, } ]\n}\n');

  await signIn(page, "us");
  await page.goto(`${server.base}/console/intel/trilateral/${indicators}/`);
  await page.getByText("Post a STIX bundle").click();
  await page.getByLabel("STIX bundle file (JSON)").setInputFiles(good);
  await page.getByRole("button", { name: "Post", exact: true }).click();
  const result = page.locator("#upload-result");
  await expect(result).toHaveAttribute("data-stored", "2");
  await expect(result).toHaveAttribute("data-failed", "1");
  await expect(result).toContainText("wallets.stix.json");
  const refused = page.locator("#upload-failures tbody tr");
  await expect(refused).toHaveCount(1);
  await expect(refused.first()).toContainText(UP_BAD);
  await expect(refused.first()).toContainText("pattern");
  await accessible(page, "upload-result");
  await shot(page, "19-upload-result");
  // Stored as posted by the US, in the collection's list.
  await page.getByRole("link", { name: "Back to the collection" }).click();
  const row = page.locator("table.objects tbody tr", { hasText: "UPLOAD-5521" });
  await expect(row).toHaveCount(1);
  await expect(row.locator("td").nth(4)).toHaveText("us");
  await expect(page.locator("table.objects")).not.toContainText(UP_BAD);

  // A file that is not JSON: refused, naming the file and the line.
  await page.getByText("Post a STIX bundle").click();
  await page.getByLabel("STIX bundle file (JSON)").setInputFiles(bad);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/objects") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Post", exact: true }).click(),
  ]);
  expect(resp.status()).toBe(400);
  await expect(page.locator("main code")).toContainText("broken.json");
  await expect(page.locator("main code")).toContainText("line 3");

  // Without the form's token: refused.
  const forged = await page.request.post(`${server.base}/console/intel/trilateral/${indicators}/objects`, {
    multipart: { bundle: { name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(bundle)) } },
  });
  expect(forged.status()).toBe(403);

  // Japan sees the GREEN upload, never the RED one.
  const jp = await page.context().browser().newContext();
  const jpPage = await jp.newPage();
  await signIn(jpPage, "jp");
  await jpPage.goto(`${server.base}/console/intel/trilateral/${indicators}/?q=Uploaded`);
  await expect(jpPage.locator("table.objects tbody tr")).toHaveCount(1);
  await expect(jpPage.locator("main")).toContainText("UPLOAD-5521");
  await expect(jpPage.locator("main")).not.toContainText("UPRED-7");
  await jp.close();

  // Korea may not post into the US–JP collection: the TAXII rule, not a form of its own.
  const usjp = await server.collectionId("us-jp");
  const kr = await page.context().browser().newContext();
  const krPage = await kr.newPage();
  await signIn(krPage, "kr");
  const csrf = await krPage.locator("input[name=csrf]").first().getAttribute("value");
  const denied = await krPage.request.post(`${server.base}/console/intel/trilateral/${usjp}/objects`, {
    multipart: { csrf, bundle: { name: "x.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(bundle)) } },
  });
  expect(denied.status()).toBe(404);
  await kr.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("language switch: Japanese and Korean, remembered across pages", async ({ page }) => {
  await signIn(page, "us");
  await page.getByRole("link", { name: "日本語" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "ja");
  const nav = page.locator("nav.main a");
  await expect(nav).toHaveText(["事案", "アラート", "インテリジェンス", "早期警戒", "監査"]);
  await shot(page, "13-home-ja");
  await nav.nth(2).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("インテリジェンス");
  await accessible(page, "intel-ja");
  await page.getByRole("link", { name: "한국어" }).click();
  await expect(page.locator("html")).toHaveAttribute("lang", "ko");
  await expect(nav).toHaveText(["사건", "경보", "인텔리전스", "조기 경보", "감사"]);
  await page.goto(`${server.base}/console/ews/`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("조기 경보");
  await shot(page, "14-ews-ko");
  await page.getByRole("link", { name: "English" }).click();
  await expect(nav).toHaveText(["Cases", "Alerts", "Intel", "Early warning", "Audit"]);
});

// What a chart of the board must show, from the series JSON: its points, and
// the events and signals that fall within its time span.
function expectedChart(data, kind) {
  const series = data[kind].filter((s) => s.points.length > 0);
  const days = series.flatMap((s) => s.points.map((p) => p[0])).sort();
  const inSpan = (d) => days.length > 0 && d >= days[0] && d <= days[days.length - 1];
  return {
    series: series.length,
    points: series.reduce((n, s) => n + s.points.length, 0),
    events: data.events.filter((e) => inSpan(e.date)).length,
    signals: data.signals.filter((g) => inSpan(g.date)).length,
  };
}

async function expectChart(host, want, title) {
  await expect(host).toHaveAttribute("data-drawn", String(want.points));
  await expect(host).toHaveAttribute("data-events", String(want.events));
  await expect(host).toHaveAttribute("data-signals", String(want.signals));
  const svg = host.locator("svg[role=img]");
  await expect(svg).toHaveCount(1);
  await expect(svg).toHaveAttribute("aria-label", new RegExp(`^${title} — `));
  await expect(svg.locator("> title")).toHaveCount(1);
  await expect(svg.locator("polyline")).toHaveCount(want.series);
  await expect(svg.locator("g.legend-item")).toHaveCount(want.series);
  await expect(svg.locator("g.event line")).toHaveCount(want.events);
  await expect(svg.locator("g.signals path.signal")).toHaveCount(want.signals);
}

test("early warning: the board as a heat map and a time series drawn in the browser", async ({ page, request }) => {
  await signIn(page, "us");
  await page.goto(`${server.base}/console/ews/`);
  await expect(page.getByRole("note")).toContainText("SYNTHETIC");
  // every watched mineral (38 materials and batteries), three partners each
  await expect(page.locator("#ews-board tbody tr")).toHaveCount(39);
  await expect(page.locator("#ews-board td.level")).toHaveCount(117);
  const chart = page.locator("#ews-chart");
  await expect(chart).toHaveAttribute("data-drawn", /^[1-9][0-9]*$/);
  const points = await chart.locator("polyline").first().getAttribute("points");
  expect(points.trim().split(/\s+/).length).toBeGreaterThan(10);

  // The three charts, each with the events and signals of its time span, as
  // the series JSON gives them (lithium: prices and production, no monthly exports).
  const src = await page.locator("#ews-charts").getAttribute("data-src");
  const get = async (u) => {
    const r = await request.get(`${server.base}${u}`, { headers: { Authorization: server.auth("us") } });
    expect(r.status()).toBe(200);
    return r.json();
  };
  const data = await get(src);
  expect(data.mineral).toBe("lithium");
  expect(data.signals.length).toBeGreaterThan(0);
  expect(data.signals.every((g) => g.date <= data.as_of)).toBe(true);
  const prices = expectedChart(data, "prices");
  expect(prices.points).toBeGreaterThan(10);
  expect(prices.signals).toBeGreaterThan(0);
  await expectChart(chart, prices, "Prices");
  const conc = expectedChart(data, "concentration");
  expect(conc.points).toBeGreaterThan(1);
  await expectChart(page.locator("#ews-concentration"), conc, "Production concentration \\(HHI\\)");
  expect(data.exports_by_partner).toEqual([]);
  const exportsHost = page.locator("#ews-exports");
  await expect(exportsHost).toHaveAttribute("data-drawn", "0");
  await expect(exportsHost.locator("svg")).toHaveCount(0);
  await expect(exportsHost.getByRole("status")).toHaveText("No monthly Chinese exports of this mineral in the data.");
  await accessible(page, "ews");
  await shot(page, "15-ews");

  // Another mineral's chart, chosen in the form.
  await page.getByLabel("Series for").selectOption("lithium");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByRole("heading", { name: /lithium/ })).toBeVisible();
  await expect(chart).toHaveAttribute("data-drawn", /^[0-9]+$/);

  // Graphite: China's monthly exports, one line per partner with a legend.
  await page.getByLabel("Series for").selectOption("graphite");
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.getByRole("heading", { name: /graphite/ })).toBeVisible();
  const g = await get(await page.locator("#ews-charts").getAttribute("data-src"));
  expect(g.exports_by_partner.map((s) => s.partner)).toEqual(["USA", "JPN", "KOR"]);
  const exp = expectedChart(g, "exports_by_partner");
  expect(exp.signals).toBeGreaterThan(0);
  await expectChart(exportsHost, exp, "China's exports by partner");
  await expect(exportsHost.locator("g.legend-item text")).toHaveText(["United States", "Japan", "Korea"]);
  await expect(chart.getByRole("status")).toHaveText("No price series for this mineral in the data.");
  await expect(chart).toHaveAttribute("data-drawn", "0");
  await accessible(page, "ews-graphite");
  await shot(page, "15-ews-graphite");
});

test("early warning: the back-test as a timeline of events against alerts, drawn from the server's backtest JSON", async ({ page, request }) => {
  const r = await (await request.get(`${server.base}/console/ews/backtest.json`, { headers: { Authorization: server.auth("us") } })).json();
  const scored = r.events.filter((e) => !e.note);
  expect(scored.length).toBeGreaterThan(0);
  await signIn(page, "us");
  await page.goto(`${server.base}/console/ews/`);
  const host = page.locator("#ews-backtest");
  await expect(host).toHaveAttribute("data-drawn", String(scored.length));
  // One row per scored event; warned ones have a warning bar ending at the announcement, filled.
  await expect(host.locator("g.bt-event")).toHaveCount(scored.length);
  for (const e of scored) {
    const row = host.locator(`g.bt-event[data-event="${e.event_id}"]`);
    await expect(row).toHaveAttribute("data-warned", e.warned_before_announcement ? "1" : "0");
    await expect(row.locator("rect.bt-warning")).toHaveCount(e.first_warning ? 1 : 0);
    await expect(row.locator("path.bt-effective")).toHaveCount(e.effective ? 1 : 0);
    if (e.first_warning) {
      const bar = row.locator("rect.bt-warning");
      const dot = row.locator("circle.bt-announced");
      const end = Number(await bar.getAttribute("x")) + Number(await bar.getAttribute("width"));
      expect(Math.abs(end - Number(await dot.getAttribute("cx")))).toBeLessThan(1.5);
      await expect(bar.locator("title")).toContainText(e.warning_alert);
    }
  }
  await expect(page.locator("#backtest-caption")).toContainText(`${r.events_warned} / ${r.events_scored}`);
  await accessible(page, "ews-backtest");
  await page.locator("#ews-backtest").scrollIntoViewIfNeeded();
  await shot(page, "15b-ews-backtest");
});

test("audit: operators search the trail and see who received an object", async ({ page }) => {
  // JP reads the green object through the console first.
  const jp = await page.context().browser().newContext();
  const jpPage = await jp.newPage();
  await signIn(jpPage, "jp");
  await jpPage.goto(`${server.base}/console/intel/trilateral/${indicators}/objects/${GREEN_ID}/`);
  await expect(jpPage.getByRole("heading", { level: 1 })).toHaveText(GREEN_NAME);
  await jp.close();

  await signIn(page, "admin");
  await page.goto(`${server.base}/console/audit/`);
  await expect(page.locator("#audit-entries tbody tr").first()).toBeVisible();
  await page.getByRole("searchbox", { name: "Search the audit" }).fill("console-sign-in");
  await page.getByRole("button", { name: "Search" }).click();
  const rows = page.locator("#audit-entries tbody tr");
  await expect(rows.first()).toContainText("console-sign-in");
  // The refused sign-in of the first test is there too, as a 401.
  await expect(page.locator("#audit-entries")).toContainText("401");
  await accessible(page, "audit");
  await shot(page, "16-audit");
  await page.getByLabel("Who received object").fill(GREEN_ID);
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page.locator("#audit-served")).toContainText("jp");
  await expect(page.locator("#audit-posted")).toContainText("us");
  await shot(page, "17-audit-who-received");
});

test("cases: a case page whose graph renders left to right, expands on click, filters, collapses and selects by degree; panel, path, notes, exports, share", async ({ page }) => {
  const seed = server.truth.seeds.addresses[0];
  const from = new Date(server.truth.seeds.start_time * 1000).toISOString();
  const amber = await server.newCase("us", { name: "Exchange theft (test) AMBER-2210", seeds: [seed], from, tlp: "amber" });
  await server.newCase("us", { name: "US-only case REDCASE-5521", seeds: [seed], from, tlp: "red" });
  await signIn(page, "us");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cases", exact: true }).click();
  await expect(page.locator("table.cases tbody tr")).toHaveCount(2);
  await accessible(page, "cases");
  await shot(page, "20-cases");
  await page.getByRole("link", { name: amber.name }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(amber.name);

  // Endpoints: freeze candidates first, each with the partner that has jurisdiction.
  const first = page.locator("table.endpoints tbody tr").first();
  await expect(first).toHaveClass(/freeze/);
  await expect(first.locator("td").nth(5)).toHaveText("yes");
  await expect(first.locator("td").nth(6)).toHaveText(/^(us|jp|kr) \((US|JP|KR)\)$/);

  const graph = page.locator("#case-graph");
  await expect(graph).toHaveAttribute("data-nodes", /^[1-9][0-9]*$/);
  const before = Number(await graph.getAttribute("data-nodes"));
  // Left to right: every visible edge to a farther address goes from a
  // smaller x to a larger one (inside a cluster's box, addresses are stacked).
  const backwards = await page.evaluate(() => window.tripointCase.cy.edges(":visible")
    .filter((e) => !(e.source().data("cluster") && e.source().data("cluster") === e.target().data("cluster")))
    .filter((e) => e.source().data("hops") < e.target().data("hops") && e.source().position("x") >= e.target().position("x")).length);
  expect(backwards).toBe(0);
  await accessible(page, "case");
  await shot(page, "21-case");

  // A real click on a node with hidden successors: the panel and the expansion.
  await scrollIntoView(graph);
  const target = await page.evaluate(() => {
    // Only what is drawn is on the canvas: an address that paid one not drawn.
    const { cy, data } = window.tripointCase;
    const n = cy.nodes(".address").filter((n) => data.edges.some((e) => e.source === n.id() && cy.getElementById(e.target).empty()))[0];
    const p = n.renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { id: n.id(), x: box.left + p.x, y: box.top + p.y };
  });
  await page.mouse.click(target.x, target.y);
  const panel = page.locator("#address-panel");
  await expect(panel).toHaveAttribute("data-address", target.id);
  await expect(panel).toContainText("Exposure");
  await expect(panel).toContainText("Balance now");
  await expect(panel).toContainText("First tainted");
  await expect.poll(async () => Number(await graph.getAttribute("data-nodes"))).toBeGreaterThan(before);
  const expanded = Number(await graph.getAttribute("data-nodes"));
  await shot(page, "22-case-expanded");

  // Collapse the clicked node (it is selected): fewer addresses again.
  await page.evaluate((id) => { const cy = window.tripointCase.cy; cy.nodes().unselect(); cy.getElementById(id).select(); }, target.id);
  await page.getByRole("button", { name: "Collapse selected" }).click();
  await expect.poll(async () => Number(await graph.getAttribute("data-nodes"))).toBeLessThan(expanded);

  // Everything, then the minimum-amount and time filters thin it out.
  await page.getByRole("button", { name: "Expand all" }).click();
  const all = Number(await graph.getAttribute("data-nodes"));
  expect(all).toBeGreaterThanOrEqual(expanded);
  const allEdges = Number(await graph.getAttribute("data-edges"));
  await page.getByLabel("Minimum amount").fill("1000");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect.poll(async () => Number(await graph.getAttribute("data-edges"))).toBeLessThan(allEdges);
  const bigOnly = await page.evaluate(() => window.tripointCase.cy.edges(":visible").map((e) => e.data("raw")));
  for (const e of bigOnly) expect(BigInt(e.amount) >= 1000n * 10n ** BigInt(e.decimals)).toBe(true);
  await page.getByLabel("Minimum amount").fill("");
  // Transfers from the median time on only.
  const times = (await page.evaluate(() => window.tripointCase.data.edges.map((e) => e.time))).sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  await page.getByLabel("From", { exact: true }).fill(new Date(median * 1000).toISOString().slice(0, 19));
  await page.getByRole("button", { name: "Apply" }).click();
  await expect.poll(async () => Number(await graph.getAttribute("data-edges"))).toBeLessThan(allEdges);
  await page.getByLabel("From", { exact: true }).fill("");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect.poll(async () => Number(await graph.getAttribute("data-edges"))).toBe(allEdges);

  // Selection by degree.
  await page.getByLabel("Degree at least").fill("3");
  await page.getByRole("button", { name: "Select by degree" }).click();
  await expect(graph).toHaveAttribute("data-selected", /^[1-9][0-9]*$/);
  const degrees = await page.evaluate(() => window.tripointCase.cy.nodes(":selected").map((n) => n.degree(false)));
  expect(Math.min(...degrees)).toBeGreaterThanOrEqual(3);
  await shot(page, "23-case-degree");

  // The path from the seed to the first freeze candidate (the default "to").
  await page.getByLabel("From address").selectOption(seed);
  await page.getByRole("button", { name: "Find the path" }).click();
  await expect(page.locator("#path-result")).toHaveAttribute("data-hops", /^[1-9][0-9]*$/);
  await expect(page.locator("#path-result li").first()).toContainText(seed.slice(0, 8));
  await shot(page, "24-case-path");

  // Exports: PNG and SVG of the view, the transfers as CSV, the case as STIX.
  const [png] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "PNG" }).click()]);
  const pngBytes = fs.readFileSync(await png.path());
  expect(pngBytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  fs.writeFileSync(path.join(SHOTS, "25-case-export.png"), pngBytes);
  const [svg] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "SVG" }).click()]);
  const svgText = fs.readFileSync(await svg.path(), "utf8");
  expect(svgText).toContain("<svg xmlns=\"http://www.w3.org/2000/svg\"");
  expect((svgText.match(/<circle /g) || []).length).toBe(all);
  fs.writeFileSync(path.join(SHOTS, "25-case-export.svg"), svgText);
  const caseUrl = `${server.base}/console/cases/${amber.id}/`;
  const csv = await (await page.request.get(caseUrl + "transfers.csv")).text();
  const lines = csv.trim().split("\n");
  expect(lines[0]).toBe("tx_hash,time,from,to,asset,amount,tainted_amount");
  expect(lines.length - 1).toBe(allEdges);
  const stix = await (await page.request.get(caseUrl + "report.stix.json")).json();
  expect(stix.type).toBe("bundle");
  expect(stix.objects.find((o) => o.type === "report").name).toBe(`tripoint case: ${amber.name}`);

  // Notes by the owner.
  await page.getByLabel("Add a note").fill("Asked the exchange for a freeze NOTE-8812");
  await page.getByRole("button", { name: "Add a note" }).click();
  await expect(page.locator("ul.notes")).toContainText("NOTE-8812");

  // Share with partners: the report goes into a collection through the TAXII POST path.
  await page.getByLabel("Collection").selectOption({ label: "Indicators: wallets, domains, addresses, hashes" });
  await page.getByRole("button", { name: "Share with partners" }).click();
  await expect(page.locator(".notice")).toContainText(/[1-9][0-9]* ok, 0 failed/);
  await page.goto(`${server.base}/console/intel/trilateral/${indicators}/?q=${encodeURIComponent("tripoint case")}`);
  await expect(page.locator("table.objects")).toContainText(`tripoint case: ${amber.name}`);
  await shot(page, "26-case-shared");
});

test("cases: a cluster (an actor's addresses, an exchange with its deposit addresses) is a compound node, collapsed into one node by a click and opened again", async ({ page }) => {
  const seed = server.truth.seeds.addresses[0];
  const from = new Date(server.truth.seeds.start_time * 1000).toISOString();
  const c = await server.newCase("us", { name: "Clusters (test) CLUSTER-3107", seeds: [seed], from, tlp: "green" });
  await signIn(page, "us");
  const caseUrl = `${server.base}/console/cases/${c.id}/`;
  const g = await (await page.request.get(caseUrl + "graph.json")).json();
  // The server's clusters: two or more addresses each; an actor cluster's
  // labelled members name that actor; deposit members are unlabelled.
  const members = {};
  for (const n of g.nodes.filter((n) => n.cluster)) (members[n.cluster.id] = members[n.cluster.id] || []).push(n);
  const ids = Object.keys(members).sort();
  expect(ids.length).toBeGreaterThan(0);
  for (const id of ids) {
    expect(members[id].length, id).toBeGreaterThanOrEqual(2);
    for (const n of members[id]) {
      if (n.cluster.basis === "deposit") expect(n.labels, n.id).toEqual([]);
      else expect(n.labels.map((l) => `actor:${l.actor}`), n.id).toContain(id);
    }
  }
  expect(g.nodes.some((n) => n.cluster && n.cluster.basis === "deposit")).toBe(true);

  await page.goto(caseUrl);
  const graph = page.locator("#case-graph");
  await expect(graph).toHaveAttribute("data-nodes", /^[1-9][0-9]*$/);
  await page.getByRole("button", { name: "Expand all" }).click();
  const all = Number(await graph.getAttribute("data-nodes"));
  // Drawn as compound parents holding exactly those addresses.
  const drawn = await page.evaluate(() => {
    const out = {};
    window.tripointCase.cy.nodes(".cluster").forEach((p) => { out[p.data("cluster")] = p.children().map((c) => c.id()).sort(); });
    return out;
  });
  expect(Object.keys(drawn).sort()).toEqual(ids);
  for (const id of ids) expect(drawn[id]).toEqual(members[id].map((n) => n.id).sort());
  await expect(graph).toHaveAttribute("data-clusters", String(ids.length));
  await expect(graph).toHaveAttribute("data-collapsed", "0");
  await shot(page, "28-case-clusters");

  // A real click on the title of the first cluster's box collapses it.
  const id = ids[0];
  await clickClusterTitle(page, graph, id);
  await expect(graph).toHaveAttribute("data-collapsed", "1");
  await expect(page.locator("#address-panel")).toHaveAttribute("data-cluster", id);
  await expect(page.locator("#address-panel li")).toHaveCount(members[id].length);
  expect(Number(await graph.getAttribute("data-nodes"))).toBe(all - members[id].length);
  const standIn = await page.evaluate((cid) => {
    const cy = window.tripointCase.cy;
    const k = cy.getElementById("k:" + cid);
    return { visible: k.visible(), merged: k.connectedEdges(".merged").length, members: cy.getElementById("c:" + cid).children(":visible").length };
  }, id);
  // One node stands for the cluster; its transfers are merged edges.
  expect(standIn).toEqual({ visible: true, merged: expect.any(Number), members: 0 });
  expect(standIn.merged).toBeGreaterThan(0);
  await shot(page, "29-case-cluster-collapsed");

  // A click on that node opens the cluster again.
  const k = await page.evaluate((cid) => {
    const cy = window.tripointCase.cy;
    const n = cy.getElementById("k:" + cid);
    const p = n.renderedPosition();
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + p.x, y: box.top + p.y };
  }, id);
  await page.mouse.click(k.x, k.y);
  await expect(graph).toHaveAttribute("data-collapsed", "0");
  expect(Number(await graph.getAttribute("data-nodes"))).toBe(all);

  // All clusters at once, and back.
  await page.getByRole("button", { name: "Collapse clusters" }).click();
  await expect(graph).toHaveAttribute("data-collapsed", String(ids.length));
  await expect(graph).toHaveAttribute("data-clusters", "0");
  const [svg] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "SVG" }).click()]);
  const svgText = fs.readFileSync(await svg.path(), "utf8");
  expect((svgText.match(/class="cluster-collapsed"/g) || []).length).toBe(ids.length);
  await page.getByRole("button", { name: "Expand clusters" }).click();
  await expect(graph).toHaveAttribute("data-clusters", String(ids.length));
  await expect(graph).toHaveAttribute("data-collapsed", "0");
  await accessible(page, "case-clusters");
});

test("cases: a TLP:RED case of the US is invisible to Japan in the list, by URL, in its graph and exports; AMBER is read-only", async ({ page }) => {
  const list = await (await fetch(`${server.base}/api/cases/`, { headers: { Authorization: server.auth("us") } })).json();
  const red = list.cases.find((c) => c.tlp === "red");
  const amber = list.cases.find((c) => c.tlp === "amber");
  await signIn(page, "jp");
  await page.goto(`${server.base}/console/cases/`);
  // Every case of the US but the RED one (the other tests opened AMBER and GREEN ones).
  const others = list.cases.filter((c) => c.tlp !== "red");
  expect(others.length).toBeGreaterThan(0);
  await expect(page.locator("table.cases tbody tr")).toHaveCount(others.length);
  await expect(page.locator("main")).not.toContainText(red.name);
  for (const suffix of ["", "graph.json", "transfers.csv", "report.stix.json"]) {
    const r = await page.goto(`${server.base}/console/cases/${red.id}/${suffix}`);
    expect(r.status(), suffix).toBe(404);
    await expect(page.locator("body")).not.toContainText(red.name);
  }
  await page.goto(`${server.base}/console/cases/${amber.id}/`);
  await expect(page.locator("#case-graph")).toHaveAttribute("data-nodes", /^[1-9][0-9]*$/);
  await expect(page.getByLabel("Add a note")).toHaveCount(0);
  await shot(page, "27-case-as-jp");
});

test("assets: the embedded Cytoscape.js is the npm package pinned in package-lock.json, byte for byte, with its licence", async ({ request }) => {
  const served = await request.get(`${server.base}/console/assets/cytoscape.min.js`);
  expect(served.status()).toBe(200);
  const pinned = fs.readFileSync(require.resolve("cytoscape/dist/cytoscape.min.js"));
  expect(Buffer.compare(await served.body(), pinned)).toBe(0);
  const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "package-lock.json"), "utf8"));
  const installed = JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules/cytoscape/package.json"), "utf8"));
  const pinned_in = JSON.parse(fs.readFileSync(path.join(__dirname, "package.json"), "utf8")).devDependencies.cytoscape;
  expect(lock.packages["node_modules/cytoscape"].version).toBe(pinned_in);
  expect(installed.version).toBe(pinned_in);
  const licence = await request.get(`${server.base}/console/assets/cytoscape.LICENSE.txt`);
  expect(await licence.text()).toContain("Permission is hereby granted");
});

test("logout: the session ends and console pages send back to sign-in", async ({ page }) => {
  await signIn(page, "us");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(`${server.base}/console/login`);
  expect((await page.context().cookies()).find((c) => c.name === "tripoint_session")).toBeUndefined();
  await page.goto(`${server.base}/console/intel/`);
  await expect(page).toHaveURL(`${server.base}/console/login`);
  await shot(page, "18-signed-out");
});
