import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { postJson, startRelayProcess, type RelayProcess } from "../support/process.ts";
import { startReceiver, type Receiver } from "../support/receiver.ts";
import { tempDir } from "../support/tmp.ts";
import { browserTestsEnabled, launchBrowser } from "./browser.ts";

// Real Chromium against the real `relay serve`, with real events and real receivers on 127.0.0.1.

const enabled = browserTestsEnabled();
const TOKEN = "ui-test-admin-token-4f7a2c9e";
const CRM_DOWN = () => new Response("CRM down: lead store unavailable", { status: 500 });
const CRM_UP = () => new Response('{"status":"success"}');

let tmp: ReturnType<typeof tempDir>;
let crm: Receiver;
let digestReceiver: Receiver;
let relay: RelayProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];

async function ingest(body: unknown): Promise<string> {
  const res = await postJson(`${relay.url}/api/webhook/ui-shop`, body);
  expect(res.status).toBe(202);
  return res.json.id;
}

async function api(path: string) {
  const res = await fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return (await res.json()) as any;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

const deadCount = async () => (await api("/api/destinations")).destinations.find((d: any) => d.name === "crm").dead as number;

beforeAll(async () => {
  if (!enabled) return;
  tmp = tempDir("relay-ui-");
  crm = startReceiver(CRM_DOWN);
  digestReceiver = startReceiver(() => new Response("ok"));
  const config = join(tmp.dir, "relay.yaml");
  writeFileSync(
    config,
    `
server:
  host: 127.0.0.1
  admin_token: \${RELAY_ADMIN_TOKEN}
storage:
  path: ${join(tmp.dir, "relay.db")}
sources:
  shop:
    id: ui-shop
destinations:
  crm:
    url: ${crm.url}/leads
    retry: [1s]
    ack: { body: '{"status":"success"}' }
    circuit: { failures: 100 }
    sign: { preset: sha256, header: X-Relay-Signature, secret: ui-test-signing-secret }
  daily:
    url: ${digestReceiver.url}/digest
    digest: { cron: "0 6 * * *", timezone: Europe/Paris }
routes:
  - name: orders
    from: shop
    when: { type: "order.*" }
    to: crm
  - name: nightly
    from: shop
    when: { type: digest.me }
    to: daily
`,
  );
  relay = await startRelayProcess(config, { RELAY_ADMIN_TOKEN: TOKEN });

  browser = await launchBrowser();
  context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("dialog", (d) => (problems.push(`dialog: ${d.message()}`), void d.dismiss()));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await relay?.kill("SIGTERM");
  crm?.stop();
  digestReceiver?.stop();
  tmp?.cleanup();
});

(enabled ? describe : describe.skip)("the dashboard in Chromium", () => {
  test("sign in with the admin token, by keyboard", async () => {
    await page.goto(`${relay.url}/ui`);
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");
    await page.getByLabel("Admin token or API key with scope admin").focus();
    await page.keyboard.type(TOKEN);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${relay.url}/ui`);
    expect(await page.locator("h1").textContent()).toBe("Now");
    expect(await page.locator('tr[data-destination="crm"]').count()).toBe(1);
  }, 30_000);

  test("find order 4521, see its failed attempt and the receiver's answer, Retry, see it delivered", async () => {
    const id = await ingest({ type: "order.created", order: { id: 4521, total: 99 } });
    await until("order 4521 to be dead", async () => (await api(`/api/events/${id}`)).deliveries[0].status === "dead");

    await page.getByRole("link", { name: "Find" }).click();
    await page.getByLabel("Id, idempotency key or text in the body").fill("4521");
    await page.getByRole("button", { name: "Find" }).click();
    await page.getByRole("link", { name: id }).click();
    await page.waitForURL(`${relay.url}/ui/events/${id}`);
    const delivery = page.locator("section[data-delivery]");
    expect(await delivery.locator(".state").first().textContent()).toBe("dead");
    const attempts = delivery.locator("tbody tr");
    expect(await attempts.count()).toBe(2);
    expect(await attempts.first().locator("td").nth(2).textContent()).toBe("500");
    expect(await attempts.first().locator("pre").textContent()).toBe("CRM down: lead store unavailable");
    expect(await delivery.textContent()).toContain("X-Relay-Signature");
    expect(await delivery.textContent()).not.toContain("ui-test-signing-secret");

    crm.respondWith(CRM_UP);
    await delivery.getByRole("button", { name: "Retry this delivery" }).click();
    expect(await page.getByRole("status").textContent()).toContain("back in line");
    await until("the retried delivery to be delivered", async () => {
      await page.reload();
      return (await page.locator("section[data-delivery] .state").first().textContent()) === "delivered";
    });
    expect(await page.locator("section[data-delivery] tbody tr").count()).toBe(3);
  }, 30_000);

  test("bulk-retry dead letters after the receiver recovers, with a confirmation that states N", async () => {
    crm.respondWith(CRM_DOWN);
    for (const n of [1, 2, 3]) await ingest({ type: "order.created", order: { id: 9000 + n } });
    await until("three dead deliveries", async () => (await deadCount()) === 3);
    crm.respondWith(CRM_UP);
    const before = crm.received.length;

    await page.getByRole("link", { name: "Dead letters" }).click();
    expect(await page.locator("[data-count]").textContent()).toBe("3");
    await page.getByRole("link", { name: "Retry all 3 matching…" }).click();
    expect(await page.locator("main p").first().textContent()).toContain("Retry all 3 dead deliveries?");
    await page.getByRole("button", { name: "Retry 3" }).click();
    expect(await page.getByRole("status").textContent()).toContain("3 of 3 dead deliveries are back in line");
    await crm.waitFor(before + 3, 10_000);
    await until("no dead letters", async () => (await deadCount()) === 0);
    await page.reload();
    expect(await page.locator("[data-count]").textContent()).toBe("0");
  }, 30_000);

  test("discard one dead letter, then the rest after a confirmation that states N", async () => {
    crm.respondWith(CRM_DOWN);
    for (const n of [1, 2, 3]) await ingest({ type: "order.created", order: { id: 9100 + n } });
    await until("three dead deliveries", async () => (await deadCount()) === 3);
    const [first] = (await api("/api/deliveries?status=dead")).deliveries;

    await page.getByRole("link", { name: "Dead letters" }).click();
    await page.getByRole("link", { name: `Discard ${first.id}` }).click();
    await page.getByRole("button", { name: `Discard ${first.id}` }).click();
    expect(await page.getByRole("status").textContent()).toContain(`Delivery ${first.id} discarded.`);
    expect(await page.locator("[data-count]").textContent()).toBe("2");
    await page.getByRole("link", { name: "Discard all 2 matching…" }).click();
    expect(await page.locator("main p").first().textContent()).toContain("Discard all 2 dead deliveries?");
    await page.getByRole("button", { name: "Discard 2" }).click();
    expect(await page.getByRole("status").textContent()).toContain("2 dead deliveries discarded.");
    expect(await page.locator("[data-count]").textContent()).toBe("0");
    expect((await api("/api/deliveries?status=discarded")).deliveries.filter((d: any) => d.route === "orders")).toHaveLength(3);
    crm.respondWith(CRM_UP);
  }, 30_000);

  test("flush a digest and see it sent", async () => {
    await ingest({ type: "digest.me", n: 1 });
    await ingest({ type: "digest.me", n: 2 });
    await page.getByRole("link", { name: "Digests" }).click();
    const daily = page.locator('section[data-digest="daily"]');
    expect(await daily.locator("[data-held]").textContent()).toBe("2");
    expect(await daily.textContent()).toContain("Europe/Paris");
    await daily.getByRole("button", { name: "Flush now" }).click();
    expect(await page.getByRole("status").textContent()).toContain("daily: 2 items sent in 1 digest");
    await digestReceiver.waitFor(1, 10_000);
    expect(JSON.parse(digestReceiver.received[0]!.body)).toHaveLength(2);
    await until("the digest to show delivered", async () => {
      await page.reload();
      return (await page.locator('section[data-digest="daily"] tbody .state').first().textContent()) === "delivered";
    });
  }, 30_000);

  test("create a key and see it only once", async () => {
    await page.getByRole("link", { name: "Keys" }).click();
    await page.getByLabel("Name").fill("ci-bot");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.locator("[data-new-key]").textContent())!;
    expect(key).toMatch(/^rly_live_[a-z0-9]{10}_/);
    const listed = (await api("/api/api-keys")).keys.find((k: any) => k.name === "ci-bot");
    expect(key.startsWith(listed.prefix)).toBe(true);
    await page.reload();
    expect(await page.content()).not.toContain(key);
    await page.goto(`${relay.url}/ui/keys`);
    expect(await page.content()).not.toContain(key);
    expect(await page.locator(`tr[data-key="${listed.id}"]`).textContent()).toContain("ci-bot");
  }, 30_000);

  test("a forged POST without the CSRF token is refused", async () => {
    // Same browser, same session cookie, no token: what a script or a copied request would send.
    const forged = await page.request.post(`${relay.url}/ui/destinations/crm/pause`, { form: { reason: "forged" } });
    expect(forged.status()).toBe(403);
    expect((await api("/api/destinations")).destinations.find((d: any) => d.name === "crm").state).toBe("closed");
  }, 30_000);

  test("XSS payloads in an event render as text", async () => {
    const id = await ingest({ type: "order.note", note: "<script>window.__xss = 1</script>", name: '"><img src=x onerror="window.__xss = 2">' });
    await page.goto(`${relay.url}/ui/events/${id}`);
    const body = (await page.locator("main pre").first().textContent())!;
    expect(body).toContain("<script>window.__xss = 1</script>");
    expect(body).toContain('\\"><img src=x onerror=\\"window.__xss = 2\\">');
    expect(await page.locator("main img").count()).toBe(0);
    expect(await page.locator("main script").count()).toBe(0);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    await page.goto(`${relay.url}/ui/find?q=${encodeURIComponent("<script>")}`);
    expect(await page.getByLabel("Id, idempotency key or text in the body").inputValue()).toBe("<script>");
    expect(await page.evaluate("window.__xss")).toBeUndefined();
  }, 30_000);

  test("the Now view refreshes itself through htmx, fits a phone, and no page broke the CSP", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${relay.url}/ui`);
    const refreshed = await page.waitForResponse((r) => r.url() === `${relay.url}/ui/now/table`, { timeout: 10_000 });
    expect(refreshed.status()).toBe(200);
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(375);
    for (const control of await page.locator("main input:not([type=hidden]), main select").all()) {
      expect(await control.evaluate("(el) => el.labels.length")).toBeGreaterThan(0);
    }
    expect(problems).toEqual([]);
  }, 30_000);

  test("every view reads without JavaScript", async () => {
    const noScript = await launchBrowser(undefined, false);
    try {
      const p = noScript.context.pages()[0] ?? (await noScript.context.newPage());
      await p.goto(`${relay.url}/ui`);
      await p.getByLabel("Admin token or API key with scope admin").fill(TOKEN);
      await p.getByRole("button", { name: "Sign in" }).click();
      await p.waitForURL(`${relay.url}/ui`);
      expect(await p.locator('tr[data-destination="crm"]').textContent()).toContain("crm");
      await p.goto(`${relay.url}/ui/find?q=4521`);
      await p.locator('main a[href^="/ui/events/evt_"]').first().click();
      expect(await p.locator("section[data-delivery] tbody tr").count()).toBe(3);
      await p.goto(`${relay.url}/ui/dead`);
      expect(await p.locator("[data-count]").textContent()).toBe("0");
      await p.goto(`${relay.url}/ui/digests`);
      expect(await p.locator('section[data-digest="daily"] tbody .state').first().textContent()).toBe("delivered");
      await p.goto(`${relay.url}/ui/keys`);
      expect(await p.locator("tr[data-key]").filter({ hasText: "ci-bot" }).count()).toBeGreaterThan(0);
      await p.goto(`${relay.url}/ui/config`);
      expect(await p.locator("main").textContent()).toContain("orders");
    } finally {
      await noScript.close();
    }
  }, 30_000);

  test("sign out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${relay.url}/ui/sign-in`);
    await page.goto(`${relay.url}/ui/keys`);
    expect(new URL(page.url()).pathname).toBe("/ui/sign-in");
  }, 30_000);
});
