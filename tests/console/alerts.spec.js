// Live alerts in the browser: a real anvil node, a real `tripoint watch`
// over the case store that `tripoint serve --case-store` serves, a real
// transaction; the alert the watch raises appears on the open alerts page
// without a reload (Server-Sent Events), and links to its case at the
// alerting transfer. Screenshots go to target/test-logs/console/.
const { test, expect } = require("@playwright/test");
const fs = require("fs");
const path = require("path");
const { startServer, exchangeCaseStore } = require("./server");
const { startWatchedNode, rpc } = require("./anvil");
const { SHOTS, accessible, signIn: signInTo } = require("./helpers");

const THIEF = "0x7e1f000000000000000000000000000000000001";
const EXCHANGE = "0xe8c4000000000000000000000000000000000005";
const ETHER = 10n ** 18n;

// The node and the watch (stopped in afterAll, also on failure), the node's URL.
let server, chain, anvil, caseId;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer({
    // A store with the exchange labelled (actor with jurisdiction KR) and an
    // open case on the thief, opened by the US; and a RED case of the US on
    // the same thief, whose alerts stay with the US.
    caseStore: exchangeCaseStore({
      actor: "upbit", label: "Upbit", jurisdiction: "KR", address: EXCHANGE, tag: "Upbit 9",
      cases: [
        { name: "Live drill LIVE-3301", seed: THIEF, partner: "us", tlp: "amber" },
        { name: "US only REDLIVE-9", seed: THIEF, partner: "us", tlp: "red" },
      ],
    }),
  });
  caseId = server.cases.caseIds[0];
  chain = await startWatchedNode(server, "alerts");
  anvil = chain.rpc;
});

test.afterAll(async () => {
  if (chain) chain.stop();
  if (server) await server.stop();
});

function signIn(page, partner) {
  return signInTo(page, server, partner);
}

test("alerts: an alert the watch raises on a real transaction appears live, newest first, filterable, and links to its case at the transfer", async ({ page }) => {
  await signIn(page, "us");
  await page.goto(`${server.base}/console/alerts/`);
  const live = page.locator("#alert-live");
  await expect(live).toHaveAttribute("data-live", "1");
  await expect(page.locator("#alert-list li")).toHaveCount(0);
  await accessible(page, "alerts-empty");
  // A marker that a reload would lose.
  await page.evaluate(() => { window.__noReload = true; });

  // The thief pays the exchange 5 ETH on the node (anvil mines it at once).
  await rpc(anvil, "anvil_setBalance", [THIEF, "0x" + (100n * ETHER).toString(16)]);
  await rpc(anvil, "anvil_impersonateAccount", [THIEF]);
  const tx = await rpc(anvil, "eth_sendTransaction", [{ from: THIEF, to: EXCHANGE, value: "0x" + (5n * ETHER).toString(16) }]);

  // One service alert per case (the AMBER one and the RED one, both the US's).
  const service = page.locator("#alert-list li", { hasText: "Upbit 9" }).filter({ hasText: "LIVE-3301" });
  await expect(service).toHaveCount(1, { timeout: 30_000 });
  await expect(page.locator("#alert-list li", { hasText: "Upbit 9" }).filter({ hasText: "REDLIVE-9" })).toHaveCount(1);
  await expect(service).toContainText("(KR)");
  await expect(service).toContainText("5 ETH");
  expect(await page.evaluate(() => window.__noReload)).toBe(true);
  // Newest first: the items' store order descends.
  const seqs = await page.locator("#alert-list li").evaluateAll((lis) => lis.map((li) => Number(li.getAttribute("data-seq"))));
  expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  await accessible(page, "alerts-live");
  await page.screenshot({ path: path.join(SHOTS, "30-alerts-live.png"), fullPage: true });

  // Filters: partner KR keeps it, JP drops it; the service filter by name.
  await page.getByLabel("Partner with jurisdiction").selectOption("KR");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.locator("#alert-list li", { hasText: "Upbit 9" })).toHaveCount(2);
  await expect(page.locator("#alert-list li")).toHaveCount(2);
  await page.getByLabel("Partner with jurisdiction").selectOption("JP");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.locator("#alert-list li")).toHaveCount(0);
  await page.goto(`${server.base}/console/alerts/?service=upbit&case=${caseId}`);
  await expect(page.locator("#alert-list li", { hasText: "Upbit 9" })).toHaveCount(1);

  // The link opens the case at the alerting transfer.
  await page.locator("#alert-list li", { hasText: "Upbit 9" }).getByRole("link", { name: "Live drill LIVE-3301" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Live drill LIVE-3301");
  await expect(page.locator("#case-graph")).toHaveAttribute("data-focus", tx);
  await expect(page.locator("#address-panel")).toHaveAttribute("data-address", EXCHANGE);
  await page.screenshot({ path: path.join(SHOTS, "31-case-at-alert.png"), fullPage: true });
});

test("alerts: another partner sees the alerts of cases it may see only (RED stays with the owner)", async ({ page, request }) => {
  await signIn(page, "jp");
  await page.goto(`${server.base}/console/alerts/`);
  await expect(page.locator("#alert-live")).toHaveAttribute("data-live", "1");
  await expect(page.locator("#alert-list li", { hasText: "LIVE-3301" }).first()).toBeVisible();
  await rpc(anvil, "eth_sendTransaction", [{ from: THIEF, to: EXCHANGE, value: "0x" + (2n * ETHER).toString(16) }]);
  // The AMBER case's new alert arrives live; the RED case's never shows.
  await expect(page.locator("#alert-list li", { hasText: "Upbit 9" }).filter({ hasText: "2 ETH" })).toHaveCount(1, { timeout: 30_000 });
  const list = await request.get(`${server.base}/api/cases/`, { headers: { Authorization: server.auth("us") } });
  const red = (await list.json()).cases.find((c) => c.tlp === "red");
  const us = await request.get(`${server.base}/api/cases/${red.id}/alerts/`, { headers: { Authorization: server.auth("us") } });
  expect((await us.json()).alerts.filter((a) => a.alert.service).length).toBe(2);
  await expect(page.locator("main")).not.toContainText("REDLIVE-9");
  const direct = await page.goto(`${server.base}/console/alerts/?case=${red.id}`);
  expect(direct.status()).toBe(200);
  await expect(page.locator("#alert-list li")).toHaveCount(0);
  await page.screenshot({ path: path.join(SHOTS, "32-alerts-as-jp.png"), fullPage: true });
});

test("freezes: the owner records a freeze through the case page's form (CSRF-protected); frozen and still freezable beside the freeze candidates; bad fields named; read-only for Japan", async ({ page, request }) => {
  await signIn(page, "us");
  const caseUrl = `${server.base}/console/cases/${caseId}/`;
  await page.goto(caseUrl);
  // Before any freeze: the exchange's 5 + 2 ETH are all still freezable.
  const row = page.locator(`#freeze-status tbody tr[data-address="${EXCHANGE}"]`);
  await expect(row).toContainText("Upbit 9");
  await expect(row).toHaveAttribute("data-freezable", String(7n * ETHER));
  await expect(row).toHaveAttribute("data-frozen", "0");
  await expect(page.locator("#freezes-recorded + p.empty")).toBeVisible();
  const form = page.locator("#freeze-form");
  const fill = async (amount) => {
    await form.getByLabel("Address where the funds were frozen").fill(EXCHANGE);
    await form.getByLabel("Asset").fill("ETH");
    await form.getByLabel("Amount (base units, e.g. wei)").fill(amount);
    await form.getByLabel("Partner who asked").selectOption("KR");
    await form.getByLabel("Reference").fill("FRZ-5521");
    await form.getByLabel("Note").fill("Upbit confirmed by letter");
  };
  // A bad amount: refused naming the field, nothing stored.
  await fill("3.5");
  let answer = page.waitForResponse((r) => r.url().endsWith("/freezes") && r.request().method() === "POST");
  await form.getByRole("button", { name: "Record a freeze" }).click();
  expect((await answer).status()).toBe(400);
  await expect(page.locator("main")).toContainText("amount");
  // A post without the form's token: refused.
  const forged = await page.request.post(`${caseUrl}freezes`, {
    form: { address: EXCHANGE, asset: "ETH", amount: "1" }, maxRedirects: 0,
  });
  expect(forged.status()).toBe(403);
  const api = async () => (await (await request.get(`${server.base}/api/cases/${caseId}/freezes/`, { headers: { Authorization: server.auth("us") } })).json()).freezes;
  expect(await api()).toEqual([]);
  // 3 ETH frozen at Korea's request.
  await page.goto(caseUrl);
  await fill(String(3n * ETHER));
  await form.getByRole("button", { name: "Record a freeze" }).click();
  await expect(page).toHaveURL(/#freezes$/);
  const recorded = page.locator("#freeze-list tbody tr");
  await expect(recorded).toHaveCount(1);
  await expect(recorded).toContainText("FRZ-5521");
  await expect(recorded).toContainText("3 ETH");
  await expect(recorded).toContainText("KR");
  await expect(row).toHaveAttribute("data-frozen", String(3n * ETHER));
  await expect(row).toHaveAttribute("data-freezable", String(4n * ETHER));
  await expect(row).toContainText("4 ETH");
  const stored = await api();
  expect(stored.length).toBe(1);
  expect(stored[0]).toMatchObject({ address: EXCHANGE, asset: "ETH", amount: String(3n * ETHER), partner: "KR", reference: "FRZ-5521", recorded_by: "us", label: "Upbit 9" });
  // The same reference again: refused, still one freeze.
  await page.goto(caseUrl);
  await fill(String(3n * ETHER));
  answer = page.waitForResponse((r) => r.url().endsWith("/freezes") && r.request().method() === "POST");
  await form.getByRole("button", { name: "Record a freeze" }).click();
  expect((await answer).status()).toBe(400);
  await expect(page.locator("main")).toContainText("already recorded");
  expect((await api()).length).toBe(1);
  await page.goto(caseUrl + "#freezes");
  await accessible(page, "case-freezes");
  await page.locator("#freezes").scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, "35-case-freezes.png"), fullPage: true });
  // In Korean, the same section and form.
  await page.goto(caseUrl + "?lang=ko");
  await expect(page.locator("#freezes")).toHaveText("동결됨 및 아직 동결 가능");
  await expect(page.locator("#freeze-form legend")).toHaveText("동결 기록");
  await page.goto(caseUrl + "?lang=en");

  // Japan sees the AMBER case's freezes, read-only: no form, and a post is refused.
  const jp = await page.context().browser().newContext();
  const jpPage = await jp.newPage();
  await signIn(jpPage, "jp");
  await jpPage.goto(caseUrl);
  await expect(jpPage.locator("#freeze-list tbody tr")).toHaveCount(1);
  await expect(jpPage.locator("#freeze-form")).toHaveCount(0);
  // Japan's own posts, with its session's token, are refused: the owner only.
  const token = await jpPage.locator("input[name=csrf]").first().getAttribute("value");
  for (const [to, form] of [
    ["freezes", { address: EXCHANGE, asset: "ETH", amount: "1", partner: "KR", reference: "FRZ-JP-1" }],
    ["notes", { text: "not Japan's case" }],
  ]) {
    const r = await jpPage.request.post(`${caseUrl}${to}`, { form: { ...form, csrf: token }, maxRedirects: 0 });
    expect(r.status(), to).toBe(403);
    expect(await r.text(), to).toContain("belongs to partner us");
  }
  expect((await api()).length).toBe(1);
  await jp.close();
});

test("quarterly report: the quarter's cases, freezable funds, alerts, intelligence per partner and EWS charts, each linked; printed to PDF by chromium and read back (pdftotext, page images); Japanese; RED stays with its owner", async ({ page, request }) => {
  const { execFileSync } = require("child_process");
  const T = new Date().toISOString();
  // Japan shares an indicator this quarter.
  await server.post("jp", "indicators", [{
    type: "indicator", spec_version: "2.1", id: "indicator--6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c01", created: T, modified: T,
    name: "Report wallet REPORT-6620", pattern: "[ipv4-addr:value = '192.0.2.66']", pattern_type: "stix", valid_from: T,
    object_marking_refs: ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
  }]);
  const now = new Date();
  const quarter = `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`;

  await signIn(page, "us");
  await page.getByRole("link", { name: "Quarterly joint report" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Quarterly joint report");
  await expect(page.locator("#report-quarter")).toHaveText(quarter);
  // Thefts traced: the US's two cases of this quarter, linked.
  await expect(page.locator("#report-cases tbody tr")).toHaveCount(2);
  await expect(page.locator("#report-cases a", { hasText: "Live drill LIVE-3301" })).toHaveAttribute("href", `/console/cases/${caseId}/`);
  // Still freezable: the exchange holds the 5 + 2 ETH, Korea has jurisdiction.
  const upbit = page.locator("#report-freezable tbody tr", { hasText: "LIVE-3301" });
  await expect(upbit).toContainText("Upbit 9");
  await expect(upbit).toContainText("7 ETH");
  await expect(upbit).toContainText("kr (KR)");
  // ... less the 3 ETH recorded frozen at Korea's request: 4 ETH still freezable.
  await expect(upbit).toHaveAttribute("data-freezable", String(4n * ETHER));
  const frozen = page.locator("#report-frozen tbody tr", { hasText: "FRZ-5521" });
  await expect(frozen).toContainText("3 ETH");
  await expect(frozen).toContainText("KR");
  await expect(frozen.locator("a")).toHaveAttribute("href", new RegExp(`/console/cases/${caseId}/#freeze-[0-9a-f]{32}$`));
  // Alerts: every alert of the US's cases stored this quarter, linked at the transfer.
  const list = (await (await request.get(`${server.base}/api/cases/`, { headers: { Authorization: server.auth("us") } })).json()).cases;
  let expected = 0;
  for (const c of list) {
    const a = await (await request.get(`${server.base}/api/cases/${c.id}/alerts/`, { headers: { Authorization: server.auth("us") } })).json();
    expected += a.alerts.length;
  }
  expect(expected).toBeGreaterThan(0);
  await expect(page.locator("#report-alert-count")).toHaveAttribute("data-count", String(expected));
  await expect(page.locator("#report-alerts li a").first()).toHaveAttribute("href", /\/console\/cases\/case-[0-9a-f]+\/\?tx=0x[0-9a-f]{64}#graph/);
  // Intelligence shared this quarter, per partner: Japan's one indicator.
  const indicators = page.locator("#report-intel tbody tr", { hasText: "Indicators" });
  await expect(indicators.locator("td[data-partner=jp]")).toHaveText("1");
  await expect(indicators.locator("td[data-partner=us]")).toHaveText("0");
  await expect(page.locator("ul.report-objects a", { hasText: "REPORT-6620" })).toHaveAttribute("href", /\/console\/intel\/trilateral\/.+\/objects\/indicator--/);
  // Early warning: the open warnings and their charts, drawn in the browser.
  await expect(page.locator("#report-ews li").first()).toBeVisible();
  const charts = page.locator(".ews-chart");
  expect(await charts.count()).toBeGreaterThan(0);
  await expect(charts.first()).toHaveAttribute("data-drawn", /^[1-9][0-9]*$/);
  await accessible(page, "report");
  await page.screenshot({ path: path.join(SHOTS, "40-report.png"), fullPage: true });

  // Printed to PDF by chromium, read back as text and as page images.
  const pdf = path.join(SHOTS, "40-report.pdf");
  await page.pdf({ path: pdf, format: "A4", printBackground: true });
  expect(fs.readFileSync(pdf).subarray(0, 5).toString()).toBe("%PDF-");
  const text = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  for (const s of ["Quarterly joint report", quarter, "Live drill LIVE-3301", "Upbit 9", "REPORT-6620", "FRZ-5521", "Frozen in the quarter"]) expect(text, s).toContain(s);
  expect(text).not.toContain("Sign out");
  // (The page images of an earlier run go first: only this PDF's are checked.)
  const isPage = (f) => f.startsWith("40-report-page") && f.endsWith(".png");
  for (const f of fs.readdirSync(SHOTS).filter(isPage)) fs.rmSync(path.join(SHOTS, f));
  execFileSync("pdftoppm", ["-png", "-r", "60", pdf, path.join(SHOTS, "40-report-page")]);
  const pages = fs.readdirSync(SHOTS).filter(isPage);
  expect(pages.length).toBeGreaterThan(0);
  for (const p of pages) expect(fs.statSync(path.join(SHOTS, p)).size).toBeGreaterThan(5000);

  // In Japanese, also in the PDF.
  await page.goto(`${server.base}/console/report/?lang=ja`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("四半期共同報告");
  const pdfJa = path.join(SHOTS, "41-report-ja.pdf");
  await page.pdf({ path: pdfJa, format: "A4", printBackground: true });
  const textJa = execFileSync("pdftotext", [pdfJa, "-"], { encoding: "utf8" });
  expect(textJa).toContain("資金の行き先");
  expect(textJa).toContain("当四半期に凍結された資金");
  await page.screenshot({ path: path.join(SHOTS, "41-report-ja.png"), fullPage: true });
  await page.goto(`${server.base}/console/report/?lang=en`);

  // Japan's report: the AMBER case only, never the RED one or its alerts.
  const jp = await page.context().browser().newContext();
  const jpPage = await jp.newPage();
  await signIn(jpPage, "jp");
  await jpPage.goto(`${server.base}/console/report/?quarter=${quarter}`);
  await expect(jpPage.locator("#report-cases tbody tr")).toHaveCount(1);
  await expect(jpPage.locator("main")).toContainText("LIVE-3301");
  await expect(jpPage.locator("main")).not.toContainText("REDLIVE-9");
  // A quarter that is not one: a clear refusal.
  const bad = await jpPage.goto(`${server.base}/console/report/?quarter=2026-Q7`);
  expect(bad.status()).toBe(400);
  await expect(jpPage.locator("main")).toContainText("YYYY-Qn");
  await jp.close();
});
