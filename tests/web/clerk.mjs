// The mailroom clerk's web page in chromium, started by tests/it/web.rs with a running engine.
// Environment: WEB_URL, CHROMIUM (system browser), SCREENSHOTS (directory), MAILROOM_TOKEN, ADMIN_TOKEN,
// FACHVERFAHREN_TOKEN, KLAERFALL (id of a two-page Klärfall), AKTENZEICHEN (the Akte to file it in),
// BATCH (its batch id), XSS (the markup the batch's source shows, which must appear as text).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is set`);
  return value;
};
const url = env("WEB_URL");
const shots = env("SCREENSHOTS");
const klaerfall = env("KLAERFALL");
const aktenzeichen = env("AKTENZEICHEN");
const xss = env("XSS");
const note = "Absender telefonisch bestätigt";

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
let dialogs = 0;
const problems = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "de-DE" });
  const page = await context.newPage();
  page.on("dialog", async (dialog) => {
    dialogs += 1;
    await dialog.dismiss();
  });
  // A CSP violation or a script error shows on the console.
  // (Refused requests, answered 403/404/409 on purpose, also log "Failed to load resource".)
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(String(error)));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function signIn(page, token) {
  await page.goto(`${url}/anmelden`);
  await page.getByLabel("Zugangsschlüssel").fill(token);
  await page.getByRole("button", { name: "Anmelden" }).click();
  await page.waitForLoadState();
}

// Time to first byte and bytes of the page just loaded (HTML, stylesheet, script, images), logged.
async function measure(page, name) {
  const numbers = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bytes = nav.encodedBodySize + resources.reduce((sum, r) => sum + r.encodedBodySize, 0);
    return { ttfb: nav.responseStart - nav.requestStart, load: nav.loadEventEnd - nav.startTime, bytes };
  });
  console.log(`measure ${name}: ttfb ${numbers.ttfb.toFixed(1)} ms, load ${numbers.load.toFixed(1)} ms, ${(numbers.bytes / 1024).toFixed(1)} KB`);
}

async function imageLoaded(page) {
  const img = page.locator(".scan img");
  await img.waitFor();
  return img.evaluate((element) => element.complete && element.naturalWidth > 0);
}

// 1. A fachverfahren token cannot sign in.
const outsider = await newPage();
await signIn(outsider, env("FACHVERFAHREN_TOKEN"));
assert.match(await outsider.locator("[role=alert]").innerText(), /fachverfahren/);
assert.equal(await outsider.title(), "Anmelden – Registratur Poststelle");
await shot(outsider, "01-anmelden-abgelehnt");
await outsider.goto(`${url}/klaerfaelle`);
assert.ok(outsider.url().endsWith("/anmelden"), "without a session every page sends to the sign-in form");

// 2. The clerk signs in and sees the open Klärfälle, oldest first, count in the title.
const clerk = await newPage();
await signIn(clerk, env("MAILROOM_TOKEN"));
assert.equal(await clerk.title(), "Offene Klärfälle (2) – Registratur Poststelle");
assert.equal(await clerk.locator("html").getAttribute("lang"), "de");
const firstRow = clerk.locator("tbody tr").first();
assert.match(await firstRow.innerText(), new RegExp(`Klärfall ${klaerfall}`));
assert.match(await firstRow.innerText(), /Kein Code und kein Aktenzeichen gefunden/);
// The source (the scanner batch id) is markup, shown as text.
assert.ok((await firstRow.innerText()).includes(xss), "the batch id shows as text");
assert.equal(await clerk.locator("main script").count(), 0, "no script came in with the batch");
await shot(clerk, "02-klaerfaelle");
await measure(clerk, "Klärfall list");

// Keyboard use: the skip link is the first stop and is visible when focused.
await clerk.keyboard.press("Tab");
assert.equal(await clerk.evaluate(() => document.activeElement.textContent), "Zum Inhalt springen");

// 3. One Klärfall: two pages as images, paged through.
await clerk.getByRole("link", { name: `Klärfall ${klaerfall}`, exact: true }).click();
await clerk.waitForLoadState();
assert.equal(await clerk.title(), `Klärfall ${klaerfall} – Registratur Poststelle`);
assert.ok(await imageLoaded(clerk), "page 1 shows");
assert.match(await clerk.locator("#seite").innerText(), /Seite 1 von 2/);
assert.ok((await clerk.locator("pre.ocr").innerText()).length > 0, "the OCR text shows");
assert.match(await clerk.locator("main").innerText(), /Transfervermerk/);
await shot(clerk, "03-klaerfall-seite-1");
await measure(clerk, "one Klärfall");
await clerk.getByRole("link", { name: "Nächste Seite →" }).click();
await clerk.waitForLoadState();
assert.match(await clerk.locator("#seite").innerText(), /Seite 2 von 2/);
assert.ok(await imageLoaded(clerk), "page 2 shows");
await clerk.getByRole("link", { name: "150 %" }).click();
await clerk.waitForLoadState();
assert.ok(await imageLoaded(clerk), "page 2 zoomed shows");
await shot(clerk, "04-klaerfall-seite-2-zoom");

// 4. A second clerk (admin) opens the same Klärfall and gets ready to assign it.
const second = await newPage();
await signIn(second, env("ADMIN_TOKEN"));
await second.goto(`${url}/klaerfaelle/${klaerfall}`);

// 5. The clerk finds the Akte by typing part of its Aktenzeichen, picks it, notes, confirms.
const part = aktenzeichen.slice(aktenzeichen.lastIndexOf("-"));
await clerk.getByLabel("Akte suchen").pressSequentially(part, { delay: 30 });
const choice = clerk.getByLabel(new RegExp(aktenzeichen.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")));
await choice.waitFor();
// The choices follow the typing: while the first characters are answered, both Akten match.
await clerk.waitForFunction(
  () => document.querySelectorAll("#akten-treffer input[type=radio]").length === 1,
  null,
  { timeout: 10000 },
).catch(() => {});
assert.equal(await clerk.locator("#akten-treffer input[type=radio]").count(), 1, "only the matching Akte");
await choice.check();
await clerk.getByLabel("Notiz").fill(note);
await shot(clerk, "05-zuordnen");
await clerk.getByRole("button", { name: "Zuordnen und ablegen" }).click();
await clerk.waitForLoadState();
const status = await clerk.locator("[role=status]").innerText();
assert.ok(status.includes(`Klärfall ${klaerfall} wurde in Akte ${aktenzeichen} abgelegt`), status);
assert.equal(await clerk.title(), "Offene Klärfälle (1) – Registratur Poststelle");
assert.equal(await clerk.getByRole("link", { name: `Klärfall ${klaerfall}`, exact: true }).count(), 0, "gone from the list");
await shot(clerk, "06-abgelegt");

// 6. The second clerk, on the page loaded before, assigns too: a clear message, no second filing.
await second.getByLabel("Akte suchen").pressSequentially(part, { delay: 30 });
await second.getByLabel(new RegExp(aktenzeichen.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))).check();
await second.getByRole("button", { name: "Zuordnen und ablegen" }).click();
await second.waitForLoadState();
assert.equal(await second.title(), "Bereits erledigt – Registratur Poststelle");
const message = await second.locator("[role=alert]").innerText();
assert.ok(message.includes(`inzwischen von mailroom erledigt und in Akte ${aktenzeichen} abgelegt`), message);
await shot(second, "07-bereits-erledigt");

// 7. The day's batches and the batch with its page accounting and where each piece went.
await clerk.getByRole("link", { name: "Stapel", exact: true }).click();
await clerk.waitForLoadState();
assert.match(await clerk.title(), /^Stapel vom /);
assert.ok((await clerk.locator("tbody").innerText()).includes(xss));
await shot(clerk, "08-stapel");
await clerk.getByRole("link", { name: `Stapel ${env("BATCH")}` }).click();
await clerk.waitForLoadState();
assert.match(await clerk.locator(".balance").innerText(), /eingezogen = .* gespeichert \+ .* leer \+ .* Trennblätter – stimmt\./);
assert.match(await clerk.locator("tbody").innerText(), new RegExp(`abgelegt in Akte ${aktenzeichen.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
assert.ok((await clerk.locator("main").innerText()).includes("<b>brief</b>.tiff"), "file names show as text");
await shot(clerk, "09-stapel-einzeln");

// 8. The other Klärfall's OCR text and source show as text; nothing else is reachable.
await clerk.goto(`${url}/klaerfaelle`);
await clerk.locator("tbody a[href^='/klaerfaelle/']").first().click();
await clerk.waitForLoadState();
assert.equal(await clerk.locator("main script").count(), 0);
await shot(clerk, "10-klaerfall-mit-markup");
for (const other of ["/metrics", "/akten/1", "/api/records", "/admin"]) {
  const response = await clerk.goto(`${url}${other}`);
  assert.equal(response.status(), 404, other);
}
await shot(clerk, "11-nicht-gefunden");

// 9. Sign out: the session is gone.
await clerk.goto(`${url}/klaerfaelle`);
await clerk.getByRole("button", { name: "Abmelden" }).click();
await clerk.waitForLoadState();
assert.ok(clerk.url().endsWith("/anmelden"));
await clerk.goto(`${url}/klaerfaelle`);
assert.ok(clerk.url().endsWith("/anmelden"), "signed out");

assert.equal(dialogs, 0, "no script from a document ran");
assert.deepEqual(problems, [], "no script errors or CSP violations");
await browser.close();
console.log("clerk.mjs: all steps passed");
