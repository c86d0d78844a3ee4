// What every browser test file needs: the screenshot folder, axe-core's
// check, signing in through the form, and scrolling before a real click on
// the case graph's canvas.
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

/**
 * Scroll `locator` into view and wait for the page's next animation frame.
 * Chromium dispatches the `scroll` event of a scroll in that frame, before
 * its requestAnimationFrame callbacks; Cytoscape keeps the canvas's place on
 * the page until it hears that event, so a click sent before it is taken
 * where the canvas was before the scroll (seen: 292 px off, the click missed
 * the cluster's title on a busy machine).
 */
async function scrollIntoView(locator) {
  await locator.scrollIntoViewIfNeeded();
  await locator.page().evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
}

// A real mouse click on the title strip of a cluster's compound box
// (`c:<cid>`) in the case graph: the box is fitted into view first and the
// click goes between the box and its label, where only the title is.
async function clickClusterTitle(page, graph, cid) {
  await scrollIntoView(graph);
  const at = await page.evaluate((cid) => {
    const cy = window.tripointCase.cy;
    const p = cy.getElementById("c:" + cid);
    cy.fit(p, 60);
    const inner = p.renderedBoundingBox({ includeLabels: false });
    const outer = p.renderedBoundingBox({ includeLabels: true });
    const box = cy.container().getBoundingClientRect();
    return { x: box.left + (inner.x1 + inner.x2) / 2, y: box.top + (outer.y1 + inner.y1) / 2 };
  }, cid);
  await page.mouse.click(at.x, at.y);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

module.exports = { SHOTS, accessible, signIn, scrollIntoView, clickClusterTitle, shot };
