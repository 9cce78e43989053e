// What the browser scripts share: Chromium launched as this machine allows it (headless, no
// sandbox as root, no background network the closed network would refuse), and checks that
// print one line each and stop the script at the first failure.
import { chromium } from "playwright-core";

export const launch = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });

export class Checks {
  step = "start";

  fail(message) {
    console.error(`FAIL [${this.step}] ${message}`);
    process.exit(1);
  }

  check(ok, message) {
    if (!ok) this.fail(message);
    console.log(`ok   ${message}`);
  }
}
