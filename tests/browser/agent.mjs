// The agent screen and the wallboard in headless Chromium, against a running `dialtone serve`
// and the PBX simulator (tests/agent_browser.rs starts them and passes BASE, the accounts, the
// campaign and the leads). An agent logs in and their simulated phone answers; they go ready;
// a simulated callee answers and the screen pops with the lead; they hang up and set a
// disposition with a callback; a supervisor's wallboard follows every change without a reload;
// a second tab takes over; the closed page shows as lost. One line per check; exit 1 on failure.
import { Checks, launch } from "./lib.mjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const { BASE, AGENT_USER, AGENT_PASS, AGENT_ID, SUP_USER, SUP_PASS, CAMPAIGN_ID } = process.env;
const LEADS = JSON.parse(process.env.LEADS || "{}");
const SHOTS = process.env.SCREENSHOTS || "";

const t = new Checks();
const check = (ok, message) => t.check(ok, message);
const fail = (message) => t.fail(message);

const browser = await launch();
const errors = [];
const open = async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  return { context, page };
};
const shot = async (page, name) => {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
};
const signIn = async (page, user, pass, next) => {
  await page.goto(`${BASE}/signin?next=${next}`);
  await page.fill("input[name=username]", user);
  await page.fill("input[name=password]", pass);
  await page.click("button[type=submit]");
  await page.waitForURL((u) => u.pathname === next);
  await page.waitForSelector("body[data-hydrated=true]");
};
const agentState = (page) => page.getAttribute(".desk-bar .state", "data-state");
const waitState = (page, state, timeout = 20000) =>
  page.waitForSelector(`.desk-bar .state[data-state=${state}]`, { timeout });
const boardRow = `tr[data-agent='${AGENT_ID}']`;

try {
  t.step = "supervisor";
  const sup = await open();
  await signIn(sup.page, SUP_USER, SUP_PASS, `/wallboard/${CAMPAIGN_ID}`);
  await sup.page.evaluate(() => { window.__noReload = true; });
  await sup.page.waitForSelector("h1 .link:has-text('live')");
  check(true, "the wallboard opens and its live link is up");

  t.step = "agent login";
  const agent = await open();
  await signIn(agent.page, AGENT_USER, AGENT_PASS, "/agent");
  await agent.page.evaluate(() => { window.__noReload = true; });
  await agent.page.waitForSelector(".desk[data-link=live]");
  check(true, "the agent screen opens and its live link is up");
  check(await agent.page.isVisible("text=PJSIP/1001"), "the login shows the phone an admin assigned, and nothing to type one");
  check((await agent.page.$("input[name=phone]")) === null, "no phone can be typed at login");
  await agent.page.click("form button.primary");
  await waitState(agent.page, "paused");
  check(true, "logging in rings the phone; the simulated phone answers and the agent is paused (LOGIN)");
  await sup.page.waitForSelector(`${boardRow}[data-state=paused]`);
  check(await sup.page.evaluate(() => window.__noReload === true), "the wallboard shows the agent paused without a reload");

  t.step = "pause";
  await agent.page.selectOption("select[name=code]", "BREAK");
  await agent.page.keyboard.press("Alt+p");
  await agent.page.waitForSelector(".desk-bar .state:has-text('BREAK')");
  check(true, "Alt+P pauses with the chosen pause code");
  await sup.page.waitForSelector(`${boardRow}:has-text('BREAK')`);
  check(true, "the wallboard shows the pause code");

  t.step = "ready";
  await agent.page.keyboard.press("Alt+r");
  await waitState(agent.page, "ready");
  check(true, "Alt+R makes the agent ready");
  await sup.page.waitForSelector(`${boardRow}[data-state=ready], ${boardRow}[data-state=reserved], ${boardRow}[data-state=on_call]`);
  check(true, "the wallboard shows the agent ready");

  t.step = "screen pop";
  await agent.page.waitForSelector(".call[data-lead]", { timeout: 45000 });
  const lead = await agent.page.getAttribute(".call", "data-lead");
  check(lead in LEADS, `a simulated callee answered and the screen popped lead #${lead}`);
  const first = await agent.page.inputValue("input[name=first_name]");
  check(first === LEADS[lead], `the screen pop shows the lead's own data (${first})`);
  check((await agent.page.textContent("pre.script")).includes(`Hello ${LEADS[lead]}`), "the script has the lead's fields filled in");
  await waitState(agent.page, "on_call");
  await sup.page.waitForSelector(`${boardRow}[data-state=on_call]`);
  check(true, "the wallboard shows the agent on the call");
  await shot(agent.page, "agent-screen");
  await shot(sup.page, "wallboard");

  t.step = "edit lead";
  await agent.page.fill("input[name=city]", "Springfield");
  await agent.page.fill("form.lead-form label:has-text('tier') input", "platinum");
  await agent.page.click("form.lead-form button[type=submit]");
  await agent.page.waitForSelector(".notice.ok:has-text('Lead saved')");
  check(true, "edited lead fields, a custom one too, are saved on the server");

  t.step = "keypad";
  await agent.page.click("details.keypad summary");
  await agent.page.click("details.keypad button[aria-label='key 5']");
  await agent.page.waitForSelector(".notice.ok:has-text('Keys sent')");
  check(true, "a keypad key is sent to the caller (DTMF)");

  t.step = "hang up";
  await agent.page.keyboard.press("Alt+h");
  await waitState(agent.page, "wrapup");
  check(true, "Alt+H hangs up; the agent is in wrap-up");
  await agent.page.waitForSelector(".call h2:has-text('Call ended')");

  t.step = "disposition";
  await agent.page.click("form.dispose button[type=submit]");
  check(await agent.page.evaluate(() => !document.querySelector("form.dispose").checkValidity()), "a disposition must be chosen");
  await agent.page.check("form.dispose input[value=CALLBK]");
  await agent.page.click("form.dispose button[type=submit]");
  await agent.page.waitForSelector(".notice.error");
  check((await agent.page.textContent(".notice.error")).includes("callback"), "a callback status without a time is refused with a message");
  // Two days on by this machine's (UTC) calendar: the callee's zone may already be a day ahead
  // (daytime somewhere at 21:00 UTC can be tomorrow morning in Kiritimati).
  const later = new Date(Date.now() + 48 * 3600 * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const when = `${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T10:30`;
  await agent.page.fill("input[name=callback_at]", when);
  await agent.page.check("input[name=only_me]");
  await agent.page.check("form.dispose input[value=CALLBK]");
  await agent.page.check("form.dispose input[name=pause]");
  await agent.page.click("form.dispose button[type=submit]");
  await agent.page.waitForSelector("table.callbacks tbody tr", { timeout: 20000 });
  check(true, "the disposition with a callback is saved and the callback is in the agent's list");
  await waitState(agent.page, "paused");
  check((await agent.page.textContent(".desk-bar .state")).includes("AFTCAL"), "the disposition ends the wrap-up: paused after the call, as asked");
  await shot(agent.page, "agent-callbacks");

  t.step = "take over";
  const second = await agent.context.newPage();
  second.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  await second.goto(`${BASE}/agent`);
  await second.waitForSelector(".desk[data-link=live]");
  await agent.page.waitForSelector(".desk[data-link='taken over']");
  check(true, "a second tab takes over and the first is told");
  await agent.page.close();

  t.step = "closed page";
  await second.keyboard.press("Alt+r");
  await second.waitForSelector(".desk-bar .state[data-state=ready], .desk-bar .state[data-state=reserved], .desk-bar .state[data-state=on_call]");
  const closedAt = Date.now();
  await second.close();
  console.log(`closed_at_ms ${closedAt}`);
  await sup.page.waitForSelector(`${boardRow}.lost`, { timeout: 15000 });
  check(Date.now() - closedAt < 12000, `the wallboard shows the closed page as lost (${Date.now() - closedAt} ms)`);

  check(errors.length === 0, `no page errors (${errors.join("; ")})`);
  console.log("browser checks passed");
} catch (e) {
  fail(`${e.message}\n${errors.join("\n")}`);
} finally {
  await browser.close();
}
