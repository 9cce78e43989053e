// The web admin in headless Chromium, against a running `dialtone web` (tests/admin_browser.rs
// starts it and passes BASE and the accounts). Prints one line per check; exits 1 on the first
// failure. Screenshots go to $SCREENSHOTS when it is set.
import { Checks, launch } from "./lib.mjs";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const BASE = process.env.BASE;
const { ADMIN_USER, ADMIN_PASS, AGENT_USER, AGENT_PASS } = process.env;
const SHOTS = process.env.SCREENSHOTS || "";
const NEW_PASS = "browser-test-password";

const t = new Checks();
const check = (ok, message) => t.check(ok, message);
const fail = (message) => t.fail(message);

const browser = await launch();
const errors = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error" && !m.text().includes("403")) errors.push(`console: ${m.text()} at ${page.url()} ${JSON.stringify(m.location())}`); });
page.on("response", (r) => { if (r.status() === 404) errors.push(`404: ${r.url()}`); });

const shot = async (name) => {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
};
const hydrated = () => page.waitForSelector("body[data-hydrated=true]");

try {
  t.step = "sign in";
  await page.goto(`${BASE}/campaigns`);
  check(page.url().includes("/signin?next=/campaigns"), "a page asks for sign-in first");
  await shot("sign-in");
  await page.fill("input[name=username]", ADMIN_USER);
  await page.fill("input[name=password]", "not the password");
  await page.click("button[type=submit]");
  check((await page.textContent("main")).includes("Wrong username or password"), "a wrong password is refused with a message");
  await page.fill("input[name=username]", ADMIN_USER);
  await page.fill("input[name=password]", ADMIN_PASS);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/account\/password/);
  check(true, "a seeded account is sent to change its password");
  await page.fill("input[name=current]", ADMIN_PASS);
  await page.fill("input[name=new]", NEW_PASS);
  await page.fill("input[name=confirm]", NEW_PASS);
  await page.click("form[action='/account/password'] button[type=submit]");
  await page.waitForURL(/\/\?changed=1/);
  check((await page.textContent("main")).includes("Your password is changed"), "the password is changed");
  await hydrated();
  check(true, "the page hydrates");

  t.step = "campaign";
  await page.goto(`${BASE}/campaigns`);
  await hydrated();
  await page.evaluate(() => { window.__noReload = true; });
  await page.fill("section.card input[name=name]", "Browser campaign");
  await page.selectOption("section.card select[name=dial_method]", "predictive");
  await page.click("section.card button[type=submit]");
  await page.waitForURL(/\/campaigns\/\d+$/);
  await page.waitForSelector("input[name='values[ring_timeout_secs]']");
  check(await page.evaluate(() => window.__noReload === true), "creating a campaign opens it without a page reload");
  const ring = page.locator("input[name='values[ring_timeout_secs]']");
  await ring.fill("5");
  await page.fill("input[name='values[caller_id_number]']", "12x");
  await page.click("button.primary");
  await page.waitForSelector(".field-error[data-field=ring_timeout_secs]");
  const ringError = await page.textContent(".field-error[data-field=ring_timeout_secs]");
  check(ringError.includes("between 15 and 120"), `the bad field is named beside it ("${ringError}")`);
  check((await page.textContent(".field-error[data-field=caller_id_number]")).includes("digits"), "a second bad field is named too");
  check((await ring.inputValue()) === "5", "what was typed is kept after a refused save");
  await page.locator("input[name='values[ring_timeout_secs]']").scrollIntoViewIfNeeded();
  await shot("campaign-validation");
  await ring.fill("30");
  await page.fill("input[name='values[caller_id_number]']", "+12025550100");
  await page.click("button.primary");
  await page.waitForSelector("p.notice.ok:has-text('Saved.')");
  check(true, "a corrected form saves");
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot("campaign-settings");

  t.step = "list";
  await page.goto(`${BASE}/lists`);
  await hydrated();
  await page.fill("section.card input[name=name]", "Browser list");
  await page.selectOption("section.card select[name=campaign_id]", { label: "Browser campaign" });
  await page.click("section.card button[type=submit]");
  await page.waitForSelector("table a:has-text('Browser list')");
  check(true, "a new list appears in the table without a reload");
  await page.click("table a:has-text('Browser list')");
  await page.waitForURL(/\/lists\/\d+$/);
  const listUrl = page.url();

  // A file that is not CSV: a clear message, nothing imported.
  const dir = tmpdir();
  const png = join(dir, "photo.csv");
  writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  await page.setInputFiles("input[type=file]", png);
  await page.click("form[enctype='multipart/form-data'] button[type=submit]");
  await page.waitForSelector("p.notice.error");
  check((await page.textContent("p.notice.error")).includes("not a CSV text file"), "a binary file is refused with a message");
  await shot("list-bad-file");

  // 60,000 rows (three batches) with a few bad ones.
  const rows = ["Phone Number,First Name,Last Name,State,Tier"];
  for (let i = 0; i < 60000; i++) {
    const n = String(i).padStart(4, "0").slice(-4);
    const area = [201, 212, 305, 312, 415, 512, 617, 702][i % 8];
    const exchange = 200 + Math.floor(i / 10000);
    rows.push(i % 997 === 5 ? `bad-${i},Row,${i},,` : `(${area}) ${exchange}-${n},Lead,${i},,gold`);
  }
  const csv = join(dir, "browser-leads.csv");
  writeFileSync(csv, rows.join("\n") + "\n");
  await page.goto(listUrl);
  await hydrated();
  await page.setInputFiles("input[type=file]", csv);
  await page.click("form[enctype='multipart/form-data'] button[type=submit]");
  await page.waitForURL(/\/uploads\/[0-9a-f]+$/);
  check((await page.textContent("table.mapping")).includes("Phone Number"), "the mapping step shows the columns");
  check((await page.inputValue("select[name=col_0]")) === "phone", "the phone column is recognised");
  check((await page.inputValue("select[name=col_4]")) === "custom", "an unknown column becomes a custom field");
  await shot("upload-mapping");
  await page.click("button.primary");
  await page.waitForSelector(".progress");
  await hydrated();
  await page.evaluate(() => { window.__noReload = true; });
  await page.waitForSelector(".progress[data-state=done]", { timeout: 60000 });
  check(await page.evaluate(() => window.__noReload === true), "the progress bar fills from pushed events, without a reload");
  check((await page.getAttribute(".progress", "aria-valuenow")) === "100", "the bar ends at 100%");
  const totals = await page.textContent("table.totals");
  check(/New leads\s*\d{5}/.test(totals), `the totals are shown (${totals.replace(/\s+/g, " ").trim()})`);
  await shot("upload-done");
  const reportHref = await page.getAttribute("a[download]", "href");
  const report = await (await page.request.get(`${BASE}${reportHref}`)).text();
  check(report.split("\n")[1].startsWith("7,"), `the rejected rows are downloadable with line numbers ("${report.split("\n")[1].slice(0, 40)}")`);

  t.step = "lead search";
  await page.goto(`${BASE}/leads?q=${encodeURIComponent("(201) 200-0000")}`);
  const hit = page.locator("table a[href^='/leads/']").first();
  await hit.click();
  await page.waitForURL(/\/leads\/\d+$/);
  check((await page.inputValue("label:has-text('Tier') input")) === "gold", "a lead found by number opens with its custom fields");
  await page.fill("input[name='fields[email]']", "not-an-email");
  await page.click("button.primary");
  await page.waitForSelector(".field-error[data-field=email]");
  check(true, "a bad email is named beside the field");
  await shot("lead");

  t.step = "reading without JavaScript";
  const html = await (await page.request.get(`${BASE}/campaigns`)).text();
  const body = html.slice(html.indexOf("<body"));
  check(/<table>.*Browser campaign.*<\/table>/s.test(body.split("<template")[0]), "the campaigns table is in the server's HTML");

  t.step = "other pages";
  for (const [path, text, name] of [
    ["/users", "New user", "users"], ["/dnc", "Do not call", "dnc"], ["/audit", "Audit log", "audit"],
    ["/inbound", "Inbound groups", "inbound"], ["/codes", "Dispositions and pause codes", "dispositions"],
    ["/calltimes", "Legal calling rules", "calling-hours"], ["/recordings", "Recordings", "recordings"], ["/", "Overview", "overview"],
  ]) {
    await page.goto(`${BASE}${path}`);
    check((await page.textContent("main")).includes(text), `${path} renders`);
    await shot(name);
  }
  const audit = await page.goto(`${BASE}/audit?entity=campaign`).then(() => page.textContent("main"));
  check(audit.includes("ring_timeout_secs") && audit.includes("30"), "the audit log shows the campaign change");

  t.step = "agent";
  await page.click("header form[action='/signout'] button");
  await page.waitForURL(/\/signin/);
  await page.fill("input[name=username]", AGENT_USER);
  await page.fill("input[name=password]", AGENT_PASS);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/agent$/);
  check(true, "an agent lands on the agent page");
  for (const path of ["/campaigns", "/users", "/lists"]) {
    const response = await page.goto(`${BASE}${path}`);
    check(response.status() === 403 && (await page.textContent("main")).includes("may not open this page"), `an agent is refused ${path}`);
  }
  await shot("agent-refused");
  const direct = await page.request.post(`${BASE}/api/create_user`, {
    form: { username: "sneaky", display_name: "", role: "admin" },
    headers: { Origin: BASE },
  });
  check(direct.status() === 403, "an agent calling an admin server function directly is refused");

  check(errors.length === 0, `no page errors${errors.length ? ": " + errors.join("; ") : ""}`);
} catch (e) {
  await shot(`failure-${step.replace(/\s+/g, "-")}`).catch(() => {});
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
console.log("browser checks passed");
