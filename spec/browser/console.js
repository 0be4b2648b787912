// Drives the simulator's console in headless Chromium (Debian's, through
// playwright-core; no browser is downloaded). Used by console_spec.lua:
//   node spec/browser/console.js CONSOLE_URL OCID
// prints one line per step: "ready" (the page polls), "seen <row text>"
// (the payout OCID appeared), "charts 1" (the charts show it), "clicked" (the console answered the click on
// "send a queue timeout"), "delivered" (the page shows the queue-timeout
// callback delivered); "error: ..." and exit 1 on a failure.
"use strict";
const { chromium } = require("playwright-core");

const [url, ocid] = process.argv.slice(2);
const STEP_MS = 60000;
let browser;

function say(line) { process.stdout.write(line + "\n"); }

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // root in a container: no user namespace sandbox, a small /dev/shm
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  await page.goto(url);
  await page.waitForSelector("body[data-polls]");
  say("ready");

  const row = page.locator(`#payouts tr[data-ocid="${ocid}"]`);
  await row.waitFor();
  say("seen " + (await row.innerText()).replace(/\s+/g, " "));
  // the charts drew the batch so far: a line of payouts per second, a bar per outcome class
  await page.waitForFunction(() => document.querySelectorAll("#chart-rate polyline").length === 1
    && document.querySelectorAll("#chart-outcomes rect").length === 4);
  const completed = await page.locator("#chart-outcomes text", { hasText: /^completed$/ }).count();
  say("charts " + completed);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

  await row.getByRole("button", { name: "send a queue timeout", exact: true }).click();
  await page.waitForFunction(() => /queue-timeout: done/.test(document.getElementById("message").textContent));
  say("clicked");

  const callback = page.locator("#callbacks tr", { hasText: ocid }).filter({ hasText: "timeout" })
    .filter({ hasText: "delivered HTTP 200" });
  await callback.first().waitFor();
  say("delivered");
}

main().then(
  () => browser.close().then(() => process.exit(0)),
  (err) => {
    say("error: " + String(err && err.message || err).split("\n")[0]);
    (browser ? browser.close() : Promise.resolve()).finally(() => process.exit(1));
  });
