// The web dashboard at /dashboard, driven in Debian's headless Chromium (playwright-core)
// against a real node with real traffic: every page loads with the counts the test sent,
// each chart draws, the live log tail shows a new invocation's line, a tenant's token sees
// nothing of another tenant's (in the page and in the series API), a hostile log line stays
// text, the keyboard reaches sign-in and the menu, and a 375 px screen needs no sideways
// scrolling. Screenshots go to test-artifacts/dashboard/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { deploySource } from "./support/functions.ts";
import { repoRoot, startTestNode, type TestNode } from "./support/node-process.ts";

// The page's globals as the functions passed to page.evaluate use them (they run in the
// browser). The project's tsconfig has no DOM types: they would retype fetch for Node code.
interface PageElement {
  id: string;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } };
}
declare const document: PageElement & { activeElement: PageElement | null; documentElement: { scrollWidth: number } };
declare const location: { hash: string };
declare const window: { __pwned?: number };
declare function getComputedStyle(element: PageElement): { borderColor: string };

const chromiumPath = process.env["FLICK_CHROMIUM"] ?? "/usr/bin/chromium";
const artifacts = path.join(repoRoot, "test-artifacts", "dashboard");
const hostile = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

let node: TestNode;
let browser: Browser;
let acme: FlickClient;
let acmeToken: string;
let oldVersion: string;
let newVersion: string;
let deadId: string;

// Logs every request (so each invocation has lines), throws on /boom, prints a hostile line on /hostile.
const api = (version: string) => `export default { async fetch(request) {
  const path = new URL(request.url).pathname;
  if (path === "/boom") throw new Error("boom on purpose");
  if (path === "/hostile") console.log(${JSON.stringify(hostile)});
  else console.log("acme-api ${version} served " + path);
  return new Response("ok ${version}");
} };`;

before(async () => {
  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath}: install Debian's (apt-get install chromium) or set FLICK_CHROMIUM`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  node = await startTestNode({ hosts: 1 });
  acmeToken = (await node.admin.createTenant("acme")).token;
  acme = new FlickClient(node.url, acmeToken);
  const globex = new FlickClient(node.url, (await node.admin.createTenant("globex")).token);
  oldVersion = (await deploySource(acme, "acme-api", api("one"))).version;
  newVersion = (await deploySource(acme, "acme-api", api("two"))).version;
  await deploySource(acme, "acme-jobs", `export default { fetch() { throw new Error("job failed on purpose"); } };`, { retries: 0 });
  await deploySource(globex, "globex-secret", `export default { fetch() { console.log("globex private line"); return new Response("g"); } };`);
  for (const p of ["/ok", "/ok", "/ok", "/ok", "/ok", "/boom", "/hostile"]) await (await fetch(`${node.url}/fn/acme-api${p}`)).text();
  for (let i = 0; i < 3; i++) await (await fetch(`${node.url}/fn/globex-secret`)).text();
  deadId = (await acme.invokeAsync("acme-jobs", { mode: "async", data: "payload" })).id;
  await until(async () => (await acme.getInvocation(deadId)).status === "dead", "the failing job is dead-lettered");
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

/**
 * Polls `check` until it holds, for what the node stores after answering; the deadline
 * bounds a wait for something that never comes (a broken guard), it is not a speed target.
 */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh browser context (its own sessionStorage); CSP refusals and script errors are collected to be asserted on. */
async function openPage(viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

/** Waits until the page at `route` has loaded (the router marks <main>). */
async function ready(page: Page, route: string): Promise<void> {
  await page.waitForFunction((r) => document.querySelector("main")?.dataset["route"] === r && document.querySelector("main")?.dataset["state"] === "ready", route, { timeout: 30_000 });
}

async function visit(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
  await ready(page, hash.slice(1).split("?")[0]!);
}

/** Signs in with the keyboard only: Tab reaches the token field first, Enter submits. */
async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${node.url}/dashboard`);
  await ready(page, "/sign-in");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "token", "the first Tab stop is the token field");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  await ready(page, "/overview");
}

/**
 * Every chart on the page drew: uPlot's canvas has a size and pixels of its series' colours
 * (read from the legend's markers), and `points` counts the values above zero it was given.
 */
async function chartsDrawn(page: Page): Promise<Record<string, number>> {
  await page.waitForFunction(() => {
    const figures = [...document.querySelectorAll("figure.chart")];
    return figures.length > 0 && figures.every((f) => f.dataset["drawn"] === "1");
  }, undefined, { timeout: 30_000 });
  const charts = await page.evaluate(() =>
    [...document.querySelectorAll("figure.chart")].map((figure) => {
      const canvas = figure.querySelector("canvas") as unknown as PageCanvas;
      const colours = [...figure.querySelectorAll(".u-legend .u-marker")]
        .map((m) => getComputedStyle(m).borderColor.match(/\d+/g)!.slice(0, 3).map(Number))
        .filter((c) => c.length === 3);
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let coloured = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i + 3]! < 200) continue;
        if (colours.some(([r, g, b]) => Math.abs(pixels[i]! - r!) + Math.abs(pixels[i + 1]! - g!) + Math.abs(pixels[i + 2]! - b!) < 40)) coloured++;
      }
      return { id: figure.id, width: canvas.width, height: canvas.height, coloured, points: Number(figure.dataset["points"]) };
    }),
  );
  const points: Record<string, number> = {};
  for (const c of charts) {
    assert.ok(c.width > 0 && c.height > 0, `${c.id} has a canvas of some size: ${JSON.stringify(c)}`);
    assert.ok(c.coloured > 0, `${c.id} drew its series: ${JSON.stringify(c)}`);
    points[c.id] = c.points;
  }
  return points;
}

const tile = (page: Page, stat: string) => page.textContent(`.tile[data-stat="${stat}"] .tile-value`);
const mainText = async (page: Page) => (await page.textContent("main")) ?? "";

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

test("the series API sums what ran, per function and tenant, scoped like every route, with clear errors", { timeout: 60_000 }, async () => {
  const fn = await node.admin.metricsSeries({ range: "1h", function: "acme-api" });
  assert.equal(fn.total.invocations, 7);
  assert.equal(fn.total.serverErrors, 1, "/boom answered 502");
  assert.equal(fn.total.platformErrors, 1);
  assert.equal(fn.points.startMs.length, 60);
  assert.equal(fn.points.invocations.reduce((a, b) => a + b, 0), 7);
  assert.ok(fn.total.p50Ms !== null && fn.total.p99Ms !== null && fn.total.p99Ms >= fn.total.p50Ms);
  assert.ok(fn.total.coldStarts >= 1 && fn.total.cpuMs > 0 && fn.total.wallMs > 0);
  const usage = await node.admin.usage({ by: "function" });
  assert.equal(usage.lines.find((l) => l.function === "acme-api")?.invocations, 7, "the rollups agree with usage metering");
  assert.equal((await node.admin.metricsSeries({ range: "1h", function: "acme-jobs" })).total.invocations, 1, "the dead letter's one attempt");

  // A tenant's token: its own functions, summed; nothing of globex's.
  const own = await acme.metricsSeries({ range: "24h" });
  assert.equal(own.total.invocations, 8);
  assert.equal(own.tenant, "acme");
  const all = await node.admin.metricsSeries({ range: "7d" });
  const globex = await node.admin.metricsSeries({ range: "1h", tenant: "globex" });
  assert.equal(globex.total.invocations, 3);
  assert.equal(all.total.invocations, 11, "the admin's: every tenant's");
  await assert.rejects(acme.metricsSeries({ range: "1h", function: "globex-secret" }), (e: unknown) => e instanceof FlickError && e.status === 403);
  await assert.rejects(acme.metricsSeries({ range: "1h", tenant: "globex" }), (e: unknown) => e instanceof FlickError && e.code === "forbidden");
  const raw = await fetch(`${node.url}/api/v1/metrics/series?range=1h&function=globex-secret`, { headers: { authorization: `Bearer ${acmeToken}` } });
  const rawText = await raw.text();
  assert.ok(raw.status === 403 || raw.status === 404, `another tenant's function: ${raw.status}`);
  assert.doesNotMatch(rawText, /points|invocations/, "no numbers of another tenant's function");
  await assert.rejects(node.admin.metricsSeries({ range: "1h", function: "nope" }), (e: unknown) => e instanceof FlickError && e.code === "function_not_found");

  const bad = async (query: string) => {
    const res = await fetch(`${node.url}/api/v1/metrics/series?${query}`, { headers: { authorization: `Bearer ${node.adminToken}` } });
    return { status: res.status, error: ((await res.json()) as { error: { code: string; message: string } }).error };
  };
  const range = await bad("range=2h");
  assert.equal(range.status, 400);
  assert.equal(range.error.code, "validation_failed");
  assert.match(range.error.message, /range=2h .*use one of 1h, 24h, 7d, 30d/);
  assert.match((await bad("fn=acme-api")).error.message, /unknown query parameter "fn"; .*takes range, function and tenant/);
  assert.match((await bad("range=1h&range=24h")).error.message, /given more than once/);
  assert.match((await bad("function=..%2Fx")).error.message, /function=\.\.\/x is not a function name/);
  assert.equal((await fetch(`${node.url}/api/v1/metrics/series`)).status, 401);
});

test("the dashboard's files are static, need no token, and carry a strict Content-Security-Policy", { timeout: 30_000 }, async () => {
  for (const p of ["/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/style.css", "/dashboard/uplot.js", "/dashboard/uplot.css"]) {
    const res = await fetch(`${node.url}${p}`);
    assert.equal(res.status, 200, p);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/, p);
    assert.match(csp, /script-src 'self'(;|$)/, p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, p);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const body = await res.text();
    if (p.endsWith("/") || p === "/dashboard") {
      assert.doesNotMatch(body, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
      assert.doesNotMatch(body, /\sstyle=|\son[a-z]+=/i, "no inline style or handler");
    }
  }
  for (const p of ["/dashboard/nope.js", "/dashboard/..%2Fadmin.token", "/dashboard/%2e%2e/flick.db", "/dashboard/serve-dashboard.ts"]) {
    assert.equal((await fetch(`${node.url}${p}`)).status, 404, p);
  }
  assert.equal((await fetch(`${node.url}/dashboard/`, { method: "POST" })).status, 405);
});

test("a tenant's token sees its own functions and nothing of another tenant's", { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage();
  // Every API answer the page gets, to check none carries globex's data.
  const answers: string[] = [];
  page.on("response", async (res) => {
    if (res.url().includes("/api/v1/")) answers.push(await res.text().catch(() => ""));
  });
  await signIn(page, acmeToken);
  assert.match((await page.textContent("#who")) ?? "", /tenant acme/);
  assert.equal(await tile(page, "invocations"), "8", "acme's 7 requests and 1 async attempt");
  await chartsDrawn(page);
  await shot(page, "tenant-overview");
  const seen: string[] = [await mainText(page)];

  await visit(page, "#/functions");
  const names = await page.$$eval("#functions tbody tr td:first-child", (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(names, ["acme-api", "acme-jobs"]);
  seen.push(await mainText(page));
  await shot(page, "tenant-functions");

  await visit(page, "#/functions/acme-api");
  await chartsDrawn(page);
  await page.waitForSelector("#log-tail[data-state=live]");
  seen.push(await mainText(page));
  await visit(page, "#/invocations");
  seen.push(await mainText(page));
  assert.deepEqual(await page.$$eval("#invocations-function option", (o) => o.map((x) => x.textContent)), ["acme-api", "acme-jobs"]);
  await visit(page, "#/tenants");
  assert.equal(await page.textContent("h1"), "Tenant acme");
  assert.deepEqual(await page.$$eval("#usage tbody tr td:first-child", (cells) => cells.map((c) => c.textContent)), ["acme-api", "acme-jobs"]);
  assert.deepEqual(await page.$$eval("#storage tbody tr td:first-child", (cells) => cells.map((c) => c.textContent)), ["acme"], "its own storage only");
  seen.push(await mainText(page));
  await shot(page, "tenant-usage");
  for (const text of seen) assert.doesNotMatch(text, /globex/, "no page shows another tenant's name");

  // Asked for directly: refused, and none of its data on the page.
  await visit(page, "#/functions/globex-secret");
  assert.match(await mainText(page), /belongs to another tenant/);
  assert.equal(await page.$("figure.chart"), null);
  assert.equal(await page.$("#log-tail"), null);
  await visit(page, "#/overview?range=24h&tenant=globex");
  assert.equal(await tile(page, "invocations"), "8", "a tenant's token ignores another tenant named in the address");
  for (const text of answers) assert.doesNotMatch(text, /globex private line/);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("the admin sees every page with real data: charts, functions, rollback, live log, dead letters with replay, tenants", { timeout: 180_000 }, async (t) => {
  const { page, problems } = await openPage();
  await signIn(page, node.adminToken);
  // The keyboard lands on the menu after sign-in; Tab and Enter open a page.
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Overview");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Functions");
  await page.keyboard.press("Enter");
  await ready(page, "/functions");
  const rows = await page.$$eval("#functions tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => [r[0], r[1]]), [["acme-api", "acme"], ["acme-jobs", "acme"], ["globex-secret", "globex"]]);
  assert.equal(await page.textContent('[data-invocations="acme-api"]'), "7");
  assert.equal(await page.textContent('[data-invocations="globex-secret"]'), "3");
  await shot(page, "functions");

  await visit(page, "#/overview");
  assert.equal(await tile(page, "invocations"), "11");
  assert.equal(await tile(page, "errors"), "2", "/boom and the failed job");
  const overview = await chartsDrawn(page);
  for (const id of ["chart-requests", "chart-errors", "chart-latency", "chart-cold", "chart-cpu"]) assert.ok(overview[id]! > 0, `${id} has data: ${JSON.stringify(overview)}`);
  await shot(page, "overview");
  await visit(page, "#/overview?range=7d&tenant=globex");
  assert.equal(await tile(page, "invocations"), "3");
  await chartsDrawn(page);

  // One function: charts, settings, versions, and the log as it is written.
  await visit(page, "#/functions/acme-api");
  assert.equal(await tile(page, "invocations"), "7");
  const charts = await chartsDrawn(page);
  for (const id of ["chart-requests", "chart-errors", "chart-latency", "chart-cpu"]) assert.ok(charts[id]! > 0, `${id} has data: ${JSON.stringify(charts)}`);
  await page.waitForSelector("#log-tail[data-state=live]");
  // The hostile line is text: no element made of it, no script run.
  const messages = await page.$$eval("#log-tail .log-message", (els) => els.map((e) => e.textContent));
  assert.ok(messages.includes(hostile), `the hostile line shows as text: ${JSON.stringify(messages)}`);
  assert.equal(await page.$$eval("main img, main script", (els) => els.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const marker = `tail-${Date.now()}`;
  const started = performance.now();
  await (await fetch(`${node.url}/fn/acme-api/${marker}`)).text();
  await page.waitForFunction(
    (m) => [...document.querySelectorAll("#log-tail .log-message")].some((e) => e.textContent?.includes(m)),
    marker, { timeout: 15_000 },
  );
  t.diagnostic(`the live tail showed a new invocation's line ${Math.round(performance.now() - started)} ms after its request was sent`);
  await shot(page, "function");

  // Roll back to the first version, with the keyboard.
  await page.focus(`button[aria-label="Roll back acme-api to version ${oldVersion}"]`);
  await page.keyboard.press("Enter");
  await page.waitForFunction((v) => document.querySelector(".notice")?.textContent === `Rolled back: version ${v} is live.`, oldVersion, { timeout: 30_000 });
  assert.equal((await node.admin.getFunction("acme-api")).liveVersion, oldVersion);
  assert.ok(await page.$(`button[aria-label="Roll back acme-api to version ${newVersion}"]`), "the newer version can be rolled back to now");

  // A hostile name in the address is echoed as text too.
  await visit(page, `#/functions/${encodeURIComponent('<img src=x onerror="window.__pwned=3">')}`);
  assert.match(await mainText(page), /<img src=x onerror/);
  assert.equal(await page.$$eval("main img", (els) => els.length), 0);

  // Invocations: recent request lines, the dead letter, and its replay.
  await visit(page, "#/invocations?function=acme-api");
  const recent = await page.$$eval("#recent-invocations tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.ok(recent.some((r) => r[2] === "GET /boom" && r[3] === "502 function_error"), JSON.stringify(recent));
  await visit(page, "#/invocations?function=acme-jobs");
  assert.match((await page.textContent("#dead-letters tbody")) ?? "", new RegExp(deadId));
  const asyncRows = await page.$$eval("#async-invocations tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(asyncRows.map((r) => [r[0], r[1], r[2]]), [[deadId, "fetch", "dead (retries_exhausted)"]], "the async invocation is listed with its status");
  await shot(page, "invocations");
  const before = await node.admin.getInvocation(deadId);
  await page.click(`button[aria-label="Replay invocation ${deadId}"]`);
  await page.waitForFunction(() => document.querySelector(".notice")?.textContent?.startsWith("Replayed 1 invocation"), undefined, { timeout: 30_000 });
  // A replay queues the event again as new (its creation time too), with fresh attempts.
  await until(async () => (await node.admin.getInvocation(deadId)).createdAtMs > before.createdAtMs, "the replayed invocation is queued again");
  await visit(page, `#/invocations?function=acme-jobs&id=${deadId}`);
  assert.match(await mainText(page), new RegExp(`Id${deadId}`));

  // Tenants and their usage.
  await visit(page, "#/tenants");
  const tenants = await page.$$eval("#tenants tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(tenants.map((r) => r[0]), ["acme", "default", "globex"]);
  assert.equal(tenants.find((r) => r[0] === "globex")![4], "3");
  const storage = await page.$$eval("#storage tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(storage.map((r) => r[0]), ["acme", "default", "globex"]);
  assert.ok(storage.every((r) => r.slice(1).every((cell) => / of 1,?024 MiB$/.test(cell ?? ""))), `each kind against its quota: ${JSON.stringify(storage)}`);
  const usage = await node.admin.usage({ by: "function" });
  assert.equal(await page.getAttribute("p.total", "data-invocations"), String(usage.total.invocations));
  await shot(page, "tenants");
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("on a 375 px wide screen every page fits without sideways scrolling", { timeout: 120_000 }, async () => {
  const { page, problems } = await openPage({ width: 375, height: 800 });
  await signIn(page, node.adminToken);
  for (const [hash, name] of [["#/overview?range=24h", "overview"], ["#/functions", "functions"], ["#/functions/acme-api", "function"], ["#/invocations?function=acme-jobs", "invocations"], ["#/tenants", "tenants"]] as const) {
    await visit(page, hash);
    if ((await page.$("figure.chart")) !== null) await chartsDrawn(page);
    if (name === "function") await page.waitForSelector("#log-tail[data-state=live]");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 375, `${hash} is ${width} px wide`);
    await shot(page, `mobile-${name}`);
  }
  assert.deepEqual(problems, []);
  await page.context().close();
});
