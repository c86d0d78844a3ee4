// Playwright configuration for the console's browser tests: Debian's
// /usr/bin/chromium (no browser download), one worker (the machine is
// shared), screenshots and traces kept under target/test-logs/console/.
const path = require("path");

const root = path.resolve(__dirname, "../..");
const target = process.env.CARGO_TARGET_DIR || path.join(root, "target");

module.exports = {
  testDir: __dirname,
  testMatch: /.*\.spec\.js/,
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  outputDir: path.join(target, "test-logs/console/results"),
  use: {
    // Every page the tests drive is on the server they start themselves.
    browserName: "chromium",
    headless: true,
    launchOptions: {
      executablePath: process.env.TRIPOINT_CHROMIUM || "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
};
