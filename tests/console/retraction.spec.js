// A reorg in the browser: a real anvil node, a real `tripoint watch` over the
// case store that `tripoint serve --case-store` serves. An exchange deposit
// raises an alert that appears on the open alerts page; the node then
// reverts to a snapshot taken before the deposit (evm_snapshot/evm_revert)
// and mines another chain; the watch rolls the orphaned block back and
// withdraws the alert, and the page drops it without a reload (the stream's
// `retraction` event). Screenshots go to target/test-logs/console/.
const { test, expect } = require("@playwright/test");
const fs = require("fs");
const path = require("path");
const { startServer, exchangeCaseStore } = require("./server");
const { startWatchedNode, rpc } = require("./anvil");
const { SHOTS, accessible, signIn } = require("./helpers");

const THIEF = "0x7e1f000000000000000000000000000000000011";
const MULE = "0x3a11000000000000000000000000000000000012";
const MULE2 = "0x3a11000000000000000000000000000000000013";
const EXCHANGE = "0xe8c4000000000000000000000000000000000015";
const ETHER = 10n ** 18n;
const hex = (n) => "0x" + n.toString(16);

let server, chain, anvil, caseId;

test.beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  server = await startServer({
    // A store with the exchange labelled (actor with jurisdiction JP) and an
    // open AMBER case of the US on the thief.
    caseStore: exchangeCaseStore({
      actor: "bitflyer", label: "bitFlyer", jurisdiction: "JP", address: EXCHANGE, tag: "bitFlyer 4",
      cases: [{ name: "Reorg drill REORG-7710", seed: THIEF, partner: "us", tlp: "amber" }],
    }),
  });
  caseId = server.cases.caseIds[0];
  // The watch's output is kept as target/test-logs/console/retraction-watch.log.
  chain = await startWatchedNode(server, "retraction");
  anvil = chain.rpc;
});

test.afterAll(async () => {
  if (chain) chain.stop();
  if (server) await server.stop();
});

test("alerts: an alert whose block a reorg orphans disappears from the open alerts page without a reload", async ({ page, request }) => {
  await signIn(page, server, "us");
  await page.goto(`${server.base}/console/alerts/`);
  const live = page.locator("#alert-live");
  await expect(live).toHaveAttribute("data-live", "1");
  await expect(page.locator("#alert-list li")).toHaveCount(0);
  // A marker that a reload would lose.
  await page.evaluate(() => { window.__noReload = true; });

  // The thief pays a mule; then, after a snapshot, the mule pays the exchange.
  await rpc(anvil, "anvil_setBalance", [THIEF, hex(100n * ETHER)]);
  await rpc(anvil, "anvil_setBalance", [MULE, hex(ETHER)]);
  await rpc(anvil, "anvil_impersonateAccount", [THIEF]);
  await rpc(anvil, "anvil_impersonateAccount", [MULE]);
  const hop = await rpc(anvil, "eth_sendTransaction", [{ from: THIEF, to: MULE, value: hex(5n * ETHER) }]);
  const hopAlert = page.locator(`#alert-list li`, { hasText: MULE });
  await expect(hopAlert).toHaveCount(1, { timeout: 30_000 });
  const snap = await rpc(anvil, "evm_snapshot", []);
  const deposit = await rpc(anvil, "eth_sendTransaction", [{ from: MULE, to: EXCHANGE, value: hex(4n * ETHER) }]);
  const service = page.locator("#alert-list li", { hasText: "bitFlyer 4" });
  await expect(service).toHaveCount(1, { timeout: 30_000 });
  await expect(service).toContainText("4 ETH");
  await expect(service).toContainText("(JP)");
  const alertId = await service.getAttribute("data-alert");
  expect(alertId).toMatch(/^alert-/);
  // The case API lists it too.
  const alerts = async () => (await (await request.get(`${server.base}/api/cases/${caseId}/alerts/`,
    { headers: { Authorization: server.auth("us") } })).json()).alerts.map((a) => a.alert);
  expect((await alerts()).some((a) => a.alert_id === alertId && a.tx_hash === deposit)).toBe(true);
  await accessible(page, "alerts-before-reorg");
  await page.screenshot({ path: path.join(SHOTS, "36-alerts-before-reorg.png"), fullPage: true });

  // The reorg: back to the snapshot (the deposit's block is orphaned), and
  // the new chain pays another mule instead.
  expect(await rpc(anvil, "evm_revert", [snap])).toBe(true);
  const kept = await rpc(anvil, "eth_sendTransaction", [{ from: THIEF, to: MULE2, value: hex(2n * ETHER) }]);

  // The page drops the withdrawn alert, without a reload; the hop before the
  // fork stays, and the new chain's alert arrives.
  await expect(page.locator(`#alert-list li[data-alert="${alertId}"]`)).toHaveCount(0, { timeout: 30_000 });
  await expect(live).toHaveAttribute("data-retracted", "1");
  await expect(page.locator("#alert-list li", { hasText: MULE2 })).toHaveCount(1, { timeout: 30_000 });
  await expect(hopAlert).toHaveCount(1);
  await expect(page.locator("#alert-list li", { hasText: "bitFlyer 4" })).toHaveCount(0);
  expect(await page.evaluate(() => window.__noReload)).toBe(true);
  await accessible(page, "alerts-after-reorg");
  await page.screenshot({ path: path.join(SHOTS, "37-alerts-after-reorg.png"), fullPage: true });

  // What the page shows is what the watch did: the retraction on its stdout
  // names the alert and the orphaned transfer, the case no longer lists the
  // alert, and a reload does not bring it back.
  const printed = chain.out().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const retraction = printed.filter((l) => l.event === "retraction");
  expect(retraction.length).toBe(1);
  expect(retraction[0]).toMatchObject({ alert_id: alertId, tx_hash: deposit, reason: "reorg", case_id: caseId });
  expect(printed.some((l) => l.tx_hash === kept && l.event === undefined)).toBe(true);
  const after = await alerts();
  expect(after.some((a) => a.alert_id === alertId)).toBe(false);
  expect(after.some((a) => a.tx_hash === hop)).toBe(true);
  await page.reload();
  await expect(page.locator("#alert-list li", { hasText: MULE2 })).toHaveCount(1);
  await expect(page.locator(`#alert-list li[data-alert="${alertId}"]`)).toHaveCount(0);
  await expect(page.locator("#alert-list li", { hasText: "bitFlyer 4" })).toHaveCount(0);
});
