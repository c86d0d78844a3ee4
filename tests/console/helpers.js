// What every browser test file needs: the screenshot folder, axe-core's
// check, and signing in through the form.
const { expect } = require("@playwright/test");
const fs = require("fs");
const path = require("path");
const { target } = require("./server");

const SHOTS = path.join(target, "test-logs/console");
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the current page: no serious or critical violation. */
async function accessible(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${name}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

/** Sign in to `server`'s console as `partner` (us, jp, kr, admin) through the form. */
async function signIn(page, server, partner) {
  const s = server.secrets[partner];
  await page.goto(`${server.base}/console/login`);
  await page.getByLabel("User name").fill(s.user);
  await page.getByLabel("Password").fill(s.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${server.base}/console/`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

module.exports = { SHOTS, accessible, signIn, shot };
